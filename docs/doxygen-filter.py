#!/usr/bin/env python3
"""doxygen-filter.py -- Doxygen's INPUT_FILTER for include/flint/*.h (make docs).

The public headers are written with plain C comments, for people reading the headers; this
filter shows Doxygen the same comments as documentation, without changing the headers:
the file's first comment becomes its @file text, a comment on lines of its own documents
what follows it, a comment after code on the same line documents that member (/**< */).
Section rules (/* ---- name ---- */) stay plain comments. The line count is kept, so
Doxygen's line numbers are the header's.
"""
import re
import sys

SECTION = re.compile(r"^\s*/\* -{2,}")
# <placeholder> in prose (<dir>/chk-<n>) is not an HTML tag
PLACEHOLDER = re.compile(r"<([A-Za-z][\w. -]*)>")


def prose(text):
    return PLACEHOLDER.sub(r"\\<\1\\>", text)


def main(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = []
    first = True
    in_comment = False
    for line in lines:
        stripped = line.lstrip()
        if in_comment:
            out.append(prose(line))
            if "*/" in line:
                in_comment = False
            continue
        if stripped.startswith("/*") and not stripped.startswith("/**"):
            if SECTION.match(line):
                out.append(line)
            elif first:
                out.append(prose(line.replace("/*", "/** @file", 1)))
                first = False
            else:
                out.append(prose(line.replace("/*", "/**", 1)))
            in_comment = "*/" not in stripped[2:]
            continue
        # a trailing comment after code documents that member
        m = re.match(r"^(\s*[^/\s].*?[;,{])(\s*)/\*(?!\*)(.*)$", line)
        if m and not stripped.startswith("#define") and not stripped.startswith("#include"):
            line = m.group(1) + m.group(2) + "/**<" + prose(m.group(3))
            in_comment = "*/" not in m.group(3)
        out.append(line)
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
