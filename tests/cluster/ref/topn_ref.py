#!/usr/bin/env python3
"""topn_ref.py -- what examples/topn.c must output, computed directly from the input (no
Flint code).

    topn_ref.py --input FILE [--size-min 60] [--slide-min 5] [--n 3]
        [--out-of-orderness-ms 5000]

Prints "<TAB>window_end_ms,rank,itemId,count" lines (the "SUBDIR<TAB>LINE" form of outdir.py).

Model: pv rows only, timestamp_s * 1000 as event time, watermarks as in evtime.py (input
order, max - out_of_orderness - 1 after every row). A view falls into the sliding windows
[start, start + size) with start = ts - ts mod slide, stepping back by slide while
start > ts - size; a window is late, and skipped, once end - 1 <= the watermark at the
view's arrival (no allowed lateness); so each window counts the views that arrived before
the watermark reached its end - 1. Without lateness every window fires exactly once, and
the per-window top N over those counts (count descending, itemId ascending) is the output.
"""
import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evtime  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--size-min", type=int, default=60)
    ap.add_argument("--slide-min", type=int, default=5)
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--out-of-orderness-ms", type=int, default=5000)
    a = ap.parse_args()
    size, slide = a.size_min * 60000, a.slide_min * 60000

    counts = collections.defaultdict(collections.Counter)  # window end -> item -> count
    wm_gen = evtime.Watermarks(a.out_of_orderness_ms)
    wm = evtime.NEG_INF
    for line in evtime.read_lines(a.input):
        _, item, _, behavior, secs = line.split(",")
        if behavior != "pv":
            continue
        ts = int(secs) * 1000
        start = evtime.window_start(ts, 0, slide)
        while start > ts - size:
            end = start + size
            if end - 1 > wm:
                counts[end][int(item)] += 1
            start -= slide
        wm_gen.on_event(ts)
        wm = max(wm, wm_gen.current())

    out = []
    for end in sorted(counts):
        ranked = sorted(counts[end].items(), key=lambda kv: (-kv[1], kv[0]))
        for rank, (item, n) in enumerate(ranked[:a.n], 1):
            out.append("\t%d,%d,%d,%d\n" % (end, rank, item, n))
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
