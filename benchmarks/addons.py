"""Add-ons: validation cost (Clouder's cached validator vs kubernetes_validate.validate per object) and a
first vs a second (nothing-to-change) `run_addons` against the loopback API emulator and chart repository.

Prints medians and ratios, never asserts on time.  Usage: python benchmarks/addons.py [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    import helm_python
    import kubernetes_validate

    from clouder.addons import AddonContext, RunSettings, run_addons
    from clouder.addons.plan import NodesInitialized, plan, render_step
    from clouder.catalog.charts import CHARTS, Catalog
    from clouder.kube import Kube
    from clouder.kube.validate import _check, _definitions, _validator, problems
    from support import chartrepo
    from support.clusters import emulate

    work = Path(tempfile.mkdtemp(prefix="clouder-bench-"))
    repo = work / "repo"
    repo.mkdir()
    for entry in CHARTS.values():
        helm_python.package(chartrepo.SOURCES / entry.chart, destination=repo, version=entry.version)
    helm_python.repo_index_generate(repo)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(chartrepo._Quiet, directory=str(repo)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    catalog = Catalog(dict(CHARTS), mirror=f"http://127.0.0.1:{server.server_address[1]}")

    cluster, stop = emulate(work, "aws-minimal.yaml")
    ctx = AddonContext(cluster.spec, cluster.outputs)
    objects = [
        obj
        for step in plan(ctx)
        if not isinstance(step, NodesInitialized)
        for obj in render_step(step, ctx, catalog, work / "cache").objects()
    ]

    library, cached = [], []
    for _ in range(runs):
        started = time.perf_counter()
        for obj in objects:
            with contextlib.suppress(kubernetes_validate.utils.SchemaNotFoundError):
                kubernetes_validate.validate(obj, "1.33.0", strict=True)
        library.append(time.perf_counter() - started)
        _check.cache_clear()  # a fresh process's cost: no cached results, no cached validators
        _validator.cache_clear()
        _definitions.cache_clear()
        started = time.perf_counter()
        assert problems(objects, "1.33.5") == []
        cached.append(time.perf_counter() - started)
    lib, ours = statistics.median(library), statistics.median(cached)
    print(
        f"validate {len(objects)} objects: kubernetes_validate.validate {lib:.2f} s, clouder {ours:.2f} s "
        f"(ratio {lib / ours:.1f}x)"
    )

    first, second = [], []
    settings = RunSettings(timeout=30, interval=0.05, cache=work / "cache", catalog=catalog)
    for index in range(runs):
        if index:  # every "first" run starts from a fresh emulated cluster
            stop()
            (work / f"run{index}").mkdir()
            cluster, stop = emulate(work / f"run{index}", "aws-minimal.yaml")
        with Kube.from_kubeconfig(cluster.kubeconfig) as kube:
            started = time.perf_counter()
            assert run_addons(kube, ctx, settings).ok
            first.append(time.perf_counter() - started)
            requests, writes = len(cluster.api.emulator.requests), len(cluster.api.emulator.writes)
            started = time.perf_counter()
            report = run_addons(kube, ctx, settings)
            second.append(time.perf_counter() - started)
            assert report.ok and report.changed == 0
        again = len(cluster.api.emulator.requests) - requests
        rewrites = len(cluster.api.emulator.writes) - writes
    stop()
    one, two = statistics.median(first), statistics.median(second)
    print(
        f"run_addons (AWS set, {report.objects} objects): "
        f"first {one:.2f} s ({requests} requests, {writes} writes), "
        f"second {two:.2f} s ({again} requests, {rewrites} writes); ratio first/second {one / two:.1f}x"
    )


if __name__ == "__main__":
    main()
