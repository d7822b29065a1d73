#!/usr/bin/env python3
"""fraud_ref.py -- what examples/fraud.c must output, computed directly from the input (no
Flint code).

    fraud_ref.py --input FILE [--out-of-orderness-ms 5000]

Prints "<TAB>account,small_ts,large_ts" lines (the "SUBDIR<TAB>LINE" form of outdir.py).

Model: transactions in input order under the watermarks and timers of evtime.py. Per
account, a transaction under 100 cents is remembered, with a timer 60 s after it that
forgets it; the account's next transaction (in arrival order) forgets it too, after
raising an alert when it is over 50000 cents and its timestamp is within
[small_ts, small_ts + 60000]; then, if that transaction is small, it is remembered.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evtime  # noqa: E402

SMALL, LARGE, MINUTE = 100, 50000, 60000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--out-of-orderness-ms", type=int, default=5000)
    a = ap.parse_args()

    small, out = {}, []
    timers = evtime.Timers()

    def on_element(rec, wm):
        ts, account, cents = rec
        if account in small:
            s = small.pop(account)
            if cents > LARGE and s <= ts <= s + MINUTE:
                out.append("\t%s,%d,%d\n" % (account, s, ts))
            timers.delete(account, s + MINUTE)
        if cents < SMALL:
            small[account] = ts
            timers.register(account, ts + MINUTE)

    def on_timer(account, ns, ts):
        small.pop(account, None)

    records = []
    for line in evtime.read_lines(a.input):
        account, cents, ts = line.split(",")
        records.append((int(ts), account, int(cents)))
    evtime.run_keyed(records, a.out_of_orderness_ms, on_element, on_timer, timers)
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
