"""Remote state with locking on moto's S3 + DynamoDB: a second operator fails fast, naming the holder."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from support.moto import MotoServer
from support.tfstack import (
    Cli,
    aws_stack,
    operator,
    remote_state,
    s3_state,
    unique,
    wait_for_log,
    write_spec,
    write_stack,
)

pytestmark = pytest.mark.e2e


def test_second_apply_fails_fast_naming_the_holder(
    tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    cluster = unique("lock")
    stack = write_stack(tmp_path / "stack", aws_stack(cluster, pause=25), moto_server)
    spec = str(write_spec(tmp_path / "spec.yaml", cluster, state=s3_state(moto_server, cluster)))
    remote = remote_state(tf_cli, moto_server)
    alice, bob = operator(remote, "alice"), operator(remote, "bob")

    first = alice.start("apply", spec, "--stack", str(stack))
    wait_for_log(tmp_path / "alice" / cluster / "terraform.log", "terraform_data.pause: Provisioning", first)
    started = time.monotonic()
    second = bob.run("apply", spec, "--stack", str(stack), "-o", "json")
    took = time.monotonic() - started
    assert first.poll() is None, "the first apply must still hold the lock"
    assert second.returncode == 1
    error = json.loads(second.stdout)["error"]
    assert "The Terraform state is locked" in error and "OperationTypeApply" in error and "held by " in error
    assert "Clouder cannot prove that holder is gone" in error
    assert "--force-unlock" in json.loads(second.stdout)["hint"]
    print(f"second operator refused after {took:.1f} s (init + plan start)")

    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    state = bob.run("plan", spec, "--stack", str(stack), "--exit-code", "-o", "json")
    assert state.returncode == 0, state.stderr  # the state holds exactly what alice applied
    assert json.loads(state.stdout)["counts"]["create"] == 0
