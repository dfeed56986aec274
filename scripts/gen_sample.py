#!/usr/bin/env python3
"""Generate data/sample/: a small synthetic clickstream for `statestore run`.

Six files of ten minutes each (2024-05-01 10:00-11:00 UTC), newline-delimited
JSON except one CSV file.  Events arrive out of order (a few seconds of
jitter), about 2% arrive minutes late, about 1% are re-sent duplicates (same
event_id), and three lines are malformed on purpose.  Deterministic (seed 5):
the committed files are what the demo and docs use; CI does not run this.
"""
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "data", "sample")
rng = random.Random(5)
PAGES = ["/", "/search", "/cart", "/checkout", "/product/1", "/product/2",
         "/product/3", "/login", "/help", "/account"]
PAGE_W = [30, 18, 8, 4, 10, 9, 7, 6, 3, 5]
ACTIONS = ["view", "click", "scroll", "purchase"]
ACTION_W = [60, 28, 10, 2]
USERS = ["u%03d" % i for i in range(400)]
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)
PER_FILE = 1500
FIELDS = ["ts", "event_id", "user", "page", "action", "bytes", "latency_ms"]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def main():
    os.makedirs(OUT, exist_ok=True)
    eid = 0
    for f in range(6):
        base = T0 + timedelta(minutes=10 * f)
        rows = []
        for i in range(PER_FILE):
            arrival = base + timedelta(seconds=600.0 * i / PER_FILE)
            ts = arrival - timedelta(seconds=abs(rng.gauss(0, 4)))
            if rng.random() < 0.02:  # late: a phone that was offline
                ts -= timedelta(seconds=rng.uniform(45, 300))
            eid += 1
            page = rng.choices(PAGES, PAGE_W)[0]
            rows.append({
                "ts": iso(ts),
                "event_id": "e%06d" % eid,
                "user": rng.choice(USERS),
                "page": page,
                "action": rng.choices(ACTIONS, ACTION_W)[0],
                "bytes": int(rng.lognormvariate(8, 1)),
                "latency_ms": int(rng.lognormvariate(4, 0.6)),
            })
            if rng.random() < 0.01:  # at-least-once upstream: re-sent
                rows.append(dict(rows[-1]))
        name = "clicks-2024-05-01T%02d%02d" % (10, 10 * f)
        if f == 3:
            with open(os.path.join(OUT, name + ".csv"), "w") as fh:
                fh.write(",".join(FIELDS) + "\n")
                for r in rows:
                    fh.write(",".join(str(r[k]) for k in FIELDS) + "\n")
            continue
        lines = [json.dumps(r, separators=(",", ":")) for r in rows]
        if f == 1:
            lines.insert(200, lines[200][:40])  # truncated write
        if f == 2:
            r = dict(rows[10])
            del r["ts"]
            lines.insert(11, json.dumps(r, separators=(",", ":")))
        if f == 4:
            r = dict(rows[5])
            r["ts"] = "yesterday"
            lines.insert(6, json.dumps(r, separators=(",", ":")))
        with open(os.path.join(OUT, name + ".jsonl"), "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
