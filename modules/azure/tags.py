"""Tag conventions shared by the Azure constructs (cheap to import: no CDKTF here)."""

from __future__ import annotations

# The AWS stacks tag with ``clouder.dev/cluster`` (clouder.modules.aws.tags.CLUSTER_TAG); Azure tag names
# cannot contain ``/`` (nor ``<>%&\?``), so the Azure key is spelled without it.
CLUSTER_TAG = "clouder-cluster"
