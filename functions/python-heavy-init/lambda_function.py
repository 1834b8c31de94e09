"""A Python handler with heavy module-scope init: it builds its lookup tables when the module is imported, as many
real functions load a model or a catalogue. On Lambda that work is the Init phase of every cold start; here too,
unless a snapshot (the SnapStart analog) restores the state after it."""

import json

# 100,000 users and their scores, built once per execution environment.
SCORES = {f"user-{i:06d}": (i * 2654435761) % 1_000_003 for i in range(100_000)}


def _sieve(limit):
    composite = bytearray(limit + 1)
    primes = []
    for n in range(2, limit + 1):
        if not composite[n]:
            primes.append(n)
            composite[n * n :: n] = b"\x01" * len(range(n * n, limit + 1, n))
    return primes


PRIMES = _sieve(200_000)


def lambda_handler(event, context):
    user = (event or {}).get("user", "user-000042")
    return {
        "statusCode": 200,
        "body": json.dumps({"user": user, "score": SCORES.get(user), "primes_below_200k": len(PRIMES)}),
    }
