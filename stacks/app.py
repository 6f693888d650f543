"""The CDKTF app entry: ``cdktf synth`` / ``cdktf deploy`` run it (``cdktf.json``'s ``"app"``).

The spec is the path given as the first argument, else ``$CLOUDER_SPEC``; the stack is the one
``clouder synth`` would produce for it, named after the cluster. It runs the same from the repository
(``python3 stacks/app.py``) and from an installed package (``python3 -m clouder.stacks.app``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from clouder.errors import BadInputError
from clouder.spec import load_spec
from clouder.synth import add_stack
from clouder.synth.runtime import prepare

SPEC_VARIABLE = "CLOUDER_SPEC"


def spec_path(argv: Sequence[str], environ: Mapping[str, str]) -> Path:
    """The spec to synthesize: the first argument, else ``$CLOUDER_SPEC``."""
    given = argv[0] if argv else environ.get(SPEC_VARIABLE)
    if not given:
        raise BadInputError(
            "the stacks app needs a cluster spec, and none was given.",
            f"Pass its path as the argument (`python3 -m clouder.stacks.app cluster.yaml`) or set "
            f"{SPEC_VARIABLE} (`{SPEC_VARIABLE}=cluster.yaml cdktf synth`).",
        )
    return Path(given)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        synthesize(spec_path(sys.argv[1:] if argv is None else argv, os.environ))
    except BadInputError as error:
        print(f"error: {error.render()}", file=sys.stderr)
        return error.exit_code
    return 0


def synthesize(path: Path) -> None:
    spec = load_spec(path)
    prepare(spec.cloud)  # before the first jsii import
    from cdktf import App

    app = App()  # the cdktf CLI names the output folder through the environment
    add_stack(app, spec)
    app.synth()


if __name__ == "__main__":
    sys.exit(main())
