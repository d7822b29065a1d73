#!/usr/bin/env python3
"""gen_text.py -- deterministic test text for the word-count tests and benchmarks.

    gen_text.py [--seed N] [--bytes N] [--vocab N] OUT

Writes about --bytes bytes of lines to OUT; the same arguments always give the same file.
Words come from a vocabulary of --vocab random tokens of ASCII letters and digits drawn with
Zipf-like weights (1/rank^1.07), and are written in mixed case (lower, Title, UPPER,
random). Between words: spaces, tabs and punctuation, sometimes a UTF-8 letter (its bytes
are not word characters, so "caf\u00e9" holds the word "caf"), apostrophes and hyphens
("don't" is two words, "x-ray" too). Some lines are empty, some end in \\r\\n. No word is
longer than 20 characters. Standard library only.
"""
import argparse
import itertools
import random

SEPS = [b" "] * 30 + [b"  ", b"\t", b", ", b". ", b"; ", b": ", b"! ", b"? ", b" - ", b" (",
        b") ", b'"', b"'", b"-", b"/", b"...", b" \xc3\xa9", b"\xe2\x80\x94", b"_", b"*"]
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def vocabulary(rng, n):
    words, seen = [], set()
    while len(words) < n:
        length = min(20, max(1, int(rng.expovariate(1 / 5.5)) + 1))
        if rng.random() < 0.85:
            w = "".join(rng.choice(ALNUM[:26]) for _ in range(length))
        else:
            w = "".join(rng.choice(ALNUM) for _ in range(length))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def spellings(rng, w):
    """The ways a word is written: lower, Title, UPPER and one random mix."""
    mixed = "".join(c.upper() if rng.random() < 0.5 else c for c in w)
    return [w.encode(), w.capitalize().encode(), w.upper().encode(), mixed.encode()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--bytes", type=int, default=4 << 20)
    ap.add_argument("--vocab", type=int, default=20000)
    ap.add_argument("out")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    words = vocabulary(rng, a.vocab)
    forms = [spellings(rng, w) for w in words]
    cum = list(itertools.accumulate(1.0 / (r + 1) ** 1.07 for r in range(len(words))))
    case_cum = [0.80, 0.92, 0.97, 1.0]
    written = 0
    with open(a.out, "wb") as f:
        while written < a.bytes:
            chunk = []
            for _ in range(2000):
                n = rng.randint(0, 14)
                if n == 0:
                    chunk.append(b"\r\n" if rng.random() < 0.3 else b"\n")
                    continue
                idx = rng.choices(range(len(words)), cum_weights=cum, k=n)
                cases = rng.choices(range(4), cum_weights=case_cum, k=n)
                seps = rng.choices(SEPS, k=n + 1)
                parts = [seps[0] if rng.random() < 0.2 else b""]
                for i in range(n):
                    parts.append(forms[idx[i]][cases[i]])
                    parts.append(seps[i + 1] if i + 1 < n else b"")
                if rng.random() < 0.5:
                    parts.append(rng.choice([b".", b"!", b"?", b",", b" "]))
                parts.append(b"\r\n" if rng.random() < 0.05 else b"\n")
                chunk.append(b"".join(parts))
            data = b"".join(chunk)
            f.write(data)
            written += len(data)


if __name__ == "__main__":
    main()
