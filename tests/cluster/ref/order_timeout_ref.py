#!/usr/bin/env python3
"""order_timeout_ref.py -- what examples/order_timeout.c must output, computed directly from
the input (no Flint code).

    order_timeout_ref.py --input FILE [--timeout-ms 900000] [--out-of-orderness-ms 5000]

Prints "<TAB>order_id,paid,pay_ts" (main output) and "timeout/<TAB>order_id,timeout,
create_ts" (side output) lines (the "SUBDIR<TAB>LINE" form of outdir.py).

Model: events in input order under the watermarks and timers of evtime.py. Per order: a
create registers a timer at create_ts + timeout; a pay with the create seen decides at once
(paid if pay_ts - create_ts <= timeout, else timeout) and deletes the timer; a pay before
its create waits, and the create then decides at once; the timer decides "timeout" for a
create still unpaid. A decided order's state is forgotten.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evtime  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--timeout-ms", type=int, default=900000)
    ap.add_argument("--out-of-orderness-ms", type=int, default=5000)
    a = ap.parse_args()

    seen, out = {}, []  # order -> {"create": ts, "pay": ts}
    timers = evtime.Timers()

    def decide(oid, s):
        if "pay" in s and s["pay"] - s["create"] <= a.timeout_ms:
            out.append("\t%s,paid,%d\n" % (oid, s["pay"]))
        else:
            out.append("timeout/\t%s,timeout,%d\n" % (oid, s["create"]))
        del seen[oid]

    def on_element(rec, wm):
        ts, oid, event = rec
        s = seen.setdefault(oid, {})
        if event in s:
            return  # a second create or pay: ignored
        s[event] = ts
        if event == "create":
            if "pay" in s:
                decide(oid, s)
            else:
                timers.register(oid, ts + a.timeout_ms)
        elif "create" in s:
            timers.delete(oid, s["create"] + a.timeout_ms)
            decide(oid, s)

    def on_timer(oid, ns, ts):
        s = seen.get(oid)
        if s and "create" in s and "pay" not in s:
            decide(oid, s)

    records = []
    for line in evtime.read_lines(a.input):
        oid, event, ts = line.split(",")
        records.append((int(ts), oid, event))
    evtime.run_keyed(records, a.out_of_orderness_ms, on_element, on_timer, timers)
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
