#!/usr/bin/env python3
"""temp_rise_ref.py -- what examples/temp_rise.c must output, computed directly from the
input (no Flint code).

    temp_rise_ref.py --input FILE [--interval-ms 1000] [--out-of-orderness-ms 5000]

Prints "<TAB>sensor,timer_ts" lines (the "SUBDIR<TAB>LINE" form of outdir.py).

Model: readings in input order under the watermarks and the timer service of evtime.py.
Per sensor: a reading higher than the previous one (in arrival order) with no timer pending
registers a timer at its timestamp + interval; a reading not higher (or the first) deletes
the pending timer; a firing timer outputs the alert and leaves nothing pending. The
previous temperature is always the last reading's.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evtime  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--interval-ms", type=int, default=1000)
    ap.add_argument("--out-of-orderness-ms", type=int, default=5000)
    a = ap.parse_args()

    last, pending, out = {}, {}, []
    timers = evtime.Timers()

    def on_element(rec, wm):
        ts, sensor, temp = rec
        prev = last.get(sensor)
        last[sensor] = temp
        if prev is None or not temp > prev:
            if sensor in pending:
                timers.delete(sensor, pending.pop(sensor))
        elif sensor not in pending:
            pending[sensor] = ts + a.interval_ms
            timers.register(sensor, ts + a.interval_ms)

    def on_timer(sensor, ns, ts):
        out.append("\t%s,%d\n" % (sensor, ts))
        pending.pop(sensor, None)

    records = []
    for line in evtime.read_lines(a.input):
        sensor, temp, ts = line.split(",")
        records.append((int(ts), sensor, float(temp)))
    evtime.run_keyed(records, a.out_of_orderness_ms, on_element, on_timer, timers)
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
