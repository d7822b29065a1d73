#!/usr/bin/env python3
"""check-guide.py GUIDE SNIPPET_DIR -- the guide's C code is the snippets' code.

Every ```c block of the guide must follow a marker line
    <!-- snippet: FILE [NAME] -->
and equal, line for line, the region of docs/snippets/FILE between two lines
    /* [NAME] */
(the region dedented by its common indentation). Every region must be quoted at least
once, so nothing in the snippets is dead and nothing in the guide is uncompiled. Exit 1,
naming each difference, otherwise silent.
"""
import os
import re
import sys
import textwrap

MARK = re.compile(r"^<!-- snippet: (\S+) \[([\w-]+)\] -->$")
REGION = re.compile(r"^\s*/\* \[([\w-]+)\] \*/\s*$")


def regions(path):
    found, cur, lines = {}, None, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f.read().split("\n"), 1):
            m = REGION.match(line)
            if m and cur is None:
                cur, lines = m.group(1), []
            elif m and m.group(1) == cur:
                found[cur] = textwrap.dedent("\n".join(lines)).strip("\n")
                cur = None
            elif cur is not None:
                lines.append(line)
    if cur is not None:
        raise SystemExit(f"{path}: region [{cur}] is not closed")
    return found


def main(guide, snip_dir):
    snippets = {}
    for name in sorted(os.listdir(snip_dir)):
        if name.endswith(".c"):
            for region, text in regions(os.path.join(snip_dir, name)).items():
                snippets[(name, region)] = text
    errors, quoted = [], set()
    with open(guide, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    pending = None
    while i < len(lines):
        line = lines[i]
        m = MARK.match(line.strip())
        if m:
            pending = (m.group(1), m.group(2), i + 1)
        elif line.strip().startswith("```c"):
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            block = "\n".join(lines[start:j]).strip("\n")
            if pending is None:
                errors.append(f"{guide}:{i + 1}: a C block without a snippet marker")
            else:
                key = pending[:2]
                quoted.add(key)
                if key not in snippets:
                    errors.append(f"{guide}:{pending[2]}: no region [{key[1]}] in "
                                  f"{snip_dir}/{key[0]}")
                elif snippets[key] != block:
                    errors.append(f"{guide}:{i + 1}: differs from {snip_dir}/{key[0]} "
                                  f"[{key[1]}]")
            pending = None
            i = j
        elif line.strip() and pending is not None and not line.strip().startswith("<!--"):
            errors.append(f"{guide}:{pending[2]}: the marker is not followed by a C block")
            pending = None
        i += 1
    for key in sorted(set(snippets) - quoted):
        errors.append(f"{snip_dir}/{key[0]}: region [{key[1]}] is not quoted in {guide}")
    for e in errors:
        print("docs-check: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: check-guide.py GUIDE SNIPPET_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2]))
