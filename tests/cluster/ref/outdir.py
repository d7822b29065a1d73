#!/usr/bin/env python3
"""outdir.py -- reads what a job's file sinks wrote, for comparing with a reference.

    outdir.py collect DIR            every line of every part file under DIR, as
                                     "SUBDIR<TAB>LINE" (SUBDIR "" for DIR itself, "late/"
                                     for DIR/late, ...), sorted; fails (exit 1) on a file
                                     that is not a finished part file (part-<job>-<subtask>-<n>)
    outdir.py compare EXPECTED GOT   both files of such lines: equal as multisets? Prints a
                                     one-line summary; on a difference, a few of the lines
                                     missing and extra, and exits 1

The reference scripts (*_ref.py) print the same "SUBDIR<TAB>LINE" form.
"""
import collections
import os
import re
import sys

PART = re.compile(r"part-[0-9a-f]+-[0-9]+-[0-9]+")


def collect(root):
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        sub = "" if rel == "." else rel + "/"
        for name in sorted(filenames):
            if not PART.fullmatch(name):
                sys.exit("outdir.py: unexpected file %s in %s (only part-<job>-<subtask>-<n>)"
                         % (name, dirpath))
            with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                data = f.read()
            if data and not data.endswith("\n"):
                sys.exit("outdir.py: %s/%s does not end with a newline" % (dirpath, name))
            lines.extend(sub + "\t" + line for line in data.split("\n")[:-1])
    lines.sort()
    return lines


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "collect":
        sys.stdout.write("".join(line + "\n" for line in collect(sys.argv[2])))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        exp = collections.Counter(read(sys.argv[2]))
        got = collections.Counter(read(sys.argv[3]))
        per_dir = collections.Counter(line.split("\t", 1)[0] or "main" for line in exp.elements())
        summary = ", ".join("%s %d" % (d.rstrip("/"), n) for d, n in sorted(per_dir.items()))
        if exp == got:
            print("%d lines as the reference (%s)" % (sum(exp.values()), summary or "none"))
            return
        missing, extra = exp - got, got - exp
        print("%d lines, reference %d (%s): %d missing, %d extra"
              % (sum(got.values()), sum(exp.values()), summary, sum(missing.values()),
                 sum(extra.values())))
        for what, c in (("missing", missing), ("extra", extra)):
            for line in sorted(c)[:8]:
                print("  %s%s: %r" % (what, " x%d" % c[line] if c[line] > 1 else "", line))
        sys.exit(1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
