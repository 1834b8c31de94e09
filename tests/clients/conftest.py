"""Starts `lambda-sim serve` on a free loopback port for the client tests and stops it afterwards."""
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("LAMBDA_SIM_BIN", str(ROOT / "target" / "debug" / "lambda-sim"))
# Where the server writes async destinations' records (emptied at the start of each session).
OUT = ROOT / "target" / "serve-test-out"


@pytest.fixture(scope="session")
def endpoint():
    import shutil
    shutil.rmtree(OUT, ignore_errors=True)
    proc = subprocess.Popen(
        [BIN, "serve", "tests/clients/serve.toml", "--listen", "127.0.0.1:0", "--out", str(OUT)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    url = None
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        proc.kill()
        raise RuntimeError("lambda-sim serve did not start: " + proc.stderr.read())
    # Keep draining the server's log so a full pipe never blocks it; keep it for failure messages.
    log_path = ROOT / "target" / "serve-test.log"
    def drain():
        with open(log_path, "w") as log:
            for line in proc.stderr:
                log.write(line)
                log.flush()
    threading.Thread(target=drain, daemon=True).start()
    yield url
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, f"serve exited {proc.returncode}"
    assert "conservation" in out, out


@pytest.fixture(scope="session")
def client(endpoint):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        # No SDK retries: the tests want to see each 429 as it is.
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60),
    )
