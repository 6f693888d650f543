"""moto's server, with the one reply Terraform's AWS provider depends on made as AWS makes it.

``DeleteLaunchTemplate`` for an ID that is gone answers ``InvalidLaunchTemplateId.NotFound`` on AWS, which the
provider takes as "already deleted"; moto 5 answers ``InvalidLaunchTemplateName.NotFoundException``, which
the provider reports as a failed destroy. A delete the provider repeats (a retried request on a slow, loaded
machine) then failed a rehearsal that AWS would have let pass.

Run as ``python -m clouder.rehearse.moto_server -H 127.0.0.1 -p PORT`` (moto's own arguments).
"""

from __future__ import annotations

from typing import Any


def _faithful_delete_launch_template() -> None:
    from moto.ec2.exceptions import InvalidLaunchTemplateIdNotFound
    from moto.ec2.models.launch_templates import LaunchTemplateBackend

    delete = LaunchTemplateBackend.delete_launch_template

    def delete_launch_template(self: Any, name: str, tid: str | None) -> Any:
        if not name and tid is not None and tid not in self.launch_templates:
            raise InvalidLaunchTemplateIdNotFound(tid)
        return delete(self, name, tid)

    LaunchTemplateBackend.delete_launch_template = delete_launch_template  # type: ignore[method-assign]


def main() -> None:
    from moto.server import main as serve

    _faithful_delete_launch_template()
    serve()


if __name__ == "__main__":
    main()
