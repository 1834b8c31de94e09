"""The AWS CLI against `lambda-sim serve`, unchanged (dummy credentials and region from the environment)."""
import json
import os
import shutil
import subprocess


def aws(endpoint, *args, tmp_path):
    exe = shutil.which("aws")
    assert exe, "the AWS CLI (awscli from PyPI) must be installed"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "creds"))
    return subprocess.run([exe, "lambda", *args, "--endpoint-url", endpoint], env=env, capture_output=True, text=True, timeout=120)


def test_aws_lambda_invoke(endpoint, tmp_path):
    out = tmp_path / "out.json"
    r = aws(endpoint, "invoke", "--function-name", "hello",
            "--payload", '{"name":"cli"}', str(out), tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text()) == {"message": "Hello, cli!"}


def test_aws_lambda_get_function_and_unknown(endpoint, tmp_path):
    r = aws(endpoint, "get-function", "--function-name", "hello", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["Configuration"]["FunctionName"] == "hello"
    r = aws(endpoint, "invoke", "--function-name", "nope", str(tmp_path / "x.json"), tmp_path=tmp_path)
    assert r.returncode != 0
    assert "ResourceNotFoundException" in r.stderr


def test_aws_lambda_control_plane_calls_people_script(endpoint, tmp_path):
    r = aws(endpoint, "list-provisioned-concurrency-configs", "--function-name", "slow", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ProvisionedConcurrencyConfigs"] == []
    r = aws(endpoint, "get-function-configuration", "--function-name", "slow", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["MemorySize"] == 256
    r = aws(endpoint, "list-function-event-invoke-configs", "--function-name", "flaky", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["FunctionEventInvokeConfigs"][0]["MaximumRetryAttempts"] == 0
    r = aws(endpoint, "delete-function", "--function-name", "hello", tmp_path=tmp_path)
    assert r.returncode != 0
    assert "UnknownOperationException" in r.stderr
