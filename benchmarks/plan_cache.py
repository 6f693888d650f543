"""Unchanged spec: `clouder plan` vs bare `terraform plan` on the same Terraform root (goal <= 1.2x).

Also: the synthesis skip on its own (content hash of spec + Clouder version), cache miss vs hit.
Runs real Terraform with the provider mirror against a moto server it starts on 127.0.0.1.

    python benchmarks/plan_cache.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.moto import MotoServer  # noqa: E402
from support.tfstack import aws_stack, write_spec, write_stack  # noqa: E402

MIRROR = Path("/opt/tf-plugins")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], MotoServer]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return proc, MotoServer(url=url, port=port)
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("moto did not start")


def interleaved(first: Callable[[], None], second: Callable[[], None], runs: int) -> tuple[float, float]:
    """Medians of ``runs`` timings of each, taken in turns so that a change in machine load hits both."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for action, taken in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            action()
            taken.append(time.perf_counter() - started)
    return statistics.median(samples[0]), statistics.median(samples[1])


def run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed: {done.stderr[-1500:]}")


def workflow_ratio(base: Path, runs: int) -> None:
    moto_proc, moto = start_moto(base / "moto.log")
    try:
        env = {**os.environ, **moto.env(), "CHECKPOINT_DISABLE": "1", "CLOUDER_WORK_DIR": str(base / "work")}
        env.pop("AWS_ENDPOINT_URL")
        if MIRROR.is_dir():
            rc = base / "terraformrc"
            rc.write_text(f'provider_installation {{\n filesystem_mirror {{\n  path = "{MIRROR}"\n'
                          '  include = ["registry.terraform.io/*/*"]\n }\n}\n')  # fmt: skip
            env["TF_CLI_CONFIG_FILE"] = str(rc)
        stack = write_stack(base / "stack", aws_stack("bench"), moto)
        spec = str(write_spec(base / "spec.yaml", "bench"))
        clouder = [sys.executable, "-c", "from clouder.cli import main; main()"]
        run([*clouder, "apply", spec, "--stack", str(stack)], env)
        root = base / "work" / "bench" / "terraform"
        bare = ["terraform", f"-chdir={root}", "plan", "-input=false", "-no-color", "-lock-timeout=0s",
                f"-out={base / 'bare.tfplan'}"]  # fmt: skip
        ours = [*clouder, "plan", spec, "--stack", str(stack), "-o", "json"]
        terraform_s, clouder_s = interleaved(lambda: run(bare, env), lambda: run(ours, env), runs)
        print(f"unchanged spec, applied 4-resource AWS stack on moto, median of {runs}, interleaved:")
        print(f"  terraform plan        {terraform_s:6.2f} s")
        ratio = clouder_s / terraform_s
        print(f"  clouder plan          {clouder_s:6.2f} s   ratio {ratio:.2f}x (goal <= 1.2x)")
    finally:
        moto_proc.terminate()
        moto_proc.wait(timeout=10)


def synthesis_skip(base: Path) -> None:
    try:
        from clouder.spec import load_spec
        from clouder.terraform.stackcache import ensure_stack
    except ImportError as exc:
        print(f"synthesis skip: not measured ({exc})")
        return
    os.environ["CLOUDER_WORK_DIR"] = str(base / "synth-work")
    spec = load_spec(REPO / "examples" / "aws-minimal.yaml")
    started = time.perf_counter()
    try:
        ensure_stack(spec)
    except Exception as exc:  # a stack that does not synthesize here: report, do not hide
        print(f"synthesis skip: synthesis failed ({type(exc).__name__}: {exc})")
        return
    miss = time.perf_counter() - started
    started = time.perf_counter()
    _, fresh = ensure_stack(spec)
    hit = time.perf_counter() - started
    assert not fresh
    print("synthesis of examples/aws-minimal.yaml (in-process, CDKTF bindings):")
    print(f"  changed spec (synthesize) {miss:7.2f} s")
    print(f"  unchanged spec (hash hit) {hit * 1000:7.1f} ms  ratio {miss / hit:,.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clouder-bench-") as folder:
        workflow_ratio(Path(folder), args.runs)
        synthesis_skip(Path(folder))


if __name__ == "__main__":
    main()
