"""CLI start-up: `clouder --help` and `clouder validate` against the floor `python -c "import clouder"`.

Runs the three commands interleaved (so machine load hits them alike), prints medians and ratios, and proves
through sys.modules that neither command imported CDKTF or any other heavy binding.
Goal: each ratio <= 3x and each command <= 0.5 s.  Usage: python benchmarks/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "aws-minimal.yaml"
HEAVY = ("cdktf", "constructs", "jsii", "cdktf_cdktf_provider_aws", "cdktf_cdktf_provider_azurerm",
         "kubernetes", "asyncssh", "helm_python", "checkov")  # fmt: skip
COMMANDS = {
    "floor: import clouder": [sys.executable, "-c", "import clouder"],
    "clouder --help": [sys.executable, "-m", "clouder", "--help"],
    "clouder validate": [sys.executable, "-m", "clouder", "validate", str(EXAMPLE)],
}
PROBE = (
    "import sys, json\nfrom clouder.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "sys.stderr.write('\\nHEAVY ' + json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(%r))))"
)


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def heavy_modules(args: list[str]) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args], cwd=REPO, capture_output=True, text=True
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY ")][-1]
    found: list[str] = json.loads(line.removeprefix("HEAVY "))
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        wall(command)  # warm the page cache and .pyc files
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(wall(command))
    floor = statistics.median(samples["floor: import clouder"])
    print(f"{'command':28} {'median s':>9} {'ratio':>7}   (runs={runs}, interleaved)")
    ok = True
    for name, values in samples.items():
        median = statistics.median(values)
        ratio = median / floor
        print(f"{name:28} {median:9.3f} {ratio:6.2f}x")
        if name != "floor: import clouder":
            ok &= ratio <= 3 and median <= 0.5
    for args in (["--help"], ["validate", str(EXAMPLE)]):
        heavy = heavy_modules(args)
        print(f"heavy modules imported by `clouder {args[0]}`: {heavy or 'none'}")
        ok &= not heavy
    print("goal (<= 3x and <= 0.5 s, no heavy imports):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
