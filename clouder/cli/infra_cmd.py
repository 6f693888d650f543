"""`clouder plan`, `apply`, `output` and `destroy`: the Terraform workflow from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format
from clouder.cli.options import ApprovalFileOpt, ApproveOpt, SpecArg
from clouder.errors import EXIT_FAILURE, ClouderError

if TYPE_CHECKING:
    from clouder.spec.model import ClusterSpec
    from clouder.terraform.plans import SavedPlan
    from clouder.terraform.workflow import Workflow

StackOption = Annotated[
    Path | None,
    typer.Option(
        "--stack",
        envvar="CLOUDER_STACK",
        help="Use this synthesized stack folder instead of synthesizing the spec.",
    ),
]
UnlockOption = Annotated[
    str | None,
    typer.Option("--force-unlock", help="Clear this state lock ID first (its holder must be gone)."),
]
AdoptOption = Annotated[
    bool,
    typer.Option("--adopt-orphans", help="Import tagged resources the state lost (automatic after a kill)."),
]
DeleteOrphansOption = Annotated[
    bool,
    typer.Option("--delete-orphans", help="Delete tagged resources the state lost instead of importing."),
]
EXIT_CHANGES = 2


def _workflow(spec_path: Path, stack: Path | None, quiet: bool) -> tuple[ClusterSpec, Workflow]:
    from clouder.spec import load_spec
    from clouder.terraform.stackcache import ensure_stack
    from clouder.terraform.workflow import Workflow

    spec = load_spec(spec_path)
    if stack is None:
        stack, fresh = ensure_stack(spec)
        if not quiet:
            typer.echo(f"{'synthesized' if fresh else 'unchanged spec, reusing'} stack {stack}", err=True)
    return spec, Workflow(spec, stack)


@contextmanager
def _progress(workflow: Workflow, quiet: bool, total: int | None = None) -> Iterator[None]:
    if quiet:
        yield
        return
    from clouder.terraform.progress import TerraformProgress

    with TerraformProgress(total=total) as view:
        workflow.on_message = view.on_message
        try:
            yield
        finally:
            workflow.on_message = None


def _print_summary(saved: SavedPlan) -> None:
    summary = saved.summary
    counts = summary.counts()
    if not summary.has_changes:
        typer.echo(f"{summary.cluster}: no changes.")
    else:
        typer.echo(f"{summary.cluster}: " + ", ".join(f"{n} to {a}" for a, n in counts.items() if n))
        for change in summary.changes:
            flag = " !" if change.destructive else "  "
            why = f"  [{change.protected}: needs approval]" if change.protected else ""
            typer.echo(f"{flag} {change.action:<8} {change.address}{why}")
    for drift in summary.drift:
        typer.echo(f"  drift    {drift.address} was {drift.action} outside Terraform")
    typer.echo(f"plan: {saved.path}\nplan hash: {summary.plan_hash}")


def plan(
    spec: SpecArg,
    out: Annotated[Path | None, typer.Option("--out", help="Where to save the plan file.")] = None,
    summary_md: Annotated[
        Path | None, typer.Option("--summary-md", help="Write the Markdown summary here.")
    ] = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 0 no changes, 2 changes (drift included), 1 error.")
    ] = False,
    destroy: Annotated[bool, typer.Option("--destroy", help="Plan destroying everything.")] = False,
    stack: StackOption = None,
    force_unlock: UnlockOption = None,
    adopt_orphans: AdoptOption = False,
    delete_orphans: DeleteOrphansOption = False,
    output: OutputOption = None,
) -> None:
    """Plan: synthesize if the spec changed, `terraform plan -out`, and summarize what would change."""
    from clouder.terraform.markdown import render_markdown

    fmt = output_format(output)
    try:
        _, workflow = _workflow(spec, stack, fmt is Format.json)
        with _progress(workflow, fmt is Format.json):
            saved = workflow.plan(out=out, destroy=destroy, force_unlock=force_unlock, adopt=adopt_orphans,
                                  delete_orphans=delete_orphans)  # fmt: skip
    except ClouderError as error:
        if exit_code:
            error.exit_code = EXIT_FAILURE
        raise
    if summary_md is not None:
        summary_md.write_text(render_markdown(saved.summary), encoding="utf-8")
    if fmt is Format.json:
        emit_json({**saved.summary.as_json(), "plan": str(saved.path)})
    else:
        _print_summary(saved)
    if exit_code and saved.summary.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def apply(
    spec: SpecArg,
    plan_file: Annotated[
        Path | None, typer.Argument(metavar="PLAN", help="A plan from `clouder plan --out`.")
    ] = None,
    approve: ApproveOpt = False,
    approval_file: ApprovalFileOpt = None,
    stack: StackOption = None,
    force_unlock: UnlockOption = None,
    adopt_orphans: AdoptOption = False,
    delete_orphans: DeleteOrphansOption = False,
    output: OutputOption = None,
) -> None:
    """Apply a saved plan (or plan now and apply that plan) after the policy gate and approvals."""
    from clouder.terraform.guarded import GuardedApply
    from clouder.workdir import outputs_path

    fmt = output_format(output)
    quiet = fmt is Format.json
    loaded, workflow = _workflow(spec, stack, quiet)
    guarded = GuardedApply(workflow, approve, approval_file)
    if plan_file is not None:
        guarded.load(plan_file)
    else:
        with _progress(workflow, quiet):
            guarded.plan(force_unlock=force_unlock, adopt=adopt_orphans, delete_orphans=delete_orphans)
    authorized = guarded.authorize()
    saved = authorized.saved
    if not quiet:
        _print_summary(saved)
        for allowed in authorized.policy.allowed if authorized.policy and saved.summary.has_changes else []:
            typer.echo(
                f"policy: accepted {allowed.check} on {allowed.address}: {allowed.allowed_because}", err=True
            )
    applied = saved.summary.has_changes
    if applied:
        total = len(saved.summary.changes) + sum(1 for c in saved.summary.changes if c.action == "replace")
        with _progress(workflow, quiet, total=total):
            guarded.apply(force_unlock=force_unlock)
    result: dict[str, Any] = {"ok": True, "applied": applied, "approval": authorized.approval,
                              "planHash": saved.summary.plan_hash}  # fmt: skip
    if applied:
        result["counts"] = saved.summary.counts()
    result["outputsFile"] = str(outputs_path(loaded))
    if fmt is Format.json:
        emit_json(result)
    else:
        typer.echo(f"{loaded.name}: applied ({result['approval']}); outputs saved to {result['outputsFile']}")


def output(
    spec: SpecArg,
    stack: StackOption = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print `terraform output -json` as is.")] = False,
    output: OutputOption = None,
) -> None:
    """Read the outputs contract from the Terraform state (and save it to the work folder)."""
    fmt = output_format(output)
    _, workflow = _workflow(spec, stack, True)
    if raw:
        workflow.prepare()
        workflow.init()
        emit_json(workflow.output_document())
        return
    outputs = workflow.outputs()
    if fmt is Format.json:
        emit_json(outputs.model_dump(mode="json"))
        return
    typer.echo(f"cluster {outputs.cluster_name}: API {outputs.api_endpoint.url}, ssh {outputs.ssh.mode}")
    for node in outputs.nodes:
        typer.echo(f"  {node.role:<13} {node.name:<30} {node.private_ip:<15} {node.provider_id}")


def destroy(
    spec: SpecArg,
    approve: ApproveOpt = False,
    approval_file: ApprovalFileOpt = None,
    stack: StackOption = None,
    force_unlock: UnlockOption = None,
    output: OutputOption = None,
) -> None:
    """Destroy the cluster's infrastructure (a destroy plan, approved like any destructive plan)."""
    from clouder.terraform.guarded import GuardedApply

    fmt = output_format(output)
    quiet = fmt is Format.json
    loaded, workflow = _workflow(spec, stack, quiet)
    guarded = GuardedApply(workflow, approve, approval_file)
    with _progress(workflow, quiet):
        guarded.plan(destroy=True, force_unlock=force_unlock)
    authorized = guarded.authorize()
    summary = authorized.saved.summary
    if summary.has_changes:
        with _progress(workflow, quiet, total=len(summary.changes)):
            guarded.apply()
    result = {"ok": True, "destroyed": summary.counts()["delete"], "approval": authorized.approval}
    if fmt is Format.json:
        emit_json(result)
    else:
        typer.echo(f"{loaded.name}: destroyed {result['destroyed']} resource(s) ({authorized.approval})")


def register(app: typer.Typer) -> None:
    app.command()(plan)
    app.command()(apply)
    app.command()(output)
    app.command()(destroy)


__all__ = ["register"]
