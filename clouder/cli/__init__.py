"""The `clouder` command line. Heavy modules (CDKTF, kubernetes, helm) are imported inside commands only."""

from clouder.cli.main import main

__all__ = ["main"]
