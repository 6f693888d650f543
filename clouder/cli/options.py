"""Arguments and options several commands take alike, so each reads (and helps) the same everywhere.

Only what is the same to the letter lives here; an option whose help differs by command stays with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SpecArg = Annotated[Path, typer.Argument(help="The cluster spec (YAML).")]
ApproveOpt = Annotated[
    bool,
    typer.Option("--approve", help="Approve destroying/replacing control planes, volumes or the network."),
]
ApprovalFileOpt = Annotated[
    Path | None, typer.Option("--approval-file", help="YAML approval naming the cluster and the plan hash.")
]
OutputsOpt = Annotated[
    Path | None, typer.Option("--outputs", help="Outputs contract (default: the cluster's outputs.json).")
]
KubeconfigOpt = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Admin kubeconfig (default: the one bootstrap fetched).")
]
MirrorOpt = Annotated[
    str | None,
    typer.Option(
        "--chart-mirror", envvar="CLOUDER_CHART_MIRROR", help="Pull every chart from this repository."
    ),
]
ReadinessPollOpt = Annotated[
    float, typer.Option("--poll-interval", hidden=True, help="Seconds between readiness polls.")
]

# How a command reaches the nodes over SSH.
ConnectOpt = Annotated[float, typer.Option("--connect-timeout", help="Seconds to connect and log in.")]
CommandOpt = Annotated[float, typer.Option("--command-timeout", help="Seconds one remote command may take.")]
SshMapOpt = Annotated[
    Path | None,
    typer.Option("--ssh-map", help="Rehearsals: JSON of node name -> address actually dialled."),
]
SshAllowOpt = Annotated[
    list[str] | None, typer.Option("--ssh-allow", help="Refuse SSH to addresses outside these CIDRs.")
]
HostKeysFromConsoleOpt = Annotated[
    bool,
    typer.Option(
        "--host-keys-from-console",
        help="Trust a host's first SSH key only if cloud-init printed it to the instance's console "
        "(AWS: EC2 GetConsoleOutput, needs boto3 and ec2:GetConsoleOutput).",
    ),
]
