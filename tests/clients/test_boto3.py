"""boto3 against `lambda-sim serve`, unchanged: the same calls and errors as against AWS Lambda."""
import base64
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError


def test_sync_invoke_returns_the_response(client):
    r = client.invoke(FunctionName="hello", Payload=json.dumps({"name": "boto"}))
    assert r["StatusCode"] == 200
    assert r["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in r
    assert json.loads(r["Payload"].read()) == {"message": "Hello, boto!"}


def test_a_python_handler_answers_through_serve(client):
    r = client.invoke(FunctionName="pyhello", Payload=json.dumps({"name": "boto"}), LogType="Tail")
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    body = json.loads(r["Payload"].read())
    assert body["statusCode"] == 200
    assert json.loads(body["body"])["message"] == "hello, boto"
    log = base64.b64decode(r["LogResult"]).decode()
    assert "hello, boto (request " in log and "128 MB)" in log


def test_a_javascript_handler_answers_through_serve(client):
    r = client.invoke(FunctionName="jshello", Payload=json.dumps({"name": "boto"}), LogType="Tail")
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    body = json.loads(r["Payload"].read())
    assert json.loads(body["body"])["message"] == "hello, boto"
    assert "hello, boto (request " in base64.b64decode(r["LogResult"]).decode()


def test_a_python_exception_is_the_function_error_with_its_stack_trace(client):
    r = client.invoke(FunctionName="pyraises", Payload=json.dumps({"amount": 7}))
    assert r["StatusCode"] == 200
    assert r["FunctionError"] == "Unhandled"
    error = json.loads(r["Payload"].read())
    assert error["errorType"] == "PaymentDeclined"
    assert error["errorMessage"] == "card declined for 7"
    assert any('/var/task/lambda_function.py", line 17, in charge' in f for f in error["stackTrace"])


def test_log_tail_has_the_report_line(client):
    r = client.invoke(FunctionName="hello", Payload=b'{"name":"tail"}', LogType="Tail")
    log = base64.b64decode(r["LogResult"]).decode()
    lines = log.splitlines()
    assert lines[0].startswith("START RequestId: ")
    assert "greeting tail" in lines
    report = [l for l in lines if l.startswith("REPORT RequestId: ")]
    assert len(report) == 1 and "\tBilled Duration: " in report[0] and "\tMemory Size: 128 MB\t" in report[0]


def test_event_and_dry_run(client):
    assert client.invoke(FunctionName="hello", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert client.invoke(FunctionName="hello", InvocationType="DryRun", Payload=b"{}")["StatusCode"] == 204


def _records(name, count, timeout=30):
    """The first `count` invocation records of destination `name`, waiting for the server to write them."""
    from conftest import OUT
    path = OUT / "destinations" / f"{name}.jsonl"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            lines = [l for l in path.read_text().splitlines() if l.strip()]
            if len(lines) >= count:
                return [json.loads(l) for l in lines]
        time.sleep(0.1)
    raise AssertionError(f"{path} did not get {count} records in {timeout} s")


def test_event_invocations_go_through_the_async_queue_to_their_destinations(client):
    # flaky: maximum_retry_attempts = 0, on_success "ok", on_failure "failed" (tests/clients/serve.toml).
    fail = client.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"fail_rate": 1.0, "tag": "f"}')
    ok = client.invoke(FunctionName="flaky", InvocationType="Event", Payload=b'{"fail_rate": 0.0, "tag": "s"}')
    assert fail["StatusCode"] == 202 and ok["StatusCode"] == 202
    [failed] = _records("failed", 1)
    assert failed["version"] == "1.0"
    assert failed["requestContext"]["condition"] == "RetriesExhausted"
    assert failed["requestContext"]["approximateInvokeCount"] == 1
    assert failed["requestContext"]["functionArn"].endswith(":function:flaky:$LATEST")
    assert failed["requestPayload"] == {"fail_rate": 1.0, "tag": "f"}
    assert failed["responseContext"]["functionError"] == "Unhandled"
    assert failed["responsePayload"]["errorType"] == "FlakyError"
    [succeeded] = _records("ok", 1)
    assert succeeded["requestContext"]["condition"] == "Success"
    assert succeeded["requestPayload"]["tag"] == "s"
    assert succeeded["responsePayload"]["ok"] is True
    # The 202's request id is the event's, as its records give it.
    assert failed["requestContext"]["requestId"] == fail["ResponseMetadata"]["RequestId"]
    assert succeeded["requestContext"]["requestId"] == ok["ResponseMetadata"]["RequestId"]


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_every_response_carries_a_request_id(client):
    r = client.invoke(FunctionName="hello", Payload=b"{}", LogType="Tail")
    rid = r["ResponseMetadata"]["RequestId"]
    assert UUID.fullmatch(rid), rid
    # The id the invocation ran under: its START, END and REPORT lines carry it.
    log = base64.b64decode(r["LogResult"]).decode()
    assert f"START RequestId: {rid} Version: $LATEST" in log
    assert f"REPORT RequestId: {rid}\t" in log
    ids = {rid}
    ids.add(client.invoke(FunctionName="hello", InvocationType="Event", Payload=b"{}")["ResponseMetadata"]["RequestId"])
    ids.add(client.invoke(FunctionName="hello", InvocationType="DryRun", Payload=b"{}")["ResponseMetadata"]["RequestId"])
    ids.add(client.get_function(FunctionName="hello")["ResponseMetadata"]["RequestId"])
    with pytest.raises(ClientError) as e:
        client.invoke(FunctionName="nope", Payload=b"{}")
    ids.add(e.value.response["ResponseMetadata"]["RequestId"])
    assert all(UUID.fullmatch(i) for i in ids), ids
    assert len(ids) == 5, ids


def test_function_error_is_200_with_function_error_header(client):
    r = client.invoke(FunctionName="spin", Payload=b"{}")
    assert r["StatusCode"] == 200
    assert r["FunctionError"] == "Unhandled"
    body = json.loads(r["Payload"].read())
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")


def test_unknown_function_is_resource_not_found(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException) as e:
        client.invoke(FunctionName="nope", Payload=b"{}")
    assert "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope" in str(e.value)


def test_invalid_json_is_invalid_request_content(client):
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="hello", Payload=b"{not json")


