"""Clouds by registry: every stage with per-cloud code asks its registry for the spec's cloud, so a cloud
that registered nothing fails with a clear message instead of getting another cloud's behaviour."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from clouder.clouds import REGISTRIES
from clouder.errors import BadInputError
from clouder.spec.loader import load_spec
from clouder.spec.model import ClusterSpec
from support.fake_cloud import Asked

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class FakeCloudSpec(ClusterSpec):
    """An AWS example spec that says it lives in a cloud called ``fake``."""

    @property
    def cloud(self) -> str:  # type: ignore[override]
        return "fake"


def fake_spec() -> ClusterSpec:
    spec = load_spec(EXAMPLES / "aws-minimal.yaml")
    return FakeCloudSpec(**{name: getattr(spec, name) for name in ClusterSpec.model_fields})


def _aws_outputs() -> object:
    from clouder.up.dryrun import planned_outputs

    return planned_outputs(load_spec(EXAMPLES / "aws-minimal.yaml"))


def _addon_plan(spec: ClusterSpec) -> object:
    from clouder.addons import AddonContext, plan

    return plan(AddonContext(spec, _aws_outputs()))  # type: ignore[arg-type]


# stage (as its registry names it) -> a call of that stage with the spec.
STAGES: dict[str, Callable[[ClusterSpec], object]] = {
    "the add-on plan": _addon_plan,
}


def _import_stage_modules() -> None:
    import clouder.addons.plan  # noqa: F401


def test_every_registry_is_exercised_here_and_knows_both_clouds() -> None:
    _import_stage_modules()
    assert set(REGISTRIES) == set(STAGES)
    for stage, registry in REGISTRIES.items():
        assert registry.clouds == ["aws", "azure"], stage


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_an_unregistered_cloud_fails_with_a_clear_message(stage: str) -> None:
    with pytest.raises(BadInputError, match=re.escape(f"nothing registered for 'fake' in {stage}.")):
        STAGES[stage](fake_spec())


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_stage_asks_its_registry_for_the_cloud(stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _import_stage_modules()
    monkeypatch.setitem(REGISTRIES[stage].targets, "fake", "support.fake_cloud:code")
    with pytest.raises(Asked):
        STAGES[stage](fake_spec())
