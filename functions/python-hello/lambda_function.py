"""The smallest Python handler: Lambda's own shape, run by lambda-sim as a WebAssembly component."""

import json


def lambda_handler(event, context):
    name = (event or {}).get("name", "world")
    print(f"hello, {name} (request {context.aws_request_id}, {context.memory_limit_in_mb} MB)")
    return {
        "statusCode": 200,
        "body": json.dumps({"message": f"hello, {name}", "remaining_ms": context.get_remaining_time_in_millis()}),
    }
