#!/usr/bin/env python3
"""A simple Python reference for `waqiti replay`, the peer the replay bench compares against.

Same input (JSON Lines from `waqiti simulate`), same three velocity features with the same
semantics (event time, window (t - W, t], current event included, late events counted where they
belong, a repeated payment_id counted once), and three rules in the spirit of rules/default.rules.
Written the way a data scientist would write it: json.loads per line, a deque per key, no tricks.

    python3 bench/reference/replay.py --input events.jsonl --decisions-out decisions.jsonl

Prints one JSON object on stdout: events, seconds (wall), cpu_seconds, events_per_second, peak_rss_kib, outcomes.
"""
import argparse
import bisect
import calendar
import collections
import json
import resource
import sys
import time

HOUR = 3_600_000
DAY = 24 * HOUR


def parse_time(value):
    """RFC 3339 with milliseconds and Z (what the simulator writes), or epoch milliseconds."""
    if isinstance(value, int):
        return value
    # 2026-11-01T00:00:00.000Z

    date, clock = value.rstrip("Z").split("T")
    year, month, day = (int(x) for x in date.split("-"))
    hh, mm, rest = clock.split(":")
    seconds, _, millis = rest.partition(".")
    epoch = calendar.timegm((year, month, day, int(hh), int(mm), int(seconds)))
    return epoch * 1000 + int((millis or "0").ljust(3, "0")[:3])


class Window:
    """One key's events of one window length, kept sorted by time (late events inserted in place)."""

    __slots__ = ("times", "amounts")

    def __init__(self):
        self.times = []
        self.amounts = []

    def add(self, t, amount):
        if not self.times or t >= self.times[-1]:
            self.times.append(t)
            self.amounts.append(amount)
        else:
            i = bisect.bisect_right(self.times, t)
            self.times.insert(i, t)
            self.amounts.insert(i, amount)

    def evict(self, horizon):
        i = bisect.bisect_right(self.times, horizon)
        if i:
            del self.times[:i]
            del self.amounts[:i]

    def count_sum(self, t, width):
        lo = bisect.bisect_right(self.times, t - width)
        hi = bisect.bisect_right(self.times, t)
        return hi - lo, sum(self.amounts[lo:hi])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--decisions-out")
    parser.add_argument("--lateness-ms", type=int, default=5 * 60_000)
    args = parser.parse_args()

    cards = collections.defaultdict(Window)
    accounts = collections.defaultdict(Window)
    seen = set()
    newest = {}
    outcomes = collections.Counter()
    out = open(args.decisions_out, "w") if args.decisions_out else None
    started = time.perf_counter()
    cpu_started = time.process_time()
    events = 0
    with open(args.input, "rb") as source:
        for line in source:
            if not line.strip():
                continue
            event = json.loads(line)
            events += 1
            t = parse_time(event["occurred_at"])
            card, account = event["card_fingerprint"], event["account_id"]
            amount = event["amount_minor"]
            pid = event["payment_id"]
            if pid not in seen:
                seen.add(pid)
                for key, windows, width in ((("c", card), cards, HOUR), (("a", account), accounts, DAY)):
                    latest = newest.get(key, t)
                    if t >= latest - args.lateness_ms:
                        windows[key[1]].add(t, amount)
                        newest[key] = max(latest, t)
                        windows[key[1]].evict(newest[key] - width - args.lateness_ms)
            card_count, card_sum = cards[card].count_sum(t, HOUR)
            account_count, _ = accounts[account].count_sum(t, DAY)
            reasons = []
            if card_count >= 5 and amount < 500:
                reasons.append(("card_testing", "decline"))
            if card_sum >= 100_000:
                reasons.append(("card_spend_1h", "review"))
            if account_count >= 20:
                reasons.append(("high_velocity_account", "review"))
            outcome = "decline" if any(a == "decline" for _, a in reasons) else ("review" if reasons else "approve")
            outcomes[outcome] += 1
            if out:
                out.write(json.dumps({
                    "payment_id": pid, "decision": outcome,
                    "features": {"count(card_fingerprint,1h)": card_count, "sum(amount_minor,card_fingerprint,1h)": card_sum,
                                 "count(account_id,24h)": account_count},
                    "reasons": [r for r, _ in reasons],
                }, separators=(",", ":")) + "\n")
    if out:
        out.close()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    print(json.dumps({
        "events": events, "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3), "events_per_second": round(events / seconds) if seconds else 0,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "outcomes": dict(outcomes),
    }))


if __name__ == "__main__":
    sys.exit(main())
