"""`cdktf synth` + `cdktf diff` with the repository's cdktf.json, and Clouder planning the same stack folder.

cdktf's own plan and Clouder's plan of the synthesized folder must agree on what they would create.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.moto import MotoServer
from support.parts import missing
from support.terraform import MIRROR
from support.tfstack import UBUNTU_AMI, Cli, moto_override, unique

pytestmark = pytest.mark.e2e


def test_cdktf_diff_and_clouder_plan_agree(
    repo: Path, tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    cdktf = repo / "node_modules" / ".bin" / "cdktf"
    if not cdktf.exists() or shutil.which("node") is None:
        missing("cdktf-cli", "run `npm ci` in the repository (package.json pins cdktf-cli 0.20.12)")
    document = yaml.safe_load((repo / "examples" / "aws-minimal.yaml").read_text())
    document.pop("context", None)
    cluster = unique("cdktf")
    document["metadata"]["name"] = cluster
    document["aws"]["ami"] = UBUNTU_AMI
    spec = tmp_path / "cluster.yaml"
    spec.write_text(yaml.safe_dump(document))
    env = {
        **tf_cli.env,
        "CLOUDER_SPEC": str(spec),
        "DISABLE_VERSION_CHECK": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CI": "1",
    }
    out = tmp_path / "cdktf.out"

    synth = subprocess.run(
        [str(cdktf), "synth", "--output", str(out)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert synth.returncode == 0, synth.stderr[-3000:]
    stack = out / "stacks" / cluster
    (stack / "zz_moto_override.tf.json").write_text(json.dumps(moto_override(moto_server.url)))
    if MIRROR.is_dir():  # cdktf runs `providers lock`, which ignores the mirror unless the lock file exists
        subprocess.run(
            [
                "terraform",
                f"-chdir={stack}",
                "providers",
                "lock",
                f"-fs-mirror={MIRROR}",
                "-platform=linux_amd64",
            ],
            env=env,
            check=True,
            capture_output=True,
        )

    diff = subprocess.run(
        [str(cdktf), "diff", "--skip-synth", "--output", str(out), cluster],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert diff.returncode == 0, (diff.stdout + diff.stderr)[-3000:]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", diff.stdout)
    counted = re.search(r"Plan: (\d+) to add, 0 to change, 0 to destroy", plain)
    assert counted is not None, diff.stdout[-2000:]

    ours = tf_cli.run("plan", str(spec), "--stack", str(stack), "-o", "json")
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout)["counts"]["create"] == int(counted[1])
    assert not (Path(os.environ["CLOUDER_WORK_DIR"]) / cluster / "terraform" / "terraform.tfstate").exists()
