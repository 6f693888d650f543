"""Run checkov on synthesized JSON offline (``BC_SKIP_MAPPING``, ``--skip-download``), where installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clouder.errors import ClouderError


@dataclass(frozen=True)
class CheckovFinding:
    check: str
    address: str
    message: str
    file: str


def checkov_binary() -> str | None:
    return shutil.which("checkov")


def run_checkov(binary: str, files: list[Path]) -> list[CheckovFinding]:
    if not files:
        return []
    command = [
        binary,
        "--framework",
        "terraform_json",
        "--skip-download",
        "--compact",
        "-o",
        "json",
        "--quiet",
    ]
    for path in files:
        command += ["-f", str(path)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode not in (0, 1):
        raise ClouderError(f"checkov failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return parse_report(done.stdout)


def parse_report(text: str) -> list[CheckovFinding]:
    try:
        document: Any = json.loads(text) if text.strip() else []
    except json.JSONDecodeError:
        raise ClouderError(f"checkov printed no JSON report: {text.strip()[:300]}") from None
    reports = document if isinstance(document, list) else [document]
    found = []
    for report in reports:
        for failed in (report.get("results") or {}).get("failed_checks", []):
            address = failed.get("resource_address") or failed.get("resource", "?")
            found.append(
                CheckovFinding(
                    failed["check_id"],
                    str(address),
                    str(failed.get("check_name", "")),
                    Path(str(failed.get("file_path", ""))).name,
                )
            )
    return found
