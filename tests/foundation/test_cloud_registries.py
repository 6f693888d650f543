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


def _ingress_values(spec: ClusterSpec) -> object:
    from clouder.services.catalog import ServiceContext, ingress

    return ingress(ServiceContext(spec))


def _check_probe(spec: ClusterSpec) -> object:
    from clouder.observe.check import probe_service

    return probe_service(spec)


def _dry_run(spec: ClusterSpec) -> object:
    from clouder.up.dryrun import planned_outputs

    return planned_outputs(spec)


def _machine_sizes(spec: ClusterSpec) -> object:
    from clouder.catalog.machines import architecture

    return architecture(spec.cloud, "m6i.large")


def _context(spec: ClusterSpec) -> object:
    from clouder.contexts.model import Context, check_coherent

    context = Context.model_construct(name="here", cloud=spec.cloud, region=spec.region, credentials="cli")
    check_coherent(context)
    return context


def _plan_summary(spec: ClusterSpec) -> object:
    from clouder.terraform.summary import summary_from_show

    return summary_from_show(spec.name, {"resource_changes": []}, cloud=spec.cloud)


def _orphans(spec: ClusterSpec) -> object:
    from clouder.terraform.orphans import find_orphans

    return find_orphans(spec, {}, {})


def _console(spec: ClusterSpec) -> object:
    from types import SimpleNamespace

    from clouder.hosts.console import console_reader

    outputs = _aws_outputs().model_copy(update={"cloud": SimpleNamespace(cloud=spec.cloud)})  # type: ignore[attr-defined]
    return console_reader(outputs)


def _spec_rules(spec: ClusterSpec) -> object:
    from clouder.spec.rules import check

    return check(spec)


def _synthesis(spec: ClusterSpec) -> object:
    from clouder.synth import stack_class

    return stack_class(spec.cloud)


def _policy_gate(spec: ClusterSpec) -> object:
    from clouder.policy.gate import stack_allowlist

    return stack_allowlist(spec.cloud)


def _rehearsal(spec: ClusterSpec) -> object:
    from clouder.rehearse.run import rehearsal_spec

    return rehearsal_spec(spec, Path("/nonexistent/rehearsal"))


# stage (as its registry names it) -> a call of that stage with the spec.
STAGES: dict[str, Callable[[ClusterSpec], object]] = {
    "the add-on plan": _addon_plan,
    "the services catalog": _ingress_values,
    "the cluster checks": _check_probe,
    "the dry run": _dry_run,
    "the machine catalog": _machine_sizes,
    "the contexts": _context,
    "the plan summary": _plan_summary,
    "the orphan search": _orphans,
    "the spec rules": _spec_rules,
    "the console reader": _console,
    "synthesis": _synthesis,
    "the policy gate": _policy_gate,
    "the rehearsal": _rehearsal,
}


def _import_stage_modules() -> None:
    import clouder.addons.plan
    import clouder.catalog.machines
    import clouder.contexts.model
    import clouder.hosts.console
    import clouder.observe.check
    import clouder.policy.gate
    import clouder.rehearse.run
    import clouder.services.catalog
    import clouder.spec.rules
    import clouder.synth
    import clouder.terraform.orphans
    import clouder.terraform.summary
    import clouder.up.dryrun  # noqa: F401


def test_every_registry_is_exercised_here_and_knows_both_clouds() -> None:
    _import_stage_modules()
    assert set(REGISTRIES) == set(STAGES)
    for stage, registry in REGISTRIES.items():
        assert registry.clouds == ["aws", "azure"], stage


def test_every_registered_target_exists() -> None:
    _import_stage_modules()
    for stage, registry in REGISTRIES.items():
        for cloud in registry.clouds:
            if not registry.targets[cloud].startswith("clouder.stacks."):  # CDKTF: the synth tests load them
                assert registry[cloud] is not None, (stage, cloud)


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
