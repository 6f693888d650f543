"""The outputs contract (stage 4): the typed facts every stack publishes and every later stage reads."""

from clouder.outputs.contract import (
    CONTRACT_VERSION,
    OUTPUT_NAMES,
    ApiEndpoint,
    AwsFacts,
    AzureFacts,
    ClusterOutputs,
    Node,
    SshAccess,
)
from clouder.outputs.parse import parse_terraform_outputs, read_outputs_file

__all__ = [
    "CONTRACT_VERSION",
    "OUTPUT_NAMES",
    "ApiEndpoint",
    "AwsFacts",
    "AzureFacts",
    "ClusterOutputs",
    "Node",
    "SshAccess",
    "parse_terraform_outputs",
    "read_outputs_file",
]
