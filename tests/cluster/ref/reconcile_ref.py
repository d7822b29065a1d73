#!/usr/bin/env python3
"""reconcile_ref.py -- what examples/reconcile.c must output, computed directly from the two
inputs (no Flint code).

    reconcile_ref.py --orders FILE --receipts FILE [--wait-ms 5000]
        [--out-of-orderness-ms 5000]

Prints "<TAB>order_id,order_ts,receipt_ts" (matched pairs) and "unmatched/<TAB>LINE" (the
input line of a side left alone) lines (the "SUBDIR<TAB>LINE" form of outdir.py).

Model: a two-input keyed operator. Each input has its own watermarks (evtime.py: input
order, max - out_of_orderness - 1 after each record, +infinity at its end); the operator's
watermark is their minimum, and its timers fire when that minimum advances. Per order id:
the first side to arrive is kept with a timer at its timestamp + wait; the other side,
arriving while it is kept, is matched (pair out, timer deleted, state cleared); the timer
sends what is still kept to "unmatched".

How the two inputs interleave at the operator is up to the network, so the script runs the
model under several interleavings (all orders first, all receipts first, alternating, and
seeded random ones) and fails (exit 2) when they disagree: the generated data must be
such that the result does not depend on it (gen_events.py reconcile makes it so).
"""
import argparse
import collections
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evtime  # noqa: E402


def simulate(orders, receipts, order_of_inputs, wait, ooo):
    """order_of_inputs: a sequence of 0 (next order) / 1 (next receipt)."""
    inputs = (orders, receipts)
    pos = [0, 0]
    gens = [evtime.Watermarks(ooo), evtime.Watermarks(ooo)]
    wms = [evtime.NEG_INF, evtime.NEG_INF]
    wm = evtime.NEG_INF
    kept = {}  # id -> (side, ts, line)
    timers = evtime.Timers()
    out = []

    def on_timer(oid, ns, ts):
        k = kept.pop(oid, None)
        if k:
            out.append("unmatched/\t" + k[2])

    def advance(side, new):
        nonlocal wm
        wms[side] = max(wms[side], new)
        m = min(wms)
        if m > wm:
            wm = m
            timers.fire(wm, on_timer)

    for side in order_of_inputs:
        ts, oid, line = inputs[side][pos[side]]
        pos[side] += 1
        k = kept.get(oid)
        if k and k[0] != side:
            del kept[oid]
            o_ts, r_ts = (ts, k[1]) if side == 0 else (k[1], ts)
            out.append("\t%s,%d,%d" % (oid, o_ts, r_ts))
            timers.delete(oid, k[1] + wait)
        else:
            kept[oid] = (side, ts, line)
            timers.register(oid, ts + wait)
        gens[side].on_event(ts)
        advance(side, gens[side].current())
        if pos[side] == len(inputs[side]):
            advance(side, evtime.POS_INF)
    for side in (0, 1):  # an empty input ends at once
        if not inputs[side]:
            advance(side, evtime.POS_INF)
    return collections.Counter(out)


def read(path, only_pay):
    recs = []
    for line in evtime.read_lines(path):
        oid, field, ts = line.split(",")
        if only_pay and field != "pay":
            continue
        recs.append((int(ts), oid, line))
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", required=True)
    ap.add_argument("--receipts", required=True)
    ap.add_argument("--wait-ms", type=int, default=5000)
    ap.add_argument("--out-of-orderness-ms", type=int, default=5000)
    a = ap.parse_args()
    orders, receipts = read(a.orders, True), read(a.receipts, False)
    no, nr = len(orders), len(receipts)

    interleavings = {
        "orders first": [0] * no + [1] * nr,
        "receipts first": [1] * nr + [0] * no,
        "alternating": [s for i in range(max(no, nr)) for s, n in ((0, no), (1, nr)) if i < n],
    }
    for seed in range(3):
        mix = [0] * no + [1] * nr
        random.Random(seed).shuffle(mix)
        interleavings["random %d" % seed] = mix
    results = {name: simulate(orders, receipts, seq, a.wait_ms, a.out_of_orderness_ms)
               for name, seq in interleavings.items()}
    first_name, first = next(iter(results.items()))
    for name, r in results.items():
        if r != first:
            diff = sorted((first - r) + (r - first))[:5]
            sys.exit("reconcile_ref.py: the result depends on how the inputs interleave "
                     "(%s vs %s differ in %s): the data is not fit for an exact test"
                     % (first_name, name, diff))
    sys.stdout.write("".join(line + "\n" for line in sorted(first.elements())))
    sys.exit(0)


if __name__ == "__main__":
    main()
