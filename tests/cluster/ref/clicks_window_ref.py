#!/usr/bin/env python3
"""clicks_window_ref.py -- what examples/clicks_window.c must output, computed directly from
the input with Flink's WindowOperator semantics (no Flint code).

    clicks_window_ref.py --input FILE [--key user|url] [--mode tumbling|sliding|session]
        [--size-ms N] [--slide-ms N] [--gap-ms N] [--offset-ms N]
        [--out-of-orderness-ms N] [--lateness-ms N]

Prints one line per output line, "DIR<TAB>LINE" with DIR "" for the main output
(key,window_start,window_end,count) and "late/" for the late side output (the input line).

Model (evtime.py for watermarks and timers; Flink's WindowOperator with the EventTimeTrigger):
  * windows: tumbling/sliding start = ts - (ts - offset + size) mod size (Java remainder),
    sliding windows every slide back while start > ts - size; sessions [ts, ts + gap), merged
    when they overlap or touch (TimeWindow.intersects: a.start <= b.end and a.end >= b.start);
  * a window is late when end - 1 + lateness <= watermark: the element skips it; an element
    that skips all its windows and has ts + lateness <= watermark goes to late/;
  * an element added to a window whose end - 1 <= watermark fires it at once with the
    updated count (a late firing); otherwise a timer at end - 1 fires it once;
  * merging deletes the merged windows' timers and registers the new window's (if its
    end - 1 is above the watermark); its count is the sum;
  * a window's state is dropped by its cleanup timer at end - 1 + lateness.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evtime  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--key", default="user", choices=["user", "url"])
    ap.add_argument("--mode", default="tumbling", choices=["tumbling", "sliding", "session"])
    ap.add_argument("--size-ms", type=int, default=10000)
    ap.add_argument("--slide-ms", type=int, default=5000)
    ap.add_argument("--gap-ms", type=int, default=5000)
    ap.add_argument("--offset-ms", type=int, default=0)
    ap.add_argument("--out-of-orderness-ms", type=int, default=5000)
    ap.add_argument("--lateness-ms", type=int, default=0)
    a = ap.parse_args()

    size, lateness = a.size_ms, a.lateness_ms
    slide = a.slide_ms if a.mode == "sliding" else size
    out = []

    def assign(ts):
        if a.mode == "session":
            return [(ts, ts + a.gap_ms)]
        wins = []
        start = evtime.window_start(ts, a.offset_ms, slide)
        while start > ts - size:
            wins.append((start, start + size))
            start -= slide
        return wins

    def max_ts(w):
        return w[1] - 1

    def cleanup(w):
        return w[1] - 1 + lateness

    windows = {}  # key -> {window: count}
    timers = evtime.Timers()

    def emit(key, w, count):
        out.append("\t%s,%d,%d,%d" % (key, w[0], w[1], count))

    def on_element(rec, wm):
        ts, key, line = rec
        wins = windows.setdefault(key, {})
        skipped = True
        for w in assign(ts):
            if a.mode == "session":
                # MergingWindowSet.addWindow: merge w with every window it overlaps or touches
                group = [x for x in wins if x[0] <= w[1] and x[1] >= w[0]]
                if group:
                    merged = (min([w[0]] + [x[0] for x in group]),
                              max([w[1]] + [x[1] for x in group]))
                    if merged != group[0] or len(group) > 1:
                        # the merge function: onMerge, then clear the merged windows
                        if max_ts(merged) > wm:
                            timers.register(key, max_ts(merged), merged)
                        total = 0
                        for x in group:
                            timers.delete(key, max_ts(x), x)
                            timers.delete(key, cleanup(x), x)
                            total += wins.pop(x)
                        wins[merged] = total
                    w = merged
            if cleanup(w) <= wm:  # isWindowLate
                continue
            skipped = False
            wins[w] = wins.get(w, 0) + 1
            if max_ts(w) <= wm:  # EventTimeTrigger.onElement: FIRE
                emit(key, w, wins[w])
            else:
                timers.register(key, max_ts(w), w)
            timers.register(key, cleanup(w), w)
        if skipped and ts + lateness <= wm:
            out.append("late/\t" + line)

    def on_timer(key, w, ts):
        wins = windows.get(key, {})
        if w not in wins:
            return
        if ts == max_ts(w):
            emit(key, w, wins[w])
        if ts == cleanup(w):
            del wins[w]

    records = []
    for line in evtime.read_lines(a.input):
        user, url, ts = line.split(",")
        records.append((int(ts), user if a.key == "user" else url, line))
    evtime.run_keyed(records, a.out_of_orderness_ms, on_element, lambda k, n, t: on_timer(k, n, t),
                     timers)
    sys.stdout.write("".join(line + "\n" for line in out))


if __name__ == "__main__":
    main()
