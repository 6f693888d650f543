"""Azure synthesis cost: importing the azurerm bindings vs synthesizing the stacks, and how the stack scales.

Prints medians and ratios, never asserts on time.  Usage: python benchmarks/azure_synth.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    from clouder.spec import load_spec
    from support.azure_stacks import spec_file

    work = Path(tempfile.mkdtemp(prefix="clouder-bench-azure-"))
    specs = {name: load_spec(spec_file(work, f"azure-{name}.yaml")) for name in ("minimal", "ha")}

    before, started = rss_mb(), time.perf_counter()
    from cdktf import App

    from clouder.stacks.azure import AzureClusterStack

    import_s, import_mb = time.perf_counter() - started, rss_mb() - before

    timings: dict[str, list[float]] = {name: [] for name in specs}
    resources: dict[str, int] = {}
    for run in range(runs):
        for name, spec in specs.items():
            outdir = work / f"{name}-{run}"
            started = time.perf_counter()
            app = App(outdir=str(outdir))
            AzureClusterStack(app, spec.name, spec)
            app.synth()
            timings[name].append(time.perf_counter() - started)
            doc = json.loads((outdir / "stacks" / spec.name / "cdk.tf.json").read_text())
            resources[name] = sum(len(v) for v in doc["resource"].values())

    median = {name: statistics.median(values) for name, values in timings.items()}
    print(f"import cdktf + azurerm bindings: {import_s:.1f} s, +{import_mb:.0f} MB RSS")
    for name in specs:
        per = 1000 * median[name] / resources[name]
        print(
            f"synth {name}: {median[name]:.2f} s (median of {runs}), "
            f"{resources[name]} resources, {per:.1f} ms each"
        )
    print(
        f"ratio import / synth(minimal): {import_s / median['minimal']:.1f}x "
        "(so tests synthesize once a session)"
    )
    print(
        f"ratio synth(ha) / synth(minimal): {median['ha'] / median['minimal']:.2f}x "
        f"for {resources['ha'] / resources['minimal']:.2f}x the resources"
    )


if __name__ == "__main__":
    main()
