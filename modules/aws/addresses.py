"""``AddressTags``: an aspect that tags every taggable resource of a stack with its Terraform address."""

from __future__ import annotations

import jsii
from cdktf import IAspect, TerraformResource
from constructs import IConstruct

from clouder.modules.aws.tags import ADDRESS_TAG


@jsii.implements(IAspect)
class AddressTags:
    """Adds ``clouder.dev/address = <type>.<logical id>`` to each resource that takes ``tags``.

    An aspect rather than a prop of every construct: the logical ID is only known once the tree is
    complete, and a construct added later (by a user composing the stack) is covered too.
    """

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource) or not hasattr(type(node), "tags_input"):
            return
        current = node.tags_input  # type: ignore[attr-defined]
        address = f"{node.terraform_resource_type}.{node.friendly_unique_id}"
        node.tags = {**(current or {}), ADDRESS_TAG: address}  # type: ignore[attr-defined]
