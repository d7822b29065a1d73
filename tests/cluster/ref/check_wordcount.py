#!/usr/bin/env python3
"""check_wordcount.py -- checks streaming WordCount output against reference counts.

    check_wordcount.py COUNTS PARALLELISM print|file OUTPUT...

COUNTS is word_counts.py's output ("word count" lines). OUTPUT files hold the job's lines
in the order each subtask wrote them (the print sink's share of the TaskManagers' .out
files, or the part files). Checks, for streaming keyBy(word).sum():
  * every line is "word,count", with the print sink's "N> " prefix (1 <= N <= PARALLELISM)
    exactly when it prints with PARALLELISM > 1, and never in part files;
  * every word's counts are exactly 1, 2, ..., N in this order, N its reference count, and
    all of them come from one subtask (one prefix; with part files, one file's subtask);
  * no word is missing, no word is extra.
Prints a one-line summary; exits 1 with the first few differences otherwise.
"""
import re
import sys

counts_path, par, mode, outputs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
expected = {}
with open(counts_path, "rb") as f:
    for line in f:
        w, n = line.split()
        expected[w] = int(n)

line_re = re.compile(rb"^(?:([0-9]+)> )?([a-z0-9]+),([0-9]+)$")
prefixed = mode == "print" and par > 1
seen = {}      # word -> last count
owner = {}     # word -> prefix or part file subtask
errors = []
lines = 0


def err(msg):
    errors.append(msg)
    if len(errors) >= 10:
        report()


def report():
    for e in errors:
        print("  " + e, file=sys.stderr)
    sys.exit(1)


for path in outputs:
    m = re.search(r"part-[0-9a-f]+-([0-9]+)-[0-9]+$", path)
    file_subtask = m.group(1).encode() if mode == "file" and m else None
    with open(path, "rb") as f:
        for raw in f:
            lines += 1
            line = raw.rstrip(b"\n")
            m = line_re.match(line)
            if not m:
                err("%s: malformed line %r" % (path, line[:80]))
                continue
            prefix, word, n = m.group(1), m.group(2), int(m.group(3))
            if prefixed and (prefix is None or not 1 <= int(prefix) <= par):
                err("%s: line %r lacks a prefix 1..%d> (print sink at parallelism %d)"
                    % (path, line, par, par))
            if not prefixed and prefix is not None:
                err("%s: unexpected prefix in %r" % (path, line))
            who = prefix if prefixed else file_subtask
            if owner.setdefault(word, who) != who:
                err("word %r comes from two subtasks: %r and %r" % (word, owner[word], who))
            if n != seen.get(word, 0) + 1:
                err("word %r: count %d follows %d (expected %d)"
                    % (word, n, seen.get(word, 0), seen.get(word, 0) + 1))
            seen[word] = n

for w, n in expected.items():
    if seen.get(w) != n:
        err("word %r: last count %s, reference count %d" % (w, seen.get(w), n))
for w in seen:
    if w not in expected:
        err("word %r is not in the text" % w)
if errors:
    report()
total = sum(expected.values())
if lines != total:
    print("  %d lines for %d words" % (lines, total), file=sys.stderr)
    sys.exit(1)
print("%d words, %d distinct, counts 1..N per word as the reference%s"
      % (total, len(expected), ", %d subtasks" % len(set(owner.values())) if par > 1 else ""))
