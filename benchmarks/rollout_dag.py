"""Service rollout vs the DAG's critical path, with simulated readiness delays.

Serves the services' stand-in charts from a loopback chart repository and rolls all of them out against
the HTTP Kubernetes API emulator of the tests, each workload becoming ready after a seeded random delay.
The critical path is the longest dependency chain of the per-service durations the run measured: no
scheduler can finish sooner. Goal: total / critical path <= 1.15.

Usage: python benchmarks/rollout_dag.py [--min 0.5] [--max 3.0] [--seed 7] [--parallel 10]
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=0.5, help="shortest readiness delay, seconds")
    parser.add_argument("--max", type=float, default=3.0, help="longest readiness delay, seconds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parallel", type=int, default=10)
    args = parser.parse_args()

    import helm_python

    from clouder.catalog.services import SERVICE_PINS
    from clouder.kube import Kube
    from clouder.services.rollout import RolloutSettings, plan, render, rollout
    from clouder.spec import load_spec
    from support.chartrepo import SOURCES, _Quiet
    from support.kubeapi import start
    from support.services import serve_runtime_kinds

    tmp = Path(tempfile.mkdtemp(prefix="clouder-bench-"))
    folder = tmp / "repo"
    folder.mkdir()
    for pin in SERVICE_PINS.values():
        helm_python.package(SOURCES / pin.chart, destination=folder, version=pin.version)
    helm_python.repo_index_generate(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mirror = f"http://127.0.0.1:{server.server_address[1]}"

    spec = load_spec(REPO / "examples" / "aws-minimal.yaml")
    settings = RolloutSettings(args.parallel, 60.0, 0.05, tmp / "cache", mirror)
    api, stop = start(tmp)
    serve_runtime_kinds(api.emulator)
    rng = random.Random(args.seed)
    delays = {}
    services, graph = plan(spec, None, settings)
    for service in services:
        delay = round(rng.uniform(args.min, args.max), 2)
        delays[service.name] = delay
        if service.chart is None:
            continue
        for obj in render(service, spec, settings.cache).manifests:  # warms the chart cache too
            if obj["kind"] in ("Deployment", "DaemonSet", "StatefulSet"):
                api.emulator.rule(obj["kind"], obj["metadata"]["name"], service.namespace, delay=delay)
    try:
        began = time.monotonic()
        report = rollout(lambda: Kube.from_kubeconfig(api.kubeconfig), spec, None, settings)
        total = time.monotonic() - began
    finally:
        stop()
        server.shutdown()
    if not report.ok:
        sys.exit(f"rollout failed:\n{report.table()}")
    measured = {o.name: o.seconds for o in report.outcomes}
    critical, path = graph.critical_path(measured)
    simulated, _ = graph.critical_path(delays)
    print(json.dumps({
        "services": len(report.outcomes), "levels": len(report.levels), "parallel": args.parallel,
        "total_s": round(total, 2), "critical_path_s": round(critical, 2), "critical_path": path,
        "simulated_delay_path_s": round(simulated, 2), "ratio": round(total / critical, 3),
        "goal": "ratio <= 1.15",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
