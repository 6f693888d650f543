"""The plan summary as Markdown: a pull-request comment a reviewer can act on."""

from __future__ import annotations

from clouder.terraform.summary import ACTIONS, PlanSummary

MARK = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "import": "<="}


def render_markdown(summary: PlanSummary) -> str:
    counts = summary.counts()
    lines = [f"### Clouder plan for `{summary.cluster}`" + (" (destroy)" if summary.destroy_plan else ""), ""]
    if not summary.has_changes:
        lines.append("**No changes.** The infrastructure matches the spec.")
    else:
        totals = ", ".join(f"{counts[a]} to {a}" for a in ACTIONS if counts[a])
        lines.append(f"**{totals}** · plan hash `{summary.plan_hash}`")
    if summary.needs_approval:
        lines += [
            "",
            "> [!CAUTION]",
            f"> **Needs approval:** {len(summary.needs_approval)} change(s) destroy or replace "
            "control-plane nodes, data volumes or the network. Approve with `clouder apply --approve` "
            f"or an approval file naming `{summary.plan_hash}`.",
        ]
    if summary.has_changes:
        lines += ["", "| resource type | " + " | ".join(ACTIONS) + " |", "| --- |" + " ---: |" * len(ACTIONS)]
        for kind, row in summary.by_type().items():
            lines.append(f"| `{kind}` | " + " | ".join(str(row[a] or "") for a in ACTIONS) + " |")
    if summary.destructive:
        lines += ["", "#### Destructive changes", ""]
        for change in summary.destructive:
            why = f" — **{change.protected}**" if change.protected else ""
            lines.append(f"- :warning: **{change.action}** `{change.address}`{why}")
    others = [c for c in summary.changes if not c.destructive]
    if others:
        lines += ["", "<details><summary>Other changes</summary>", ""]
        lines += [f"- `{MARK[c.action]}` {c.action} `{c.address}`" for c in others]
        lines += ["", "</details>"]
    if summary.drift:
        lines += ["", "#### Drift (changed outside Terraform)", ""]
        lines += [f"- `{d.address}` was {d.action} outside Terraform" for d in summary.drift]
    if summary.findings:
        lines += ["", "#### Policy findings", ""] + [f"- {finding}" for finding in summary.findings]
    return "\n".join(lines) + "\n"
