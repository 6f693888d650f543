"""moto's server, with three traits of AWS that Terraform's AWS provider depends on.

Requests are served one at a time. AWS applies each request atomically; moto's threaded server lets two
requests on one security group interleave, and two egress rules authorized at once on the bastion's group
failed one with ``InvalidPermission.Duplicate`` on a loaded machine.

A retried request is not carried out twice. The AWS SDKs retry a request whose answer they did not read
(``connection reset``), naming each try of one call by the same ``amz-sdk-invocation-id`` header. Werkzeug's
development server loses answers that way on a loaded machine far more often than AWS's front ends do: a
``DescribeLoadBalancerAttributes`` answered 200 in no time was retried 100 ms later, and a retried
``CreateRouteTable`` left a second route table that blocked the VPC's delete, a retried DynamoDB ``PutItem``
made Terraform report its own state lock as held by another run. A later try of a call that was already
answered with a success gets that same answer again; a try that failed is carried out again, as AWS would.

``DeleteLaunchTemplate`` for an ID that is gone answers ``InvalidLaunchTemplateId.NotFound`` on AWS, which the
provider takes as "already deleted"; moto 5 answers ``InvalidLaunchTemplateName.NotFoundException``, which
the provider reports as a failed destroy. A delete the provider repeats then failed a rehearsal that AWS would
have let pass.

Run as ``python -m clouder.rehearse.moto_server -H 127.0.0.1 -p PORT`` (moto's own arguments).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REMEMBERED_ANSWERS = 1024


@dataclass(frozen=True)
class _Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def attempt_of(header: str) -> int:
    """The try number in an ``amz-sdk-request`` header (``attempt=2; max=25``); 1 when absent."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "attempt" and value.isdigit():
            return int(value)
    return 1


def _serve_like_aws() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    call = DomainDispatcherApplication.__call__
    lock = threading.Lock()
    answered: OrderedDict[str, _Answer] = OrderedDict()

    def answer(self: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "")
        retried = attempt_of(environ.get("HTTP_AMZ_SDK_REQUEST", "")) > 1
        with lock:
            earlier = answered.get(invocation) if invocation and retried else None
            if earlier is None:
                earlier = _run(call, self, environ)
                if invocation and earlier.status.startswith("2"):
                    answered[invocation] = earlier
                    while len(answered) > REMEMBERED_ANSWERS:
                        answered.popitem(last=False)
        start_response(earlier.status, earlier.headers)
        return [earlier.body]

    DomainDispatcherApplication.__call__ = answer  # type: ignore[method-assign]


def _run(call: Any, app: Any, environ: dict[str, Any]) -> _Answer:
    started: dict[str, Any] = {}
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.update(status=status, headers=headers)
        return written.append

    result = call(app, environ, start_response)
    try:
        body = b"".join([*written, *result])
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return _Answer(started["status"], list(started["headers"]), body)


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

    _serve_like_aws()
    _faithful_delete_launch_template()
    serve()


if __name__ == "__main__":
    main()
