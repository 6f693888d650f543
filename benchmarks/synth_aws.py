"""AWS synthesis: `clouder synth` against the bare floor, cold and warm, and how it scales with nodes.

- floor: a Python process that only loads the spec, imports the bindings and synthesizes the same stack
  (``App`` + ``AwsClusterStack`` + ``synth``): nothing of the CLI. Goal: `clouder synth` / floor <= 1.3x.
- cold: the jsii runtime's package cache (``JSII_RUNTIME_PACKAGE_CACHE_ROOT``) starts empty, as on a fresh
  machine; warm: the same cache, already filled.
- scale: a 200-node spec (3 control planes, 197 workers over 3 zones) against the 3-node example.
  Goals: <= 1.5x the time, <= 1 GB peak RSS (the Python process plus the jsii node process it starts).

Prints medians and ratios, never asserts on time.  Usage: python benchmarks/synth_aws.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEJlbmNoQmVuY2hCZW5jaEJlbmNoQmVuY2hCZW5jaEJl bench"
FLOOR = """
import sys
from cdktf import App
from clouder.spec import load_spec
from clouder.stacks.aws import AwsClusterStack
spec = load_spec(sys.argv[1])
app = App(outdir=sys.argv[2])
AwsClusterStack(app, spec.name, spec)
app.synth()
"""


def write_spec(path: Path, nodes: int) -> Path:
    document = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    document.pop("context", None)
    if nodes > 3:
        document["network"]["subnets"] = [
            {"zone": f"us-east-1{z}", "public": f"10.0.{i}.0/24", "private": f"10.0.{16 * (i + 1)}.0/20"}
            for i, z in enumerate("abc")
        ]
        document["controlPlane"] = {"count": 3}
        document["nodePools"] = [{"name": "general", "count": 100}, {"name": "agents", "count": nodes - 103}]
    path.write_text(yaml.safe_dump(document))
    return path


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak tree RSS (bytes) of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr.read().decode()[-2000:]}")
    return elapsed, peak


def clouder(spec: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "clouder", "synth", str(spec), "--out", str(out)]


def floor(spec: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", FLOOR, str(spec), str(out)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="warm runs per measurement (median)")
    runs = parser.parse_args().runs
    base_env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small, large = write_spec(work / "small.yaml", 3), write_spec(work / "large.yaml", 200)

        cold: dict[str, float] = {}
        for name, build in (("floor", floor), ("clouder", clouder)):
            env = {**base_env, "JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(work / f"jsii-cold-{name}")}
            cold[name], _ = measure(build(small, work / f"cold-{name}"), env)
        warm_env = {**base_env, "JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(work / "jsii-warm")}
        measure(floor(small, work / "prime"), warm_env)  # fill the warm cache
        warm: dict[str, list[float]] = {"floor": [], "clouder": []}
        rss: dict[str, list[int]] = {"small": [], "large": [], "floor": []}
        large_times: list[float] = []
        for index in range(runs):  # interleaved, so that load on the machine hits both alike
            for name, build in (("floor", floor), ("clouder", clouder)):
                seconds, peak = measure(build(small, work / f"warm-{name}-{index}"), warm_env)
                warm[name].append(seconds)
                rss["small" if name == "clouder" else "floor"].append(peak)
            seconds, peak = measure(clouder(large, work / f"large-{index}"), warm_env)
            large_times.append(seconds)
            rss["large"].append(peak)

    med = {name: statistics.median(values) for name, values in warm.items()}
    large_median = statistics.median(large_times)
    mib = 1024 * 1024
    print(f"cold:  floor {cold['floor']:.1f} s, clouder synth {cold['clouder']:.1f} s, "
          f"ratio {cold['clouder'] / cold['floor']:.2f}x (goal <= 1.3x)")  # fmt: skip
    print(f"warm:  floor {med['floor']:.1f} s, clouder synth {med['clouder']:.1f} s, "
          f"ratio {med['clouder'] / med['floor']:.2f}x (goal <= 1.3x)  [median of {runs}]")  # fmt: skip
    print(f"scale: 200 nodes {large_median:.1f} s vs 3 nodes {med['clouder']:.1f} s, "
          f"ratio {large_median / med['clouder']:.2f}x (goal <= 1.5x)")  # fmt: skip
    peaks = {kind: max(values) / mib for kind, values in rss.items()}
    print(f"rss:   200 nodes peak {peaks['large']:.0f} MiB (goal <= 1024 MiB), "
          f"3 nodes peak {peaks['small']:.0f} MiB, floor (3 nodes) {peaks['floor']:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
