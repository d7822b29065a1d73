#!/usr/bin/env python3
"""word_counts.py -- the reference word count of the cluster tests, independent of Flint.

    word_counts.py FILE > COUNTS

Words are maximal runs of ASCII letters and digits, lower-cased, cut to their first 1024
bytes (the rules of examples/wordcount.c). Prints "word count" per distinct word, sorted.
"""
import collections
import re
import sys

counts = collections.Counter()
with open(sys.argv[1], "rb") as f:
    for m in re.finditer(rb"[A-Za-z0-9]+", f.read()):
        counts[m.group()[:1024].lower()] += 1
out = sys.stdout.buffer
for w in sorted(counts):
    out.write(b"%s %d\n" % (w, counts[w]))
