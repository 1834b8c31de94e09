#!/usr/bin/env python3
"""Write small, seeded Azure Functions trace files in exactly the public schemas.

Files (schemas from Azure/AzurePublicDataset: AzureFunctionsDataset2019.md and AzureFunctionsInvocationTrace2021.md):
  invocations_per_function_md.anon.dNN.csv      HashOwner,HashApp,HashFunction,Trigger,1..1440
  function_durations_percentiles.anon.dNN.csv   HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,
                                                percentile_Average_{0,1,25,50,75,99,100}   (milliseconds)
  app_memory_percentiles.anon.dNN.csv           HashOwner,HashApp,SampleCount,AverageAllocatedMb,
                                                AverageAllocatedMb_pct{1,5,25,50,75,95,99,100}   (MB)
  AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt   app,func,end_timestamp,duration   (seconds)

The workload has the skew the ATC'20 paper reports: most functions are rare (a handful of invocations a day), some
are periodic timers (cron-like, every k minutes), and a few are busy with a diurnal rate. Ids are 64-hex-digit
hashes, as in the real files. Same seed, same bytes.

Usage: scripts/make-azure-sample.py OUT_DIR [--seed N] [--functions N] [--day N] [--invocations-2021 N]
The committed fixture tests/fixtures/azure/ is: scripts/make-azure-sample.py tests/fixtures/azure --functions 60
"""

import argparse
import hashlib
import math
import os
import random

MINUTES = 1440
TRIGGERS_RARE = ["http", "queue", "storage", "event", "orchestration", "others"]
TRIGGERS_BUSY = ["http", "event", "queue"]


def hash_id(seed, kind, n):
    return hashlib.sha256(f"{seed}:{kind}:{n}".encode()).hexdigest()


