"""CLI start-up: `clouder --help` and `clouder validate` against the floor `python -c "import clouder"`.

Runs the three commands interleaved (so machine load hits them alike), prints medians, ratios and the load
average, and proves through sys.modules that neither command imported CDKTF or any other heavy binding.
Goal (issue 17): median `clouder --help` <= 0.10 s and `clouder validate examples/aws-minimal.yaml` <= 0.25 s,
with no heavy imports.  Usage: python benchmarks/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "aws-minimal.yaml"
HEAVY = ("cdktf", "constructs", "jsii", "cdktf_cdktf_provider_aws", "cdktf_cdktf_provider_azurerm",
         "kubernetes", "asyncssh", "helm_python", "checkov")  # fmt: skip
GOAL_S = {"clouder --help": 0.10, "clouder validate": 0.25}  # medians on the 2-core CI machine
COMMANDS = {
    "floor: import clouder": [sys.executable, "-c", "import clouder"],
    "clouder --help": [sys.executable, "-m", "clouder", "--help"],
    "clouder validate": [sys.executable, "-m", "clouder", "validate", str(EXAMPLE)],
}
PROBE = (
    "import sys, json\nfrom clouder.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))\n"
    "sys.stderr.write('\\nPROBE ' + json.dumps({'heavy': heavy, 'modules': len(sys.modules)}))"
)


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def probe(args: list[str]) -> tuple[list[str], int]:
    """The heavy packages a command imported, and how many modules it imported in all."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args], cwd=REPO, capture_output=True, text=True
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")][-1]
    found = json.loads(line.removeprefix("PROBE "))
    return found["heavy"], found["modules"]


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        wall(command)  # warm the page cache and .pyc files
    load_before = load()
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(wall(command))
    floor = statistics.median(samples["floor: import clouder"])
    print(f"load average {load_before} before, {load()} after (1, 5, 15 min; {os.cpu_count()} cores)")
    print(f"{'command':28} {'median s':>9} {'ratio':>7} {'goal s':>7}   (runs={runs}, interleaved)")
    ok = True
    for name, values in samples.items():
        median = statistics.median(values)
        goal = GOAL_S.get(name)
        verdict = "" if goal is None else f"{goal:7.2f}   {'met' if median <= goal else 'NOT met'}"
        print(f"{name:28} {median:9.3f} {median / floor:6.2f}x {verdict}")
        if goal is not None:
            ok &= median <= goal
    for args in (["--help"], ["validate", str(EXAMPLE)]):
        heavy, modules = probe(args)
        print(f"`clouder {args[0]}` imports {modules} modules; heavy ones: {heavy or 'none'}")
        ok &= not heavy
    goals = ", ".join(f"{name} <= {goal:.2f} s" for name, goal in GOAL_S.items())
    print(f"goal (medians {goals}, no heavy imports):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
