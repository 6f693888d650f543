"""The Terraform workflow for one cluster: a work folder, init, plan, apply of saved plans, outputs, destroy.

Clouder owns every flag (python-terraform's helpers are wrong for Terraform >= 0.15: see DESIGN.md), so
commands run through ``Runner``: ``-input=false -no-color``, ``plan -json -out``, ``show -json``, ``apply``
of a saved plan only, ``output -json``. The work folder (``clouder.workdir.cluster_dir``) holds::

    terraform/           the Terraform root: the synthesized stack's files + the backend override
    plans/               saved plans with their .meta.json and .summary.json; shown/ what `show -json` said
    runs/                one record per running Terraform process (stale-lock detection)
    terraform.log        the full log of every command
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clouder.errors import BadInputError, ClouderError
from clouder.events import Event, EventLog
from clouder.outputs import ClusterOutputs, parse_terraform_outputs
from clouder.policy.gate import UNEXAMINED
from clouder.spec.model import ClusterSpec
from clouder.terraform import backend, locks, orphans
from clouder.terraform.binary import TerraformBinary, find_binary
from clouder.terraform.plans import SavedPlan, file_sha256, read_saved, write_saved
from clouder.terraform.runner import Message, Runner, RunResult, wait_gone
from clouder.terraform.summary import PlanSummary, summary_from_messages, summary_from_show
from clouder.workdir import cluster_dir, outputs_path, private_dir, write_private

KEEP_IN_ROOT = {".terraform", ".terraform.lock.hcl", backend.OVERRIDE_FILE, ".clouder-init.json"}
ORPHAN_WAIT_S = 600.0
SHOWN_KEPT = 4  # plans shown, kept by their hash (a plan, its destroy plan, a few older)


def _refused_in_stack(name: str) -> bool:
    return name.endswith(UNEXAMINED) or name == orphans.ADOPT_FILE


class InterruptedRunError(ClouderError):
    exit_code = 130


class StalePlanError(BadInputError):
    pass


@dataclass
class Workflow:
    spec: ClusterSpec
    stack_dir: Path
    binary: TerraformBinary | None = None
    env: dict[str, str] = field(default_factory=dict)
    on_message: Callable[[Message], None] | None = None
    events: EventLog | None = None

    def __post_init__(self) -> None:
        self.work = cluster_dir(self.spec)
        self.root = private_dir(self.work / "terraform")
        self.plans = self.work / "plans"
        self.records = locks.RunRecords(self.work / "runs")
        self.marker = self.work / "apply-in-progress.json"
        if self.binary is None:
            self.binary = find_binary(self.spec.terraform.binary)
        self.events = self.events or EventLog(self.work / "events.jsonl")
        run_env = {
            **os.environ,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            **self.env,
        }
        self.runner = Runner(
            self.binary.path, self.root, self.work / "terraform.log", run_env, redactor=self.events.redactor
        )

    # -- the Terraform root -------------------------------------------------------------------------------

    def prepare(self) -> str:
        """Copy the synthesized stack into the Terraform root, write the backend override; return its hash.

        Only Terraform JSON is taken: the policy gate reads JSON, so HCL (``*.tf``) would run unexamined.
        An adoption file is never taken from the stack or the work folder: only ``handle_orphans`` of this
        run writes one, straight into the root."""
        if not any(self.stack_dir.glob("*.tf.json")):
            raise BadInputError(
                f"{self.stack_dir} holds no Terraform configuration (*.tf.json).",
                "Synthesize first (`clouder synth SPEC`) or name a stack folder.",
            )
        refused = sorted(p.name for p in self.stack_dir.iterdir() if _refused_in_stack(p.name))
        if refused:
            raise BadInputError(
                f"{self.stack_dir} holds {', '.join(refused)}: Clouder takes only Terraform JSON (*.tf.json) "
                f"and writes {orphans.ADOPT_FILE} itself.",
                "Convert HCL to Terraform JSON (the policy gate reads only JSON) and remove the other files.",
            )
        private_dir(self.root)
        for old in self.root.iterdir():
            if old.name not in KEEP_IN_ROOT:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        for item in self.stack_dir.iterdir():
            if (
                item.name in (".terraform",)
                or item.name.endswith(".tfstate")
                or item.name == backend.OVERRIDE_FILE
            ):
                continue
            target = self.root / item.name
            shutil.copytree(item, target) if item.is_dir() else shutil.copy2(item, target)
        override = backend.override_document(self.spec, self.work)
        write_private(self.root / backend.OVERRIDE_FILE, json.dumps(override, indent=2) + "\n")
        return self.config_hash()

    def config_hash(self) -> str:
        """The configuration's hash; the adoption file is left out (``apply`` of a saved plan uses the
        configuration the plan file holds, and the next run never takes this run's adoption file)."""
        digest = hashlib.sha256()
        skipped = KEEP_IN_ROOT - {backend.OVERRIDE_FILE} | {orphans.ADOPT_FILE}
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root)
            if relative.parts[0] in skipped or not path.is_file():
                continue
            digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
        return "sha256:" + digest.hexdigest()

    def init(self, force_unlock: str | None = None) -> None:
        """``terraform init`` unless the root is already initialised for this backend and these providers."""
        marker = self.root / ".clouder-init.json"
        wanted = self._init_key()
        if not (marker.exists() and marker.read_text() == wanted and (self.root / ".terraform").is_dir()):
            args = ["init", "-input=false", "-no-color", "-reconfigure"]
            args += [f"-backend-config={path}" for path in backend.extra_backend_configs()]
            with self._phase("init"):
                result = self._run(args)
                if result.returncode != 0:
                    raise ClouderError(
                        f"terraform init failed:\n{result.error_text()}", f"Full log: {self.runner.log}"
                    )
            write_private(marker, wanted)
        if force_unlock:
            self.force_unlock(force_unlock)

    def _init_key(self) -> str:
        parts: list[Any] = [
            self.binary.version if self.binary else "",
            json.loads((self.root / backend.OVERRIDE_FILE).read_text()),
        ]
        parts += [p.read_text() for p in backend.extra_backend_configs()]
        for path in sorted(self.root.glob("*.tf.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            parts.append([document.get("terraform", {}).get("required_providers"), document.get("module")])
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()

    def force_unlock(self, lock_id: str) -> None:
        with self._phase("force-unlock"):
            result = self._run(["force-unlock", "-force", lock_id])
            if result.returncode != 0:
                raise ClouderError(f"could not clear lock {lock_id}:\n{result.error_text()}")

    # -- plan ---------------------------------------------------------------------------------------------

    def plan(
        self, out: Path | None = None, destroy: bool = False, force_unlock: str | None = None,
        adopt: bool = False, delete_orphans: bool = False, before_plan: Callable[[Path], None] | None = None,
    ) -> SavedPlan:  # fmt: skip
        """Plan. After an interrupted apply (or when asked) first adopt or delete orphaned resources.

        ``before_plan(root)`` is called once the root holds exactly the configuration about to be planned
        (``up`` starts the policy gate on it there, to run while Terraform plans)."""
        self.prepare()
        self.init(force_unlock)
        self.wait_for_orphaned_runs()
        if not destroy and (adopt or delete_orphans or self.marker.exists()):
            self.handle_orphans(delete_orphans)
        config_hash = self.config_hash()
        private_dir(self.plans)
        path = (out or self.plans / ("destroy.tfplan" if destroy else "current.tfplan")).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        args = ["plan", "-input=false", "-no-color", "-json", "-lock-timeout=0s", f"-out={path}"]
        args += ["-destroy"] if destroy else []
        if before_plan is not None:
            before_plan(self.root)
        with self._phase("plan"):
            result = self._locked(args, "plan")
            if result.returncode != 0:
                raise ClouderError(
                    f"terraform plan failed:\n{result.error_text()}", f"Full log: {self.runner.log}"
                )
            summary = self._summarize(path, result.messages, destroy)
        return write_saved(path, self.spec.name, config_hash, summary)

    def _summarize(self, path: Path, messages: list[Message], destroy: bool) -> PlanSummary:
        counts: dict[str, int] = next(
            (m["changes"] for m in messages if m.get("type") == "change_summary"), {}
        )
        if not any(counts.get(key) for key in ("add", "change", "remove", "import")):
            return summary_from_messages(self.spec.name, destroy)
        return summary_from_show(self.spec.name, self.show_plan(path), destroy, cloud=self.spec.cloud)

    def show_plan(self, path: Path) -> dict[str, Any]:
        """``terraform show -json PLAN``: what the plan file itself will do.

        What Terraform showed is kept in the private work folder under the sha256 of the plan file's bytes, so
        applying the plan that `clouder plan` just showed does not load the provider's schemas again (4-8 s).
        The key is the plan itself: a plan file changed in any way is shown anew."""
        digest = file_sha256(path).removeprefix("sha256:")
        kept = private_dir(private_dir(self.plans) / "shown") / f"{digest}.json"
        if kept.is_file():
            document: dict[str, Any] = json.loads(kept.read_bytes())
            return document
        shown = self._run(["show", "-json", "-no-color", str(path)], capture=True)
        if shown.returncode != 0:
            raise ClouderError(f"terraform show failed:\n{shown.error_text()}")
        document = json.loads(shown.stdout)
        write_private(kept, shown.stdout)
        for older in sorted(kept.parent.glob("*.json"), key=lambda p: p.stat().st_mtime)[:-SHOWN_KEPT]:
            older.unlink(missing_ok=True)
        return document

    def wait_for_orphaned_runs(self) -> None:
        """A Terraform whose Clouder died got SIGINT and is writing its state: let it finish first."""
        for record in self.records.orphaned():
            self._emit(
                "orphaned-run", f"waiting for Terraform {record.terraform_pid} ({record.command}) to stop"
            )
            if not wait_gone(record.terraform_pid, ORPHAN_WAIT_S):
                raise ClouderError(
                    f"Terraform {record.terraform_pid} from an earlier, killed Clouder run is still running.",
                    "Wait for it, or stop it with SIGINT (never SIGKILL).",
                )

    def state_values(self) -> dict[str, dict[str, Any]]:
        """Address -> attribute values of every managed resource the state holds."""
        result = self._run(["show", "-json", "-no-color"], capture=True)
        if result.returncode != 0:
            raise ClouderError(f"terraform show failed:\n{result.error_text()}")
        values = json.loads(result.stdout or "{}").get("values") or {}
        found: dict[str, dict[str, Any]] = {}
        modules = [values.get("root_module") or {}]
        while modules:
            module = modules.pop()
            modules += module.get("child_modules", [])
            for resource in module.get("resources", []):
                if resource.get("mode") == "managed":
                    found[resource["address"]] = resource.get("values") or {}
        return found

    def configured_resources(self) -> dict[str, dict[str, Any]]:
        """The ``resource`` blocks of the stack's own configuration (not of override files)."""
        merged: dict[str, dict[str, Any]] = {}
        for path in sorted(self.root.glob("*.tf.json")):
            if path.name.endswith("override.tf.json") or path.name == orphans.ADOPT_FILE:
                continue
            document = json.loads(path.read_text(encoding="utf-8"))
            for kind, bodies in (document.get("resource") or {}).items():
                merged.setdefault(kind, {}).update(bodies)
        return merged

    def handle_orphans(self, delete: bool) -> list[orphans.Orphan]:
        with self._phase("orphans"):
            found = orphans.find_orphans(
                self.spec, self.configured_resources(), self.state_values(), deleting=delete
            )
            doomed = found if delete else [o for o in found if o.type in orphans.RECREATE | orphans.LEFTOVERS]
            if doomed:
                orphans.delete_orphans(self.spec, doomed)
                verb = "deleted" if delete else "deleted (Terraform creates again what it needs)"
                self._emit("orphans", f"{verb} {len(doomed)}: {', '.join(o.address for o in doomed)}")
            found = [o for o in found if o not in doomed]
            if found:
                self._emit("orphans", f"adopting {len(found)}: {', '.join(o.address for o in found)}")
            orphans.write_adoption(self.root, found)
        return found

    # -- apply --------------------------------------------------------------------------------------------

    def load_plan(self, path: Path) -> SavedPlan:
        config_hash = self.prepare()
        return read_saved(path.resolve(), self.spec.name, config_hash)

    def apply(self, saved: SavedPlan, force_unlock: str | None = None) -> dict[str, Any]:
        """Apply exactly this saved plan; return the raw ``output -json`` document (also saved)."""
        self.init(force_unlock)
        args = ["apply", "-input=false", "-no-color", "-json", "-lock-timeout=0s", str(saved.path)]
        with self._phase("destroy" if saved.meta.destroy else "apply"):
            write_private(self.marker, json.dumps({"plan": str(saved.path), "hash": saved.meta.plan_hash}))
            result = self._locked(args, "apply")
            if result.returncode >= 0:  # Terraform ended its own run and wrote its state: nothing orphaned
                self.marker.unlink(missing_ok=True)
            if result.interrupted:
                raise InterruptedRunError(
                    "interrupted: Terraform stopped cleanly and saved the state it reached.",
                    "Run `clouder plan` and `clouder apply` again to finish.",
                )
            if result.returncode != 0:
                text = result.error_text()
                if "Saved plan is stale" in text:
                    raise StalePlanError(
                        "the saved plan is stale: the state changed after it was made.",
                        "Plan again and review the new summary.",
                    )
                raise ClouderError(f"terraform apply failed:\n{text}", f"Full log: {self.runner.log}")
        (self.work / orphans.ADOPT_FILE).unlink(missing_ok=True)
        return self.output_document()

    # -- outputs ------------------------------------------------------------------------------------------

    def output_document(self) -> dict[str, Any]:
        result = self._run(["output", "-json", "-no-color"], capture=True)
        if result.returncode != 0:
            raise ClouderError(f"terraform output failed:\n{result.error_text()}")
        document: dict[str, Any] = json.loads(result.stdout or "{}")
        write_private(outputs_path(self.spec), json.dumps(document, indent=2) + "\n")
        return document

    def outputs(self) -> ClusterOutputs:
        self.prepare()
        self.init()
        return parse_terraform_outputs(self.output_document(), source="terraform output")

    # -- running, locks, events ---------------------------------------------------------------------------

    def _run(self, args: list[str], capture: bool = False) -> RunResult:
        started: list[int] = []

        def record(pid: int) -> None:
            started.append(pid)
            self.records.start(pid, " ".join(args[:1]))

        self.runner.on_start = record
        result = self.runner.run(args, on_message=self.on_message, capture=capture)
        if (
            result.returncode >= 0
        ):  # ended its run itself, so released any lock: a killed one keeps its record
            for pid in started:
                self.records.finish(pid)
        return result

    def _locked(self, args: list[str], command: str) -> RunResult:
        """Run; on a lock held by a provably dead run, clear it and retry once; else report the holder."""
        result = self._run(args)
        lock = locks.parse_lock_info(result.error_text()) if result.returncode != 0 else None
        if lock is None:
            return result
        state, record = locks.verdict(self.records, lock, self.root)
        if state == "gone":
            self._emit(
                "stale-lock",
                f"cleared {lock.describe()}: its Terraform process {record and record.terraform_pid} is gone",
            )
            self.force_unlock(lock.id)
        elif state == "orphan" and record is not None:
            self._emit(
                "stale-lock",
                f"waiting for {lock.describe()}: Terraform {record.terraform_pid} is winding down",
            )
            if not wait_gone(record.terraform_pid, ORPHAN_WAIT_S):
                raise self._locked_error(lock, command, "Its Terraform process is still running.")
            self.records.finish(record.terraform_pid)
        elif state == "alive" and record is not None:
            why = (
                f"It is a live run on this machine (Clouder pid {record.clouder_pid}, Terraform pid "
                f"{record.terraform_pid}); wait for it."
            )
            raise self._locked_error(lock, command, why)
        else:
            why = "Clouder cannot prove that holder is gone."
            raise self._locked_error(lock, command, why)
        retry = self._run(args)
        again = locks.parse_lock_info(retry.error_text()) if retry.returncode != 0 else None
        if again is not None:
            raise self._locked_error(again, command, "It was taken again while Clouder cleared the last one.")
        return retry

    def _locked_error(self, lock: locks.LockInfo, command: str, why: str) -> locks.StateLockedError:
        return locks.StateLockedError(
            lock, why, f"If you are sure that run is gone: `clouder {command} SPEC --force-unlock {lock.id}`."
        )

    def _phase(self, phase: str) -> Any:
        assert self.events is not None
        return self.events.timed("terraform", phase)

    def _emit(self, phase: str, detail: str) -> None:
        assert self.events is not None
        self.events.emit(Event("terraform", phase, "info", detail=detail))
