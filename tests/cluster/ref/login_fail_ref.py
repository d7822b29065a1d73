#!/usr/bin/env python3
"""login_fail_ref.py -- what examples/login_fail.c must output, computed directly from the
input (no Flint code).

    login_fail_ref.py --input FILE

Prints "<TAB>user,ts1,ts2,ts3" lines (the "SUBDIR<TAB>LINE" form of outdir.py): for each
user, in the user's order of events, every run of three consecutive failures with no
success between them (overlapping: fails f1 f2 f3 f4 give (f1,f2,f3) and (f2,f3,f4)).
Watermarks do not matter: there are no timers, and each user's events are in event-time
order.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evtime  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    a = ap.parse_args()
    per_user = {}
    for line in evtime.read_lines(a.input):
        user, _, status, ts = line.split(",")
        per_user.setdefault(user, []).append((status, int(ts)))
    out = []
    for user, events in per_user.items():
        run = []
        for status, ts in events:
            if status != "fail":
                run = []
                continue
            run.append(ts)
            if len(run) >= 3:
                out.append("\t%s,%d,%d,%d\n" % (user, run[-3], run[-2], run[-1]))
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
