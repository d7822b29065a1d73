#!/usr/bin/env python3
"""include_paths.py -- puts the tree's #include "..." lines in the form the build wants:
only the source root, include/ and the generated code's directory are on the compiler's
-I path, so a header of another folder is included by its path from the source root
(#include "taskmanager/state/keyed.h"), one of the same folder by its name
(#include "internal.h"), a header generated from proto/X.proto as "proto/X.pb-c.h", and
the public API as <flint/...> (unchanged).

    tests/tools/include_paths.py          rewrite the tree (and the Makefile's -I flags)
    tests/tools/include_paths.py --check  change nothing; list what is not in that form

Each quoted include is resolved as the compiler resolved it before: the including file's
own folder first, then the old -I folders in their old order (include, common, jobmanager,
taskmanager, the generated code, the source root). So the script may be run again at any
time (after merging a branch written against the old -I path, say): what is already in
form stays as it is. Every run of quoted includes (consecutive lines) is sorted afterwards,
the file's own header (X.h for X.c) first when it was first. An include that resolves to
nothing is an error: nothing is written then. Run from anywhere; it works on the checkout
it lives in.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OLD_DIRS = ['include', 'common', 'jobmanager', 'taskmanager', None, '']  # None: generated
SKIP = ('include/', 'examples/', 'build/')  # bundles see only include/flint: <flint/...>
INCLUDE = re.compile(r'^(\s*#\s*include\s+)"([^"]+)"(.*)$')
OLD_FLAGS = '-Iinclude -Icommon -Ijobmanager -Itaskmanager -I$(BUILD)/gen -I.'
NEW_FLAGS = '-I. -Iinclude -I$(BUILD)/gen'


def sources():
    out = subprocess.run(['git', '-C', ROOT, 'ls-files', '--cached', '--others',
                          '--exclude-standard', '*.c', '*.h'],
                         check=True, capture_output=True, text=True).stdout.split()
    return sorted(p for p in out if not p.startswith(SKIP) and
                  os.path.exists(os.path.join(ROOT, p)))


def protos():
    d = os.path.join(ROOT, 'proto')
    return {f[:-len('.proto')] for f in os.listdir(d) if f.endswith('.proto')}


def resolve(src, name, gen):
    """The include's file as a path from the root (or 'proto/X.pb-c.h'), or None."""
    here = os.path.dirname(src)
    for d in [here] + OLD_DIRS:
        if d is None:
            base = os.path.basename(name)
            if name.endswith('.pb-c.h') and base[:-len('.pb-c.h')] in gen and \
                    name in (base, 'proto/' + base):
                return 'proto/' + base
            continue
        p = os.path.normpath(os.path.join(d, name))
        if not p.startswith('..') and os.path.isfile(os.path.join(ROOT, p)):
            return p
    return None


def canonical(src, target):
    if target.startswith('proto/') and target.endswith('.pb-c.h'):
        return target
    if os.path.dirname(target) == os.path.dirname(src):
        return os.path.basename(target)
    return target


def sort_runs(src, lines):
    """Sorts each run of consecutive quoted includes; the own header stays first."""
    own = os.path.splitext(os.path.basename(src))[0] + '.h'
    out, i = [], 0
    while i < len(lines):
        if not INCLUDE.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and INCLUDE.match(lines[j]):
            j += 1
        run = lines[i:j]
        first = []
        if src.endswith('.c') and INCLUDE.match(run[0]).group(2) == own:
            first, run = run[:1], run[1:]
        out += first + sorted(run, key=lambda l: INCLUDE.match(l).group(2))
        i = j
    return out


def main():
    check = '--check' in sys.argv[1:]
    gen = protos()
    errors, changed = [], {}
    for src in sources():
        path = os.path.join(ROOT, src)
        with open(path) as f:
            text = f.read()
        lines = text.split('\n')
        for k, line in enumerate(lines):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = resolve(src, m.group(2), gen)
            if target is None:
                errors.append('%s:%d: cannot resolve "%s"' % (src, k + 1, m.group(2)))
                continue
            lines[k] = '%s"%s"%s' % (m.group(1), canonical(src, target), m.group(3))
        new = '\n'.join(sort_runs(src, lines))
        if new != text:
            changed[src] = new
    for e in errors:
        print(e, file=sys.stderr)
    if check:
        for src in sorted(changed):
            print('%s: includes not by path from the source root' % src)
        return 1 if errors or changed else 0
    if errors:
        print('include_paths: nothing written', file=sys.stderr)
        return 1
    for src, new in changed.items():
        with open(os.path.join(ROOT, src), 'w') as f:
            f.write(new)
    mk = os.path.join(ROOT, 'Makefile')
    with open(mk) as f:
        make = f.read()
    if OLD_FLAGS in make:
        make = make.replace(OLD_FLAGS, NEW_FLAGS)
        # generated code: $(BUILD)/gen/proto/X.pb-c.[ch], included as "proto/X.pb-c.h"
        make = make.replace('$(BUILD)/gen/%.pb-c.c,$(PROTOS))',
                            '$(BUILD)/gen/proto/%.pb-c.c,$(PROTOS))')
        make = make.replace('$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto\n'
                            '\t@mkdir -p $(BUILD)/gen\n'
                            '\tprotoc-c --proto_path=proto --c_out=$(BUILD)/gen $<',
                            '$(BUILD)/gen/proto/%.pb-c.c $(BUILD)/gen/proto/%.pb-c.h: '
                            'proto/%.proto\n'
                            '\t@mkdir -p $(BUILD)/gen/proto\n'
                            '\tprotoc-c --proto_path=proto --c_out=$(BUILD)/gen/proto $<')
        with open(mk, 'w') as f:
            f.write(make)
        print('include_paths: Makefile: -I path is %s' % NEW_FLAGS)
    print('include_paths: %d files rewritten' % len(changed))
    return 0


if __name__ == '__main__':
    sys.exit(main())
