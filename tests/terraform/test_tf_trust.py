"""Trust boundaries of the Terraform workflow: what a pull request or a planted work folder can no longer do.

Each test plays one attack from the security review against the real `clouder` CLI and the real terraform
binary (provider-free ``terraform_data`` stacks: no cloud, no provider download) and asserts it fails.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.tfstack import Cli, unique, write_spec

pytestmark = pytest.mark.usefixtures("terraform_env")


@pytest.fixture
def cli(tmp_path: Path, terraform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    work = tmp_path / "work"
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(work))
    env = {**os.environ, **terraform_env, "CLOUDER_WORK_DIR": str(work)}
    env.pop("CLOUDER_TERRAFORM", None)
    return Cli(env=env, cwd=tmp_path)


def _stack(folder: Path, extra: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = {"resource": {"terraform_data": {"ok": {"input": "fine"}}}, "output": {"x": {"value": "1"}}}
    (folder / "cdk.tf.json").write_text(json.dumps(document))
    for name, content in (extra or {}).items():
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


def _evil(mark: Path) -> dict[str, Any]:
    """A resource that runs a command with the job's credentials when applied."""
    return {"resource": {"terraform_data": {"evil": {
        "input": "x", "provisioner": [{"local-exec": {"command": f"touch {mark}"}}]}}}}  # fmt: skip


def _state_addresses(work: Path, cluster: str) -> set[str]:
    state = json.loads((work / cluster / "terraform.tfstate").read_text())
    return {f"{r['type']}.{r['name']}" for r in state["resources"]}


def test_planted_adoption_file_in_the_work_folder_is_never_used(cli: Cli, tmp_path: Path) -> None:
    cluster = unique("adopt")
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    stack = _stack(tmp_path / "stack")
    cluster_dir = tmp_path / "work" / cluster
    cluster_dir.mkdir(parents=True, mode=0o700)
    (tmp_path / "work").chmod(0o700)
    mark = tmp_path / "pwned"
    (cluster_dir / "clouder_adopt.tf.json").write_text(json.dumps(_evil(mark)))

    applied = cli.run("apply", spec, "--stack", str(stack), "-o", "json")
    assert applied.returncode == 0, applied.stderr
    assert not mark.exists(), "a planted adoption file ran its command"
    assert _state_addresses(tmp_path / "work", cluster) == {"terraform_data.ok"}


@pytest.mark.parametrize("name", ["evil.tf", "clouder_adopt.tf.json", "terraform.tfvars.json", "evil.tofu"])
def test_stack_with_files_the_gate_cannot_read_is_refused(cli: Cli, tmp_path: Path, name: str) -> None:
    cluster = unique("hcl")
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    mark = tmp_path / "pwned"
    content: Any = (
        f'resource "terraform_data" "evil" {{\n'
        f'  provisioner "local-exec" {{ command = "touch {mark}" }}\n}}\n'
        if name.endswith((".tf", ".tofu"))
        else _evil(mark)
    )
    stack = _stack(tmp_path / "stack", {name: content})
    planned = cli.run("apply", spec, "--stack", str(stack))
    assert planned.returncode == 2, planned.stderr
    assert name in planned.stderr and "Terraform JSON" in planned.stderr
    assert not mark.exists()


def _planted_work_folder(tmp_path: Path, how: str, cluster: str) -> None:
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    target = work / cluster
    if how == "symlink":
        elsewhere = tmp_path / "checkout" / ".clouder"
        elsewhere.mkdir(parents=True, mode=0o700)
        target.symlink_to(elsewhere)
    elif how == "group-writable":
        target.mkdir(mode=0o700)
        target.chmod(0o770)
    elif how == "foreign-owned":
        if os.geteuid() != 0:
            pytest.skip("chown to another user needs root")
        target.mkdir(mode=0o700)
        os.chown(target, 65534, 65534)


@pytest.mark.parametrize("how", ["symlink", "group-writable", "foreign-owned"])
def test_untrusted_work_folder_is_refused(cli: Cli, tmp_path: Path, how: str) -> None:
    cluster = unique("wd")
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    _planted_work_folder(tmp_path, how, cluster)
    planned = cli.run("plan", spec, "--stack", str(_stack(tmp_path / "stack")))
    assert planned.returncode == 2, planned.stderr
    assert f"work folder {tmp_path / 'work' / cluster}" in planned.stderr
    assert not (tmp_path / "checkout" / ".clouder" / "terraform").exists()


