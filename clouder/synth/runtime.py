"""What synthesis needs before it imports the CDK bindings: the ``cdk`` extra and a Node.js for jsii.

jsii (the bridge the CDKTF bindings run on) prints its own many-line banners about the Node version, and
Python's side of it prints them as byte reprs. Clouder checks the version itself, silences those banners and
says it in one line instead.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys

from clouder.errors import BadInputError

# Node majors the pinned jsii runtime supports (its NodeRelease table: 22 until 2027-10, 24 until 2028-10).
SUPPORTED_NODE = (22, 24)
# The Python packages of the ``cdk`` extra that synthesis imports, per cloud.
CDK_MODULES = {
    "aws": ("cdktf", "constructs", "cdktf_cdktf_provider_aws"),
    "azure": ("cdktf", "constructs", "cdktf_cdktf_provider_azurerm"),
}
SILENCED = ("DEPRECATED", "UNTESTED", "KNOWN_BROKEN")


def require_cdk(cloud: str) -> None:
    """Exit 2 with the extra to install when the CDK bindings for ``cloud`` are not installed."""
    absent = [name for name in CDK_MODULES.get(cloud, ()) if importlib.util.find_spec(name) is None]
    if absent:
        raise BadInputError(
            f"synthesizing a {cloud} stack needs the CDK bindings, which are not installed "
            f"(missing: {', '.join(absent)}).",
            "Install the extra: pip install 'clouder[cdk]' (or pass an already synthesized stack with "
            "--stack DIR where the command has it).",
        )


def node_major(node: str) -> int | None:
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.match(r"v(\d+)\.", done.stdout.strip())
    return int(found.group(1)) if found else None


@functools.cache
def prepare_node() -> int:
    """Check the Node.js jsii will start, silence jsii's own version banners, and print one note when the
    version is not one jsii supports. Returns the Node major version."""
    node = os.environ.get("JSII_NODE", "node")
    if shutil.which(node) is None:
        raise BadInputError(
            f"synthesis runs the CDK bindings on Node.js, and `{node}` is not on PATH.",
            f"Install Node.js {' or '.join(map(str, SUPPORTED_NODE))}.",
        )
    major = node_major(node)
    if major is None:
        raise BadInputError(f"`{node} --version` did not print a Node.js version.",
                            "Check the Node.js installation (or JSII_NODE).")  # fmt: skip
    os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = str(major)
    for kind in SILENCED:
        os.environ[f"JSII_SILENCE_WARNING_{kind}_NODE_VERSION"] = "1"
    if major not in SUPPORTED_NODE:
        supported = " or ".join(map(str, SUPPORTED_NODE))
        sys.stderr.write(
            f"note: Node.js {major} is not one the CDK runtime (jsii) supports; synthesis usually still "
            f"works, but install Node.js {supported} before reporting a synthesis problem.\n"
        )
    return major


def prepare(cloud: str) -> None:
    """Everything synthesis checks before importing the CDK bindings for ``cloud``."""
    require_cdk(cloud)
    prepare_node()