def poisson(rng, mean):
    """A Poisson draw: Knuth's product method for small means, a rounded normal for large ones."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def diurnal(minute):
    """Relative load over the day: a trough at night, a peak in the afternoon."""
    return 1.0 + 0.6 * math.sin(2 * math.pi * (minute - 540) / MINUTES)


def make_functions(rng, seed, n):
    """[(owner, app, function, trigger, kind)] grouped into apps of mostly one function."""
    functions, owner_n, app_n = [], 0, 0
    while len(functions) < n:
        if owner_n == 0 or rng.random() < 0.6:
            owner_n += 1
        owner = hash_id(seed, "owner", owner_n)
        app_n += 1
        app = hash_id(seed, "app", app_n)
        size = 1 if rng.random() < 0.55 else rng.choice([2, 2, 3, 4, 6])
        for _ in range(min(size, n - len(functions))):
            function = hash_id(seed, "function", len(functions) + 1)
            r = rng.random()
            if r < 0.08:
                kind, trigger = "busy", rng.choice(TRIGGERS_BUSY)
            elif r < 0.30:
                kind, trigger = "periodic", "timer"
            elif r < 0.40:
                kind, trigger = "bursty", rng.choice(["queue", "event", "storage"])
            else:
                kind, trigger = "rare", rng.choice(TRIGGERS_RARE)
            functions.append((owner, app, function, trigger, kind))
    return functions


def make_counts(rng, kind):
    counts = [0] * MINUTES
    if kind == "busy":
        rate = math.exp(rng.uniform(math.log(2), math.log(300)))  # per minute at the daily mean
        for m in range(MINUTES):
            counts[m] = poisson(rng, rate * diurnal(m))
    elif kind == "periodic":
        period = rng.choice([1, 5, 10, 15, 30, 60, 60, 120, 1440])
        phase = rng.randrange(period)
        per_fire = rng.choice([1, 1, 1, 2])
        for m in range(phase, MINUTES, period):
            counts[m] = per_fire
    elif kind == "bursty":
        for _ in range(rng.randint(2, 8)):
            start, length = rng.randrange(MINUTES), rng.randint(1, 20)
            for m in range(start, min(MINUTES, start + length)):
                counts[m] += poisson(rng, rng.uniform(1, 40))
    else:
        for _ in range(max(1, int(rng.paretovariate(1.2)))):
            counts[rng.randrange(MINUTES)] += 1
    if sum(counts) == 0:
        counts[rng.randrange(MINUTES)] = 1
    return counts


def duration_row(rng, owner, app, function, count):
    median = math.exp(rng.uniform(math.log(5), math.log(5000)))  # ms
    sigma = rng.uniform(0.1, 1.2)
    z = {0: -3.0, 1: -2.33, 25: -0.674, 50: 0.0, 75: 0.674, 99: 2.33, 100: 3.2}
    pct = [max(1, int(median * math.exp(sigma * z[p]))) for p in (0, 1, 25, 50, 75, 99, 100)]
    average = int(median * math.exp(sigma * sigma / 2))
    minimum = max(0, int(pct[0] * rng.uniform(0.5, 1.0)))
    maximum = int(pct[-1] * rng.uniform(1.0, 2.0))
    # The count comes from another log than the per-minute counts and may differ a little.
    logged = max(1, count + rng.choice([0, 0, 0, -1, 1]))
    return [owner, app, function, average, logged, minimum, maximum] + pct


def memory_row(rng, owner, app):
    median = math.exp(rng.uniform(math.log(60), math.log(400)))  # MB
    spread = rng.uniform(0.02, 0.4)
    z = {1: -2.33, 5: -1.645, 25: -0.674, 50: 0.0, 75: 0.674, 95: 1.645, 99: 2.33, 100: 3.0}
    pct = [int(median * math.exp(spread * z[p])) for p in (1, 5, 25, 50, 75, 95, 99, 100)]
    return [owner, app, rng.randint(50, 20000), int(median * math.exp(spread * spread / 2))] + pct


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")


def write_2021(rng, seed, path, invocations):
    """Per-invocation rows over the first two hours; a few busy functions, many rare ones."""
    funcs = [(hash_id(seed, "app2021", a), hash_id(seed, "func2021", a * 10 + f)) for a in range(12) for f in range(2)]
    weights = [1.0 / (i + 1) ** 1.3 for i in range(len(funcs))]
    rows = []
    for _ in range(invocations):
        app, func = rng.choices(funcs, weights)[0]
        start = rng.uniform(0, 7200)
        duration = round(rng.lognormvariate(math.log(0.3), 1.5), 3)
        rows.append((start, app, func, start + duration, duration))
    rows.sort()  # by start: end times then come out roughly, not strictly, ordered, as in the real file
    write_csv(path, ["app", "func", "end_timestamp", "duration"], [(a, f, repr(e), d) for _, a, f, e, d in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--functions", type=int, default=300)
    ap.add_argument("--day", type=int, default=1)
    ap.add_argument("--invocations-2021", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    day = f"d{args.day:02d}"

    functions = make_functions(rng, args.seed, args.functions)
    inv_rows, dur_rows, apps = [], [], {}
    for owner, app, function, trigger, kind in functions:
        counts = make_counts(rng, kind)
        inv_rows.append([owner, app, function, trigger] + counts)
        dur_rows.append(duration_row(rng, owner, app, function, sum(counts)))
        apps.setdefault(app, owner)
    mem_rows = [memory_row(rng, owner, app) for app, owner in apps.items()]

    write_csv(
        os.path.join(args.out_dir, f"invocations_per_function_md.anon.{day}.csv"),
        ["HashOwner", "HashApp", "HashFunction", "Trigger"] + [str(m) for m in range(1, MINUTES + 1)],
        inv_rows,
    )
    write_csv(
        os.path.join(args.out_dir, f"function_durations_percentiles.anon.{day}.csv"),
        ["HashOwner", "HashApp", "HashFunction", "Average", "Count", "Minimum", "Maximum"]
        + [f"percentile_Average_{p}" for p in (0, 1, 25, 50, 75, 99, 100)],
        dur_rows,
    )
    write_csv(
        os.path.join(args.out_dir, f"app_memory_percentiles.anon.{day}.csv"),
        ["HashOwner", "HashApp", "SampleCount", "AverageAllocatedMb"]
        + [f"AverageAllocatedMb_pct{p}" for p in (1, 5, 25, 50, 75, 95, 99, 100)],
        mem_rows,
    )
    write_2021(rng, args.seed, os.path.join(args.out_dir, "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt"),
               args.invocations_2021)


if __name__ == "__main__":
    main()