def test_files_in_the_work_folder_are_never_written_through_symlinks(cli: Cli, tmp_path: Path) -> None:
    cluster = unique("link")
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    stack = _stack(tmp_path / "stack")
    assert cli.run("plan", spec, "--stack", str(stack)).returncode == 0
    folder = tmp_path / "work" / cluster
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (folder / "outputs.json").symlink_to(victim)
    applied = cli.run("apply", spec, "--stack", str(stack))
    assert applied.returncode == 0, applied.stderr
    assert victim.read_text() == "keep\n"
    assert not (folder / "outputs.json").is_symlink()
    assert stat.S_IMODE((folder / "outputs.json").stat().st_mode) == 0o600

    for name in ("events.jsonl", "terraform.log"):
        (folder / name).unlink()
        (folder / name).symlink_to(victim)
        refused = cli.run("plan", spec, "--stack", str(stack))
        assert refused.returncode == 2, refused.stderr
        assert f"{folder / name} is a symbolic link" in refused.stderr
        assert victim.read_text() == "keep\n"
        (folder / name).unlink()


def test_existing_journal_and_log_are_made_private_again(cli: Cli, tmp_path: Path) -> None:
    cluster = unique("mode")
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    stack = _stack(tmp_path / "stack")
    folder = tmp_path / "work" / cluster
    assert cli.run("plan", spec, "--stack", str(stack)).returncode == 0
    for name in ("events.jsonl", "terraform.log"):
        (folder / name).chmod(0o644)
    plan_file = tmp_path / "out" / "x.tfplan"
    assert cli.run("plan", spec, "--stack", str(stack), "--out", str(plan_file)).returncode == 0
    for path in (folder / "events.jsonl", folder / "terraform.log", plan_file,
                 plan_file.with_name("x.tfplan.summary.json")):  # fmt: skip
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_spec_cannot_name_the_terraform_binary_by_path(cli: Cli, tmp_path: Path) -> None:
    cluster = unique("bin")
    mark = tmp_path / "pwned"
    script = tmp_path / "evil.sh"
    script.write_text(f'#!/bin/sh\ntouch {mark}\nexec terraform "$@"\n')
    script.chmod(0o755)
    spec = write_spec(tmp_path / "spec.yaml", cluster)
    document = yaml.safe_load(spec.read_text())
    document["terraform"] = {"binary": str(script)}
    spec.write_text(yaml.safe_dump(document))
    planned = cli.run("plan", str(spec), "--stack", str(_stack(tmp_path / "stack")))
    assert planned.returncode == 2, planned.stderr
    assert "terraform.binary" in planned.stderr
    assert not mark.exists()

    # whoever runs Clouder may choose the binary
    document["terraform"] = {"binary": "terraform"}
    spec.write_text(yaml.safe_dump(document))
    cli.env["CLOUDER_TERRAFORM"] = str(script)
    chosen = cli.run("plan", str(spec), "--stack", str(tmp_path / "stack"))
    assert chosen.returncode == 0, chosen.stderr
    assert mark.exists()


def test_a_forged_plan_summary_is_refused(cli: Cli, tmp_path: Path) -> None:
    cluster = unique("forge")
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    stack = _stack(tmp_path / "stack")
    plan_file = tmp_path / "p.tfplan"
    assert cli.run("plan", spec, "--stack", str(stack), "--out", str(plan_file)).returncode == 0
    sidecar = plan_file.with_name("p.tfplan.summary.json")
    summary = json.loads(sidecar.read_text())
    summary["plan_hash"] = "sha256:" + "1" * 64
    sidecar.write_text(json.dumps(summary))
    refused = cli.run("apply", spec, str(plan_file), "--stack", str(stack))
    assert refused.returncode == 2, refused.stderr
    assert "does not describe" in refused.stderr
    assert not (tmp_path / "work" / cluster / "terraform.tfstate").exists()


def test_the_stack_cache_trusts_only_its_own_unchanged_synthesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clouder.spec import load_spec
    from clouder.terraform.stackcache import STAMP, cached_stack, content_hash, files_hash

    monkeypatch.setenv("CLOUDER_WORK_DIR", str(tmp_path / "work"))
    spec = load_spec(write_spec(tmp_path / "spec.yaml", unique("cache")))
    synth = tmp_path / "work" / spec.name / "synth"
    own = _stack(synth / "stacks" / spec.name)
    synth.chmod(0o700)

    def stamp(stack: Path, files: str) -> None:
        record = {"hash": content_hash(spec), "stack": str(stack), "files": files}
        (synth / STAMP).write_text(json.dumps(record))

    stamp(own, files_hash(own))
    assert cached_stack(spec) == own

    foreign = _stack(tmp_path / "checkout" / "stack", {"zz.tf.json": _evil(tmp_path / "pwned")})
    stamp(foreign, files_hash(foreign))
    assert cached_stack(spec) is None, "a stamp pointing outside the work folder was trusted"

    stamp(own, files_hash(own))
    (own / "cdk.tf.json").write_text(json.dumps(_evil(tmp_path / "pwned")))
    assert cached_stack(spec) is None, "an edited synthesized stack was reused"
