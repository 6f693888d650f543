"""Plan summaries from real Terraform on a provider-free stack (terraform_data): fast, no cloud needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clouder.errors import ClouderError
from clouder.spec import load_spec
from clouder.terraform.guarded import verified
from clouder.terraform.locks import parse_lock_info
from clouder.terraform.markdown import render_markdown
from clouder.terraform.plans import read_saved
from clouder.terraform.workflow import Workflow
from support.tfstack import write_spec

LOCK_ERROR = """Error message: operation error DynamoDB: PutItem, https response error StatusCode: 400, \
ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        7bda49cd-448b-493b-ef84-533b1bd4a70a
  Path:      state/t6.tfstate
  Operation: OperationTypePlan
  Who:       root@vm
  Version:   1.11.4
  Created:   2026-11-26 02:21:05.805593262 +0000 UTC
  Info:
"""


def _stack(folder: Path, generation: str, members: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    resources: dict[str, Any] = {
        "control_plane": {"input": "cp", "triggers_replace": [generation]},
        **{f"member_{m}": {"input": m} for m in members},
    }
    (folder / "cdk.tf.json").write_text(json.dumps({"resource": {"terraform_data": resources},
                                                    "output": {"members": {"value": members}}}))  # fmt: skip
    return folder


@pytest.fixture
def workflow(tmp_path: Path, terraform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Workflow:
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(tmp_path / "work"))
    spec = load_spec(write_spec(tmp_path / "spec.yaml", "sum"))
    return Workflow(spec, _stack(tmp_path / "stack", "g1", ["a", "b"]), env=terraform_env)


def test_summary_counts_replace_and_hash_is_stable(workflow: Workflow, tmp_path: Path) -> None:
    first = workflow.plan()
    assert first.summary.counts()["create"] == 3
    workflow.apply(first)
    assert workflow.output_document()["members"]["value"] == ["a", "b"]
    assert workflow.plan().summary.has_changes is False

    _stack(workflow.stack_dir, "g2", ["a", "c"])
    changed = workflow.plan(out=tmp_path / "one.tfplan")
    again = workflow.plan(out=tmp_path / "two.tfplan")
    assert changed.summary.plan_hash == again.summary.plan_hash
    assert changed.path.read_bytes() != b""
    actions = {c.address: c.action for c in changed.summary.changes}
    assert actions == {"terraform_data.control_plane": "replace", "terraform_data.member_b": "delete",
                       "terraform_data.member_c": "create"}  # fmt: skip
    assert changed.summary.by_type() == {
        "terraform_data": {"create": 1, "update": 0, "delete": 1, "replace": 1, "import": 0}
    }
    markdown = render_markdown(changed.summary)
    assert "1 to create, 1 to delete, 1 to replace" in markdown
    assert "#### Destructive changes" in markdown and "**replace** `terraform_data.control_plane`" in markdown

    _stack(workflow.stack_dir, "g2", ["a", "d"])
    assert workflow.plan().summary.plan_hash != changed.summary.plan_hash


def test_a_plan_is_shown_once_by_its_bytes(workflow: Workflow, tmp_path: Path) -> None:
    def shows() -> int:
        return workflow.runner.log.read_text().count(" show -json -no-color ")

    saved = workflow.plan(out=tmp_path / "one.tfplan")
    assert shows() == 1
    # `clouder apply` of that plan, in another process: the plan is verified without showing it again
    applying = Workflow(workflow.spec, workflow.stack_dir, env=workflow.env)
    loaded = read_saved(saved.path, workflow.spec.name, saved.meta.config_hash)
    assert verified(applying, loaded).summary == saved.summary
    assert shows() == 1

    other = workflow.plan(out=tmp_path / "two.tfplan")
    assert shows() == 2 and other.path.read_bytes() != saved.path.read_bytes()
    saved.path.write_bytes(other.path.read_bytes())  # the same bytes under another name: already shown
    assert applying.show_plan(saved.path) == applying.show_plan(other.path)
    assert shows() == 2
    saved.path.write_bytes(b"not a plan")  # other bytes are shown anew, and Terraform refuses them
    with pytest.raises(ClouderError, match="terraform show failed"):
        applying.show_plan(saved.path)
    assert shows() == 3


def test_lock_info_names_the_holder() -> None:
    lock = parse_lock_info(LOCK_ERROR)
    assert lock is not None
    assert (lock.id, lock.who, lock.operation) == ("7bda49cd-448b-493b-ef84-533b1bd4a70a", "root@vm",
                                                   "OperationTypePlan")  # fmt: skip
    assert lock.created_epoch() == pytest.approx(1795659665.0)
    assert parse_lock_info("Error: something else") is None
