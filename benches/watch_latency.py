#!/usr/bin/env python3
"""Latency from an event written to watch's standard input to the alert it causes on
standard output, with events fed at a fixed rate (a live feed, not a replay at full speed).

Usage: benches/watch_latency.py BINARY PROC DAY.jsonl [RATE] [SECONDS]
  DAY.jsonl  events in time order (benches/watch.sh makes one)
  RATE       events per second [5000]; SECONDS how long to feed [20]

An alert's triggering event is the first event whose time is at or after the alert's
`raised` instant (the event itself for an unexpected step or a broken constraint; for a
limit, the first event of any case that moved the event clock past it), so the figure is
the time from writing that event to reading the alert, durable state included.
"""
import bisect, json, subprocess, sys, tempfile, threading, time
from datetime import datetime

binary, proc, day = sys.argv[1:4]
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 5000.0
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 20.0
lines = open(day).read().splitlines()[: int(rate * seconds)]

def when(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

col = None
for k, v in json.loads(lines[0]).items():
    if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] == "T":
        col = k
        break
times = [when(json.loads(l)[col]) for l in lines]
sent = [0.0] * len(lines)
state = tempfile.mkdtemp()
p = subprocess.Popen(
    [binary, "watch", "-p", proc, "--state", state + "/", "--clock", "event"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
)
lat = []

def read():
    for raw in p.stdout:
        got = time.monotonic()
        a = json.loads(raw)
        i = bisect.bisect_left(times, when(a["raised"]))
        if i < len(lines) and sent[i] > 0:
            lat.append(got - sent[i])

t = threading.Thread(target=read)
t.start()
start = time.monotonic()
for i, l in enumerate(lines):
    due = start + i / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    sent[i] = time.monotonic()
    p.stdin.write((l + "\n").encode())
    p.stdin.flush()
elapsed = time.monotonic() - start
p.stdin.close()
p.wait()
t.join()
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1000
print(f"{len(lines)} events fed in {elapsed:.1f} s ({len(lines) / elapsed:,.0f}/s); {len(lat)} alerts")
if lat:
    print(f"event to alert: p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms")
