"""CLI start-up: `clouder --help` and `clouder validate` against the floor `python -c "import clouder"`.

Runs the commands interleaved (so machine load hits them alike), prints medians, ratios and the load
average, and proves through sys.modules that neither command imported CDKTF or any other heavy binding.
It names the interpreter and the `.pth` start-up hooks of its site-packages (they run before any command),
and runs the commands with bytecode writing on, so that a PYTHONDONTWRITEBYTECODE in the environment does not
make every run compile Clouder's sources again (~150 M instructions of `clouder validate`).
With --instructions it also counts each command's instructions under valgrind (cachegrind, no cache
simulation): unlike seconds, the count does not move with the machine's load.
Goal (issue 17): median `clouder --help` <= 0.10 s and `clouder validate examples/aws-minimal.yaml` <= 0.25 s,
with no heavy imports.  Usage: python benchmarks/cli_startup.py [--runs N] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "aws-minimal.yaml"
HEAVY = ("cdktf", "constructs", "jsii", "cdktf_cdktf_provider_aws", "cdktf_cdktf_provider_azurerm",
         "kubernetes", "asyncssh", "helm_python", "checkov")  # fmt: skip
GOAL_S = {"clouder --help": 0.10, "clouder validate": 0.25}  # medians on the 2-core CI machine
# The libraries `clouder validate` cannot do without, imported and nothing else: the CLI (Typer, with the
# parameter adapters it imports when a command runs), the models (pydantic, and the plugin loader it imports
# when it builds a validator), YAML, the SSH key parser and the config folder lookup. What `validate` spends
# above this row is Clouder's own.
LIBRARIES = (
    "import typer, typer._adapters, yaml, platformdirs, pydantic.plugin._loader\n"
    "import cryptography.hazmat.primitives.serialization\n"
    "from pydantic import BaseModel, Field, TypeAdapter"
)
COMMANDS = {
    "floor: import clouder": [sys.executable, "-c", "import clouder"],
    "floor: validate's libraries": [sys.executable, "-c", LIBRARIES],
    "clouder --help": [sys.executable, "-m", "clouder", "--help"],
    "clouder validate": [sys.executable, "-m", "clouder", "validate", str(EXAMPLE)],
}
# Clouder's modules compile once and are read from __pycache__ afterwards, as after `pip install`.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
PROBE = (
    "import sys, json\nfrom clouder.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))\n"
    "sys.stderr.write('\\nPROBE ' + json.dumps({'heavy': heavy, 'modules': len(sys.modules)}))"
)


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - started


def probe(args: list[str]) -> tuple[list[str], int]:
    """The heavy packages a command imported, and how many modules it imported in all."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args], cwd=REPO, env=ENV, capture_output=True, text=True
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")][-1]
    found = json.loads(line.removeprefix("PROBE "))
    return found["heavy"], found["modules"]


def instructions(command: list[str]) -> float | None:
    """Millions of instructions the command executes (valgrind's count), or None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    tool = [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    proc = subprocess.run([*tool, *command], cwd=REPO, env=ENV, capture_output=True, text=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    return int(found.group(1).replace(",", "")) / 1e6 if found else None


def interpreter() -> str:
    """Which Python runs the commands, and the site-packages hooks that run at its every start."""
    kind = "virtualenv" if sys.prefix != sys.base_prefix else "no virtualenv"
    site = Path(sysconfig.get_path("purelib"))
    hooks = sorted(
        path.name
        for path in site.glob("*.pth")
        if any(line.startswith(("import ", "import\t")) for line in path.read_text().splitlines())
    )
    return f"{sys.executable} (Python {sys.version.split()[0]}, {kind}); start-up hooks in {site}: " + (
        ", ".join(hooks) or "none"
    )


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    options = parser.parse_args()
    runs = options.runs
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        wall(command)  # warm the page cache and .pyc files
    load_before = load()
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(wall(command))
    floor = statistics.median(samples["floor: import clouder"])
    print(f"interpreter {interpreter()}")
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
    libraries = statistics.median(samples["floor: validate's libraries"])
    own = statistics.median(samples["clouder validate"]) - libraries
    print(f"clouder validate above its libraries: {own:.3f} s (Clouder's own modules, models, checks)")
    if options.instructions:
        for name, command in COMMANDS.items():
            count = instructions(command)
            print(f"{name:28} {'no valgrind' if count is None else f'{count:.0f} M instructions'}")
    for args in (["--help"], ["validate", str(EXAMPLE)]):
        heavy, modules = probe(args)
        print(f"`clouder {args[0]}` imports {modules} modules; heavy ones: {heavy or 'none'}")
        ok &= not heavy
    goals = ", ".join(f"{name} <= {goal:.2f} s" for name, goal in GOAL_S.items())
    print(f"goal (medians {goals}, no heavy imports):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
