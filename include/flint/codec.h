/* flint/codec.h -- small helpers for bundle authors, header only (no symbol of Flint's):
 *
 *   text    numbers filling a field of a CSV line exactly, a format function's length, an
 *           integer flag (--name N) with a default and a lower bound;
 *   binary  records with strings and other variable fields: an fl_enc appends fields to a
 *           buffer of yours, an fl_dec reads them back with every length checked (a short
 *           or damaged record makes the decoder bad, never a read past its end).
 *
 * Fixed-size C structs need none of this: memcpy is their serializer (see flint.h).
 * Ownership: an fl_enc writes into your buffer; what an fl_dec returns (strings, bytes)
 * points into the record it reads, valid as long as that record (during the call). Any
 * thread may use these helpers; they keep no state of their own.
 *
 *     uint8_t buf[256];
 *     fl_enc e = fl_enc_init(buf, sizeof buf);
 *     fl_enc_i64(&e, user_id);
 *     fl_enc_str(&e, url, url_len);
 *     if (!e.bad)
 *         fl_emit(out, buf, e.len);
 *     ...
 *     fl_dec d = fl_dec_init(in->data, in->len);
 *     int64_t user = fl_dec_i64(&d);
 *     uint32_t n;
 *     const char *url = fl_dec_str(&d, &n);
 *     if (d.bad) ... (a damaged record)
 */
#ifndef FLINT_CODEC_H
#define FLINT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flint/flint.h>

/* ---- text --------------------------------------------------------------------------- */

/* A decimal integer filling [p, p + n) exactly (an optional '-', digits, no overflow):
 * 0, or -1 (and *out untouched). */
static inline int fl_parse_i64(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0;
    if (n && p[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || n - i > 19)
        return -1;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* A decimal number filling [p, p + n) exactly (strtod's syntax): 0, or -1. */
static inline int fl_parse_f64(const char *p, size_t n, double *out)
{
    char tmp[64], *end;
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    double v = strtod(tmp, &end);
    if (end != tmp + n)
        return -1;
    *out = v;
    return 0;
}

/* What snprintf wrote into a buffer of cap bytes (n: its return value), as a format
 * function (fl_format_fn) returns it. */
static inline uint32_t fl_fmt_len(int n, uint32_t cap)
{
    if (n < 0 || cap == 0)
        return 0;
    return (uint32_t)n < cap ? (uint32_t)n : cap - 1;
}

/* The integer flag --name (dflt when absent) into *out: 0, or -1 after one line on stderr
 * ("prog: --name must be an integer >= min, not 'x'") when it is not an integer >= min. */
static inline int fl_arg_i64(int argc, char **argv, const char *prog, const char *name,
                             int64_t dflt, int64_t min, int64_t *out)
{
    const char *v = NULL; /* as fl_arg finds it, here so that this header needs no symbol */
    for (int i = 1; i + 1 < argc && !v; i++)
        if (argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, name) == 0)
            v = argv[i + 1];
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (fl_parse_i64(v, strlen(v), out) < 0 || *out < min) {
        fprintf(stderr, "%s: --%s must be an integer >= %lld, not '%s'\n", prog, name,
                (long long)min, v);
        return -1;
    }
    return 0;
}

/* ---- binary ------------------------------------------------------------------------- */

typedef struct fl_enc {
    uint8_t *buf;
    uint32_t len, cap;
    bool bad; /* a field did not fit: nothing more is written */
} fl_enc;

static inline fl_enc fl_enc_init(void *buf, uint32_t cap)
{
    fl_enc e = {(uint8_t *)buf, 0, cap, false};
    return e;
}

static inline void fl_enc_bytes(fl_enc *e, const void *p, uint32_t n)
{
    if (e->bad || n > e->cap - e->len) {
        e->bad = true;
        return;
    }
    if (n)
        memcpy(e->buf + e->len, p, n);
    e->len += n;
}

static inline void fl_enc_i64(fl_enc *e, int64_t v)
{
    fl_enc_bytes(e, &v, sizeof v);
}

static inline void fl_enc_f64(fl_enc *e, double v)
{
    fl_enc_bytes(e, &v, sizeof v);
}

/* n bytes (a string need not end in NUL), after their length. */
static inline void fl_enc_str(fl_enc *e, const void *p, uint32_t n)
{
    fl_enc_bytes(e, &n, sizeof n);
    fl_enc_bytes(e, p, n);
}

typedef struct fl_dec {
    const uint8_t *p;
    uint32_t len, pos;
    bool bad; /* a field ran past the end: every later read gives 0 / NULL */
} fl_dec;

static inline fl_dec fl_dec_init(const void *p, uint32_t len)
{
    fl_dec d = {(const uint8_t *)p, len, 0, false};
    return d;
}

/* The next n bytes, in place, or NULL. */
static inline const void *fl_dec_bytes(fl_dec *d, uint32_t n)
{
    if (d->bad || n > d->len - d->pos) {
        d->bad = true;
        return NULL;
    }
    const void *r = d->p + d->pos;
    d->pos += n;
    return r;
}

static inline int64_t fl_dec_i64(fl_dec *d)
{
    int64_t v = 0;
    const void *p = fl_dec_bytes(d, sizeof v);
    if (p)
        memcpy(&v, p, sizeof v);
    return v;
}

static inline double fl_dec_f64(fl_dec *d)
{
    double v = 0;
    const void *p = fl_dec_bytes(d, sizeof v);
    if (p)
        memcpy(&v, p, sizeof v);
    return v;
}

/* A string of fl_enc_str, in place (not NUL-terminated), its length in *n; or NULL. */
static inline const char *fl_dec_str(fl_dec *d, uint32_t *n)
{
    uint32_t len = 0;
    const void *p = fl_dec_bytes(d, sizeof len);
    if (p)
        memcpy(&len, p, sizeof len);
    const char *s = (const char *)fl_dec_bytes(d, len);
    *n = s ? len : 0;
    return s;
}

/* True when the whole record was read and nothing was wrong. */
static inline bool fl_dec_done(const fl_dec *d)
{
    return !d->bad && d->pos == d->len;
}

#endif
