#!/usr/bin/env python3
"""Write seeded CloudWatch Logs of Lambda functions, in the shapes people export them.

The log is what Lambda writes for a function under its documented rules: one log stream per execution environment
(`YYYY/MM/DD/[$LATEST]<32 hex>`, or `YYYY/MM/DD/<function>[$LATEST]<32 hex>` in a log group shared by several
functions); a cold start logs INIT_START, then START once init is done; every invocation logs START, the handler's
lines, END and REPORT (Duration, Billed Duration, Memory Size, Max Memory Used, and Init Duration on a cold start);
a timeout logs "Task timed out after N.NN seconds" and a REPORT with `Status: timeout`. Traffic is Poisson with a
rate that rises and falls; an idle environment is reclaimed after 5-7 minutes (a uniform draw, the measured
behaviour lambda-sim also models); a request finding no idle environment starts a new one. Requests come in bursts
(a burst every few minutes on average, a handful of requests within a second, busier in some hours than others), so
a burst meets as many cold starts as it outgrows the warm environments, and a long gap reclaims them all.

Some damage, as real exports have it, with --damage: a few lines cut short, a few REPORTs missing (the runtime was
killed), a few unrelated lines.

Formats (--format):
  text      the lines of an S3 export / `aws logs tail --format short`-like text: `<ISO time> <message>`
  tail      `aws logs tail`: `<ISO time> <log stream> <message>`
  json      `aws logs filter-log-events` output: {"events": [{"logStreamName", "timestamp", "message", ...}]}
  insights  the CSV a CloudWatch Logs Insights query exports from the console:
            `fields @timestamp, @logStream, @message | sort @timestamp asc` → "@timestamp","@logStream","@message"
  platform  text lines whose messages are Lambda's JSON log format (LoggingConfig LogFormat=JSON): platform.start,
            platform.report, platform.initStart records

Usage: scripts/make-lambda-logs.py OUT_FILE [--function NAME ...] [--invocations N] [--format F] [--seed N]
       [--damage] [--shared-group]
The committed fixtures are:
  scripts/make-lambda-logs.py tests/fixtures/logs/orders.log --function orders --invocations 1000 --damage
  scripts/make-lambda-logs.py tests/fixtures/logs/shared.json --format json --shared-group \
      --function checkout --function search --invocations 250 --seed 2
"""

import argparse
import heapq
import json
import math
import random
import time

START_EPOCH = 1_764_547_200.0  # 2025-12-01T00:00:00Z


def iso(t):
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


class Function:
    def __init__(self, name, rng, total):
        self.name = name
        self.memory = rng.choice([256, 512, 1024])
        self.timeout = 2.0
        self.duration_median = rng.uniform(0.2, 0.6)
        self.init_median = rng.uniform(0.18, 0.45)
        self.rate = total  # invocations wanted


def simulate(fn, rng, span, shared_group):
    """Yields (time, stream, message) of one function, in no particular order."""
    envs = []
    burst_mean = 6.0
    burst_rate = fn.rate / burst_mean / span
    arrivals = []
    b = 0.0
    while len(arrivals) < fn.rate:
        # Bursts: more often in some hours than in others.
        rate = burst_rate * (1.0 + 0.9 * math.sin(2 * math.pi * b / 7200.0))
        b += rng.expovariate(max(rate, burst_rate * 0.05))
        k = 1 + int(rng.expovariate(1.0 / (burst_mean - 1.0)))
        arrivals.extend(b + rng.uniform(0.0, 1.0) for _ in range(k))
    arrivals = sorted(arrivals)[: fn.rate]
    n = 0
    day = time.strftime("%Y/%m/%d", time.gmtime(START_EPOCH))
    for t in arrivals:
        n += 1
        # Environments: (free from, reclaimed at, stream); one is usable when free and not yet reclaimed.
        envs = [e for e in envs if e[1] > t]
        usable = sorted(e for e in envs if e[0] <= t)
        if usable:
            chosen = usable[-1]  # the most recently freed
            envs.remove(chosen)
            stream = chosen[2]
            init = None
            begin = t
        else:
            prefix = f"{fn.name}" if shared_group else ""
            stream = f"{day}/{prefix}[$LATEST]{rng.getrandbits(128):032x}"
            init = rng.lognormvariate(math.log(fn.init_median), 0.25)
            yield (t, stream, "INIT_START Runtime Version: python:3.12.v36\tRuntime Version ARN: "
                   "arn:aws:lambda:us-east-1::runtime:0e7ab4d8e9e3b0a1f53fd5e13ec88a5b1d96b1c1b1f5f8b4a2fc1f93a8d1e2b7")
            begin = t + init
        rid = uuid(rng)
        duration = rng.lognormvariate(math.log(fn.duration_median), 0.6)
        status = None
        if duration >= fn.timeout:
            duration = fn.timeout
            status = "timeout"
        end = begin + duration
        yield (begin, stream, f"START RequestId: {rid} Version: $LATEST")
        yield (begin + duration / 2, stream, f"{iso(START_EPOCH + begin + duration / 2)}\t{rid}\tINFO\thandled order {n}")
        if status == "timeout":
            yield (end, stream, f"{iso(START_EPOCH + end)} {rid} Task timed out after {fn.timeout:.2f} seconds")
        yield (end, stream, f"END RequestId: {rid}")
        billed = math.ceil((duration + (init or 0.0)) * 1000)
        used = int(40 + fn.memory * rng.uniform(0.05, 0.15))
        report = (f"REPORT RequestId: {rid}\tDuration: {duration * 1000:.2f} ms\tBilled Duration: {billed} ms\t"
                  f"Memory Size: {fn.memory} MB\tMax Memory Used: {used} MB\t")
        if init is not None:
            report += f"Init Duration: {init * 1000:.2f} ms\t"
        if status:
            report += f"Status: {status}\t"
        yield (end, stream, report)
        envs.append((end, end + rng.uniform(300.0, 420.0), stream))