def slow_burst(client, n, ms=1500):
    payload = json.dumps({"calls": 1, "latency_ms": ms})

    def call(_):
        try:
            client.invoke(FunctionName="slow", Payload=payload)
            return None
        except ClientError as e:
            return e

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [r for r in pool.map(call, range(n)) if r is not None]


def test_calls_beyond_reserved_concurrency_get_429_with_reason(client):
    errors = slow_burst(client, 6)
    assert len(errors) == 4, errors  # reserved concurrency 2
    for e in errors:
        assert UUID.fullmatch(e.response["ResponseMetadata"]["RequestId"])
        assert e.response["Error"]["Code"] == "TooManyRequestsException"
        assert e.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_changing_reserved_concurrency_changes_throttling(client):
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=5)
    assert client.get_function_concurrency(FunctionName="slow")["ReservedConcurrentExecutions"] == 5
    assert len(slow_burst(client, 6)) == 1
    with pytest.raises(client.exceptions.InvalidParameterValueException) as e:
        client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=45)
    assert "below its minimum value of [100]" in str(e.value)
    client.delete_function_concurrency(FunctionName="slow")
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="slow")
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=2)


def test_provisioned_concurrency_goes_ready_and_serves_without_init(client):
    r = client.put_provisioned_concurrency_config(FunctionName="hello", Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert r["RequestedProvisionedConcurrentExecutions"] == 2
    assert r["Status"] == "IN_PROGRESS"
    deadline = time.time() + 30
    while time.time() < deadline:
        status = client.get_provisioned_concurrency_config(FunctionName="hello", Qualifier="live")
        if status["Status"] == "READY":
            break
        time.sleep(0.2)
    assert status["Status"] == "READY" and status["AllocatedProvisionedConcurrentExecutions"] == 2
    [listed] = client.list_provisioned_concurrency_configs(FunctionName="hello")["ProvisionedConcurrencyConfigs"]
    assert listed["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:hello:live"
    assert listed["Status"] == "READY" and listed["RequestedProvisionedConcurrentExecutions"] == 2
    log = base64.b64decode(client.invoke(FunctionName="hello", Payload=b"{}", LogType="Tail")["LogResult"]).decode()
    assert "Init Duration" not in log
    client.delete_provisioned_concurrency_config(FunctionName="hello", Qualifier="live")
    assert client.list_provisioned_concurrency_configs(FunctionName="hello")["ProvisionedConcurrencyConfigs"] == []
    with pytest.raises(ClientError) as e:
        client.get_provisioned_concurrency_config(FunctionName="hello", Qualifier="live")
    assert e.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"


def test_control_plane_shapes(client):
    f = client.get_function(FunctionName="slow")
    assert f["Configuration"]["FunctionName"] == "slow"
    assert f["Configuration"]["MemorySize"] == 256 and f["Configuration"]["Timeout"] == 10
    names = {c["FunctionName"] for c in client.list_functions()["Functions"]}
    assert names == {"hello", "slow", "spin", "flaky", "pyhello", "pyraises", "jshello"}
    limits = client.get_account_settings()["AccountLimit"]
    assert limits["ConcurrentExecutions"] == 110
    assert limits["UnreservedConcurrentExecutions"] == 108


def test_function_configuration_and_event_invoke_configs(client):
    c = client.get_function_configuration(FunctionName="slow")
    assert c["FunctionName"] == "slow" and c["MemorySize"] == 256 and c["Timeout"] == 10
    assert c == {k: v for k, v in client.get_function(FunctionName="slow")["Configuration"].items()} | {
        "ResponseMetadata": c["ResponseMetadata"]}
    # flaky: maximum_retry_attempts = 0, on_success "ok", on_failure "failed" (tests/clients/serve.toml).
    [flaky] = client.list_function_event_invoke_configs(FunctionName="flaky")["FunctionEventInvokeConfigs"]
    assert flaky["MaximumRetryAttempts"] == 0 and flaky["MaximumEventAgeInSeconds"] == 21600
    assert flaky["DestinationConfig"] == {"OnSuccess": {"Destination": "ok"}, "OnFailure": {"Destination": "failed"}}
    assert client.get_function_event_invoke_config(FunctionName="flaky")["MaximumRetryAttempts"] == 0
    assert client.list_function_event_invoke_configs(FunctionName="hello")["FunctionEventInvokeConfigs"] == []
    with pytest.raises(client.exceptions.ResourceNotFoundException) as e:
        client.get_function_event_invoke_config(FunctionName="hello")
    assert "doesn't have an EventInvokeConfig" in str(e.value)


def test_operations_lambda_sim_does_not_implement_say_so(client):
    for call in (lambda: client.create_alias(FunctionName="hello", Name="blue", FunctionVersion="1"),
                 lambda: client.delete_function(FunctionName="hello"),
                 lambda: client.list_tags(Resource="arn:aws:lambda:us-east-1:123456789012:function:hello")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "UnknownOperationException", e.value.response
        assert "lambda-sim does not implement" in e.value.response["Error"]["Message"]
        assert UUID.fullmatch(e.value.response["ResponseMetadata"]["RequestId"])
