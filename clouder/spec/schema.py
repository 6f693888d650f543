"""JSON Schema of the spec, as editors' YAML language servers read it."""

from __future__ import annotations

from typing import Any

from clouder.spec.model import ClusterSpec


def spec_json_schema() -> dict[str, Any]:
    schema = ClusterSpec.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://clouder.dev/schema/cluster.schema.json"
    schema["title"] = "Clouder Cluster spec (clouder/v1alpha1)"
    return schema