def platform_json(message, t, fn):
    """The message as Lambda's JSON log format writes it, or None for a line it writes unchanged."""
    when = iso(START_EPOCH + t)
    if message.startswith("START RequestId: "):
        rid = message.split()[2]
        return json.dumps({"time": when, "type": "platform.start", "record": {"requestId": rid, "version": "$LATEST"}})
    if message.startswith("INIT_START"):
        return json.dumps({"time": when, "type": "platform.initStart", "record": {
            "initializationType": "on-demand", "phase": "init", "runtimeVersion": "python:3.12.v36",
            "functionName": fn, "functionVersion": "$LATEST"}})
    if message.startswith("REPORT RequestId: "):
        fields = dict(f.split(": ", 1) for f in message.rstrip("\t").split("\t"))
        metrics = {
            "durationMs": float(fields["Duration"].split()[0]),
            "billedDurationMs": int(fields["Billed Duration"].split()[0]),
            "memorySizeMB": int(fields["Memory Size"].split()[0]),
            "maxMemoryUsedMB": int(fields["Max Memory Used"].split()[0]),
        }
        if "Init Duration" in fields:
            metrics["initDurationMs"] = float(fields["Init Duration"].split()[0])
        return json.dumps({"time": when, "type": "platform.report", "record": {
            "requestId": fields["REPORT RequestId"], "metrics": metrics, "status": fields.get("Status", "success")}})
    if message.startswith("END RequestId"):
        return None
    return message


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--function", action="append", dest="functions")
    ap.add_argument("--invocations", type=int, default=1000, help="per function")
    ap.add_argument("--span", type=float, default=None, help="seconds of traffic (default: 20 s per invocation)")
    ap.add_argument("--format", choices=["text", "tail", "json", "platform", "insights"], default="text")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--damage", action="store_true")
    ap.add_argument("--shared-group", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    names = args.functions or ["orders"]
    span = args.span or 20.0 * args.invocations
    events = []
    for name in names:
        fn = Function(name, rng, args.invocations)
        events.extend((t, i, s, m, name) for i, (t, s, m) in enumerate(simulate(fn, rng, span, args.shared_group)))
    events.sort(key=lambda e: (e[0], e[1], e[4]))

    out = open(args.out, "w")
    if args.format == "json":
        out.write('{\n    "events": [\n')
    if args.format == "insights":
        out.write("@timestamp,@logStream,@message\n")
    first = True
    for t, _, stream, message, fn in events:
        if args.damage:
            r = rng.random()
            if r < 0.002 and message.startswith("REPORT"):
                continue  # the runtime was killed: no REPORT
            if r < 0.003:
                message = message[: len(message) // 2]  # a line cut short
            elif r < 0.004:
                out.write("garbage that is not a Lambda log line\n")
        if args.format == "platform":
            message = platform_json(message, t, fn)
            if message is None:
                continue
        when = iso(START_EPOCH + t)
        if args.format == "text":
            out.write(f"{when} {message}\n")
        elif args.format == "tail":
            out.write(f"{when} {stream} {message}\n")
        elif args.format == "platform":
            out.write(f"{when} {message}\n")
        elif args.format == "insights":
            quoted = '"' + message.replace('"', '""') + '"'
            out.write(f"{when.replace('T', ' ').rstrip('Z')},{stream},{quoted}\n")
        else:
            event = {"logStreamName": stream, "timestamp": int(round((START_EPOCH + t) * 1000)),
                     "message": message + "\n", "ingestionTime": int(round((START_EPOCH + t) * 1000)) + 700,
                     "eventId": "%056d" % rng.getrandbits(150)}
            out.write(("" if first else ",\n") + "        " + json.dumps(event))
            first = False
    if args.format == "json":
        out.write('\n    ],\n    "searchedLogStreams": []\n}\n')
    out.close()


if __name__ == "__main__":
    main()
