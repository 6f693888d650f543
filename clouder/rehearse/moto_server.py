"""moto's server, with two traits of AWS that Terraform's AWS provider depends on.

Requests are served one at a time. AWS applies each request atomically; moto's threaded server lets two
requests on one security group interleave, and two egress rules authorized at once on the bastion's group
failed one with ``InvalidPermission.Duplicate`` on a loaded machine.

``DeleteLaunchTemplate`` for an ID that is gone answers ``InvalidLaunchTemplateId.NotFound`` on AWS, which the
provider takes as "already deleted"; moto 5 answers ``InvalidLaunchTemplateName.NotFoundException``, which
the provider reports as a failed destroy. A delete the provider repeats (a retried request on a slow, loaded
machine) then failed a rehearsal that AWS would have let pass.

Run as ``python -m clouder.rehearse.moto_server -H 127.0.0.1 -p PORT`` (moto's own arguments).
"""

from __future__ import annotations

import threading
from typing import Any


def _one_request_at_a_time() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    call = DomainDispatcherApplication.__call__
    lock = threading.Lock()

    def serialized(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        with lock:
            return call(self, environ, start_response)

    DomainDispatcherApplication.__call__ = serialized  # type: ignore[method-assign]


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

    _one_request_at_a_time()
    _faithful_delete_launch_template()
    serve()


if __name__ == "__main__":
    main()
