"""The CDKTF app entry (``cdktf.json`` runs it): ``cdktf synth`` / ``cdktf deploy`` from the repository.

The spec comes from ``$CLOUDER_SPEC`` (default: examples/aws-minimal.yaml); the stack is the one
``clouder synth`` would produce for it, named after the cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

from cdktf import App

from clouder.spec import load_spec
from clouder.synth import add_stack

DEFAULT_SPEC = Path(__file__).resolve().parent.parent / "examples" / "aws-minimal.yaml"


def main() -> None:
    app = App()
    add_stack(app, load_spec(os.environ.get("CLOUDER_SPEC") or DEFAULT_SPEC))
    app.synth()


if __name__ == "__main__":
    main()
