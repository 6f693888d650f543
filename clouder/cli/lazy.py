"""The root command group, loaded lazily (click's documented pattern for lazily loaded sub-commands).

`clouder --help` lists every command from `COMMANDS` and imports no command module; running a command imports
only the `clouder/cli/<topic>_cmd.py` module that defines it. Each module still registers its commands with
`register(app)`, as a Typer app of its own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    # Typer's own copy of click, whose types TyperGroup's methods take and return
    from typer._click import Command, Context, HelpFormatter


class Entry(NamedTuple):
    topic: str  # the command is defined in clouder/cli/<topic>_cmd.py
    summary: str  # the first paragraph of its help, which `clouder --help` shortens to fit a line


# Every command the `*_cmd.py` modules register, in the order `clouder --help` lists them: pipeline order,
# each stage's commands, then `up`/`down`, which run them all; command groups last, as Typer lists them.
# tests/foundation/test_cli_order.py holds this table to what the modules register and to their help.
COMMANDS: dict[str, Entry] = {
    "init": Entry("spec", "Write a commented starter spec for AWS or Azure."),
    "validate": Entry(
        "spec", "Check a spec: schema, cross-field rules and its context. Exit 0 valid, 2 invalid."
    ),
    "schema": Entry("spec", "Print the spec's JSON Schema (for editors' YAML language servers)."),
    "rehearse": Entry(
        "rehearse",
        "Rehearse the whole pipeline with no cloud account: synth, then real Terraform plan, policy gate and "
        "apply against a local AWS emulator (moto), the outputs contract, each host's bootstrap phases, the "
        "add-on manifests and the services' rollout order; then destroy. Azure: synth and policy gate only.",
    ),
    "synth": Entry(
        "synth", "Synthesize the spec's stack to Terraform JSON (cdk.tf.json) without touching any cloud."
    ),
    "plan": Entry(
        "infra",
        "Plan: synthesize if the spec changed, `terraform plan -out`, and summarize what would change.",
    ),
    "apply": Entry(
        "infra", "Apply a saved plan (or plan now and apply that plan) after the policy gate and approvals."
    ),
    "output": Entry(
        "infra", "Read the outputs contract from the Terraform state (and save it to the work folder)."
    ),
    "destroy": Entry(
        "infra", "Destroy the cluster's infrastructure (a destroy plan, approved like any destructive plan)."
    ),
    "bootstrap": Entry(
        "bootstrap", "Bootstrap the cluster over SSH: kubeadm init, joins, admin kubeconfig. Safe to re-run."
    ),
    "addons": Entry(
        "addons",
        "Install the add-ons (CNI, cloud controller, CSI + StorageClasses, load balancing); idempotent.",
    ),
    "render": Entry(
        "addons",
        "Write the add-on manifests for Argo CD or Flux instead of applying them (Secrets are left out).",
    ),
    "check": Entry(
        "addons",
        "Smoke-test the cluster: nodes, system pods, default StorageClass + PVC, LoadBalancer, DNS.",
    ),
    "rollout": Entry(
        "rollout", "Roll out the system and core services along their dependencies; re-run to resume."
    ),
    "upgrade": Entry(
        "lifecycle",
        "Upgrade Kubernetes by one minor: control planes first, then workers in batches; resumable.",
    ),
    "scale": Entry(
        "lifecycle",
        "Scale node pools (and control planes) to the spec: drain and reset removed nodes before Terraform "
        "destroys their VMs, then join the new ones.",
    ),
    "remove-node": Entry(
        "lifecycle",
        "Cordon, drain, `kubeadm reset` and delete nodes from the cluster, one at a time (VMs stay).",
    ),
    "repair-node": Entry(
        "lifecycle", "Repair a node that failed to join: `kubeadm reset`, delete its Node, join it again."
    ),
    "status": Entry("status", "Show infrastructure, nodes, add-ons and services at a glance (reads only)."),
    "up": Entry("up", "Stand the cluster up end to end; run again to resume where the last run stopped."),
    "down": Entry(
        "up",
        "Tear the cluster down: uninstall the services, then destroy the infrastructure (needs approval).",
    ),
    "context": Entry("context", "Where clusters live: cloud, account, region and how credentials are found."),
}


def topic_commands(topic: str) -> dict[str, Command]:
    """The click commands that `clouder/cli/<topic>_cmd.py` registers, by name (imports that module)."""
    staging = typer.Typer(rich_markup_mode=None)  # the root's markup mode: it shapes each command's help
    importlib.import_module(f"clouder.cli.{topic}_cmd").register(staging)
    return dict(typer.main.get_group(staging).commands)


class LazyGroup(TyperGroup):
    """A Typer group whose commands in `COMMANDS` are loaded on first use; others (`version`) are eager."""

    def list_commands(self, ctx: Context) -> list[str]:
        eager = [name for name in self.commands if name not in COMMANDS]
        return [*eager, *COMMANDS]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands.update(topic_commands(COMMANDS[cmd_name].topic))
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """List the commands from their summaries, importing none of their modules."""
        listing = {
            name: self.commands.get(name) or TyperCommand(name, help=COMMANDS[name].summary)
            for name in self.list_commands(ctx)
        }
        TyperGroup(name=self.name, commands=listing).format_commands(ctx, formatter)

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in self.list_commands(ctx):
            for name in COMMANDS:  # a typo: load every command, so that "Did you mean …?" weighs them all
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)
