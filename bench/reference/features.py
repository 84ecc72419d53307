#!/usr/bin/env python3
"""Reference implementation of the six benchmark features, for `waqiti-bench features`.

Plain Python, one sorted list per key (appends at the end, expiry from the front, bisect for late
events), the same semantics as docs/features.md: event time, window (t - W, t], per-key lateness,
redelivery dedup among equal-time entries, expiry, key eviction. Prints "<wall s> <CPU s> <checksum>"
(time of the processing loop only; parsing the file is not timed),
the checksum being the sum of every non-missing feature value in event order, so the Swift store's
values can be checked against it.

Usage: python3 bench/reference/features.py EVENTS.jsonl
"""
import json
import sys
import time
from bisect import bisect_left, bisect_right
from datetime import datetime

MINUTE = 60_000
HOUR = 60 * MINUTE
LATENESS = 5 * MINUTE
HORIZON = 24 * HOUR  # the longest window of the plan
RETENTION = HORIZON + LATENESS
EVICT_AFTER = RETENTION + LATENESS

# key -> features (kind, field, window ms); the order of FeaturesBench.sixFeatures
GROUPS = [
    ("card_fingerprint", [(0, "count", None, 10 * MINUTE), (1, "sum", "amount_minor", HOUR)]),
    ("account_id", [(2, "avg", "amount_minor", HOUR), (3, "max", "amount_minor", 24 * HOUR), (4, "distinct", "ip", HOUR)]),
    ("device_id", [(5, "seconds_since_last", None, HORIZON)]),
]


def millis(text):
    """RFC 3339 with milliseconds (or epoch ms) to epoch milliseconds."""
    if isinstance(text, int):
        return text
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


class KeyWindow:
    __slots__ = ("times", "entries", "newest")

    def __init__(self):
        self.times = []
        self.entries = []  # (time, payment_id, amount_minor, ip)
        self.newest = None


def main(path):
    events = []
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            events.append((millis(e["occurred_at"]), e["payment_id"], e["amount_minor"], e["ip"],
                           e["card_fingerprint"], e["account_id"], e["device_id"]))
    key_index = {"card_fingerprint": 4, "account_id": 5, "device_id": 6}
    start = time.perf_counter()
    cpu_start = time.process_time()
    tables = [dict() for _ in GROUPS]
    store_newest = None
    checksum = 0.0
    row = [0.0] * 6
    for event in events:
        t, pid = event[0], event[1]
        store_newest = t if store_newest is None or t > store_newest else store_newest
        for g, (key_field, features) in enumerate(GROUPS):
            key = event[key_index[key_field]]
            table = tables[g]
            w = table.get(key)
            if w is not None and w.newest < store_newest - EVICT_AFTER:
                w = None
            if w is None:
                w = KeyWindow()
                table[key] = w
            times, entries = w.times, w.entries
            late = w.newest is not None and t < w.newest - LATENESS
            duplicate = False
            if not late:
                for j in range(bisect_left(times, t), bisect_right(times, t)):
                    if entries[j][1] == pid:
                        duplicate = True
                        break
            if not late and not duplicate:
                pos = bisect_right(times, t)
                times.insert(pos, t)
                entries.insert(pos, (t, pid, event[2], event[3]))
                if w.newest is None or t > w.newest:
                    w.newest = t
                cut = bisect_right(times, w.newest - RETENTION)
                if cut:
                    del times[:cut]
                    del entries[:cut]
            hi = bisect_right(times, t)
            for column, kind, field, window in features:
                lo = bisect_right(times, t - window)
                if kind == "count":
                    value = hi - lo
                elif kind == "sum":
                    value = sum(entries[j][2] for j in range(lo, hi))
                elif kind == "avg":
                    value = sum(entries[j][2] for j in range(lo, hi)) / (hi - lo) if hi > lo else None
                elif kind == "max":
                    value = max(entries[j][2] for j in range(lo, hi)) if hi > lo else None
                elif kind == "distinct":
                    value = len({entries[j][3] for j in range(lo, hi)})
                else:  # seconds_since_last: the latest entry strictly before t
                    j = bisect_left(times, t) - 1
                    value = (t - times[j]) // 1000 if j >= lo else None
                row[column] = value
        for value in row:
            if value is not None:
                checksum += value
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"{elapsed:.3f} {cpu:.3f} {checksum!r}")


if __name__ == "__main__":
    main(sys.argv[1])
