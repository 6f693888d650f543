"""The AWS provider version constraint for any stack that uses these constructs."""

from __future__ import annotations

from cdktf import TerraformStack

from clouder.catalog.aws import AWS_PROVIDER_CONSTRAINT


def use_clouder_provider_constraint(stack: TerraformStack) -> None:
    """Require the AWS provider versions Clouder is tested with (``~> 5.99``).

    The bindings write an exact ``5.99.1``, which refuses every later 5.x release (and the 5.100.0 of the
    test machines' mirror); call this once on every stack that holds Clouder's AWS constructs.
    """
    stack.add_override("terraform.required_providers.aws.version", AWS_PROVIDER_CONSTRAINT)
