"""The emulator's AWS traits (clouder.rehearse.moto_server), against the real moto server the tests use."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

from clouder.rehearse.moto_server import attempt_of
from support.moto import MotoServer
from support.tfstack import boto, s3_state, unique


def _call(
    moto: MotoServer, service: str, body: bytes, invocation: str, attempt: int, headers: dict[str, str]
) -> tuple[int, bytes]:
    """One try of an SDK call, as the AWS SDKs send it: same invocation ID on every try of one call."""
    request = urllib.request.Request(moto.url + "/", data=body, method="POST")
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0",
    )
    request.add_header("amz-sdk-invocation-id", invocation)
    request.add_header("amz-sdk-request", f"attempt={attempt}; max=25")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _create_vpc(moto: MotoServer, cidr: str, invocation: str, attempt: int) -> tuple[int, bytes]:
    form = {"Action": "CreateVpc", "Version": "2016-11-15", "CidrBlock": cidr}
    body = urllib.parse.urlencode(form).encode()
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    return _call(moto, "ec2", body, invocation, attempt, form_type)


def _vpcs_with(moto: MotoServer, cidr: str) -> int:
    found = boto(moto, "ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": [cidr]}])["Vpcs"]
    return len(found)


def test_attempt_is_read_from_the_sdk_header() -> None:
    assert attempt_of("attempt=2; max=25") == 2
    assert attempt_of("attempt=1") == 1
    assert attempt_of("") == 1
    assert attempt_of("ttl=20261202T000000Z; attempt=3; max=5") == 3


def test_a_retried_create_that_was_answered_is_not_carried_out_twice(moto_server: MotoServer) -> None:
    cidr = "10.231.0.0/16"
    invocation = str(uuid.uuid4())
    first = _create_vpc(moto_server, cidr, invocation, 1)
    again = _create_vpc(moto_server, cidr, invocation, 2)
    assert first[0] == 200
    assert again == first
    assert _vpcs_with(moto_server, cidr) == 1
    other = _create_vpc(moto_server, cidr, str(uuid.uuid4()), 1)  # another call is carried out
    assert other[0] == 200 and other != first
    assert _vpcs_with(moto_server, cidr) == 2


def test_a_retried_try_that_failed_is_carried_out_again(moto_server: MotoServer) -> None:
    invocation = str(uuid.uuid4())
    failed = _create_vpc(moto_server, "not-a-cidr", invocation, 1)
    assert failed[0] == 400
    cidr = "10.232.0.0/16"
    assert _create_vpc(moto_server, cidr, invocation, 2)[0] == 200
    assert _vpcs_with(moto_server, cidr) == 1


def test_a_retried_conditional_put_does_not_find_its_own_item(moto_server: MotoServer) -> None:
    """Terraform's state lock: PutItem unless the lock exists. Run twice, it reported its own lock as held."""
    table = s3_state(moto_server, unique("lock"))["dynamodbTable"]  # as the tests' S3 backends lock
    put = json.dumps({
        "TableName": table, "Item": {"LockID": {"S": "state/k.tfstate"}},
        "ConditionExpression": "attribute_not_exists(LockID)",
    }).encode()  # fmt: skip
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    invocation = str(uuid.uuid4())
    assert _call(moto_server, "dynamodb", put, invocation, 1, headers)[0] == 200
    assert _call(moto_server, "dynamodb", put, invocation, 2, headers)[0] == 200
    status, body = _call(moto_server, "dynamodb", put, str(uuid.uuid4()), 1, headers)
    assert status == 400 and b"ConditionalCheckFailed" in body
