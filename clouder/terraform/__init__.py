"""The Terraform workflow (stage 3): init, plan with a summary, apply of saved plans, outputs, destroy.

Import from the modules: ``clouder.terraform.workflow.Workflow``, ``clouder.terraform.summary.PlanSummary``.
"""
