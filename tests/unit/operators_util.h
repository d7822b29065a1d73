/* operators_util.h -- what the operator tests (check_operators.c, check_sources_sinks.c)
 * share: operator specs, harness instances opened and closed with their errors checked,
 * records of one int64 or of a key and a value, the subtask a keyBy sends a key to, and a
 * temp directory per test (dirs_up/dirs_down, the tcases' fixture). Header-only (static
 * inline), as testutil.h, so each test binary stays one .c file. */
#ifndef FL_OPERATORS_UTIL_H
#define FL_OPERATORS_UTIL_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "common/api/typed_config.h"
#include "common/keygroup.h"
#include "common/util.h"
#include "tests/harness/harness.h"
#include "testutil.h"

#define MAXP 128

/* ---- specs ------------------------------------------------------------------------- */

typedef struct spec {
    Fl__Pb__OperatorSpec op;
    Fl__Pb__KeySpec key, key2;
    Fl__Pb__WatermarkSpec wm;
    Fl__Pb__WindowSpec win;
} spec;

/* An operator of kind named name running fn (a function of the test binary, found by name). */
static inline spec *spec_new(Fl__Pb__OpKind kind, const char *name, const char *fn)
{
    spec *s = fl_xcalloc(1, sizeof *s);
    fl__pb__operator_spec__init(&s->op);
    fl__pb__key_spec__init(&s->key);
    fl__pb__key_spec__init(&s->key2);
    fl__pb__watermark_spec__init(&s->wm);
    fl__pb__window_spec__init(&s->win);
    s->op.kind = kind;
    s->op.name = (char *)name;
    s->op.uid = (char *)name;
    s->op.fn = (char *)(fn ? fn : "");
    return s;
}

/* The configuration fl_with_config_as(s, int64_t, &v) gives an operator, in buf (which
 * must outlive the spec). */
static inline void set_config_i64(spec *s, uint8_t *buf, int64_t v)
{
    fl_cfg_header h = {.magic = FL_CFG_MAGIC, .size = sizeof v};
    fl_cfg_type_name("int64_t", h.type);
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, &v, sizeof v);
    s->op.config.data = buf;
    s->op.config.len = sizeof h + sizeof v;
}

/* Keyed by the first 4 bytes of the record (both inputs for two-input kinds). */
static inline void keyed(spec *s)
{
    s->key.len = s->key2.len = 4;
    s->op.keyed = true;
    s->op.key = &s->key;
    s->op.key2 = &s->key2;
}

static inline fl_harness *open_h(spec *s, const fl_harness_opts *opts)
{
    fl_err err;
    fl_harness *h = fl_harness_new(&s->op, opts, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    return h;
}

static inline void close_h(fl_harness *h)
{
    ck_assert_int_eq(fl_harness_free(h), 0);
}

#define OK(call) ck_assert_msg((call) == 0, "%s", fl_harness_error(h) ? fl_harness_error(h) : "")

static inline int64_t i64_at(const fl_harness_output *o, int i)
{
    const fl_harness_elem *e = fl_harness_record(o, i);
    int64_t v;
    ck_assert_msg(e != NULL, "no record %d (of %d)", i, o->nrecords);
    ck_assert_uint_eq(e->len, sizeof v);
    memcpy(&v, e->data, sizeof v);
    return v;
}

static inline void push_i64(fl_harness *h, int64_t v, int64_t ts)
{
    OK(fl_harness_process(h, &v, sizeof v, ts));
}

/* A keyed record: key, then a value. */
typedef struct kv {
    uint32_t key;
    int32_t val;
} kv;

static inline kv kv_at(const fl_harness_output *o, int i)
{
    const fl_harness_elem *e = fl_harness_record(o, i);
    kv x;
    ck_assert_msg(e != NULL, "no record %d (of %d)", i, o->nrecords);
    ck_assert_uint_eq(e->len, sizeof x);
    memcpy(&x, e->data, sizeof x);
    return x;
}

/* The subtask of parallelism p that a keyBy sends key to. */
static inline int subtask_of(uint32_t key, int p)
{
    return fl_key_group_subtask(fl_key_group(fl_key_hash(&key, 4), MAXP), p, MAXP);
}

static char base_dir[256];

static inline void dirs_up(void)
{
    tu_mkdtemp(base_dir, sizeof base_dir);
}

static inline void dirs_down(void)
{
    fl_remove_tree(base_dir);
}

static inline void send_kv(fl_harness **hs, int p, uint32_t key, int32_t val, int64_t ts)
{
    kv r = {key, val};
    fl_harness *h = hs[subtask_of(key, p)];
    OK(fl_harness_process(h, &r, sizeof r, ts));
}

/* Opens p instances of s (restored from c when given). */
static inline void open_all(fl_harness **hs, spec *s, int p, const fl_harness_ckpt *c,
                     const char *backend)
{
    for (int i = 0; i < p; i++)
        hs[i] = open_h(s, &(fl_harness_opts){.subtask = i, .parallelism = p,
                                             .max_parallelism = MAXP, .backend = backend,
                                             .restore = c, .failover = c != NULL});
}

static inline void snapshot_all(fl_harness **hs, int p, fl_harness_ckpt *c)
{
    for (int i = 0; i < p; i++) {
        fl_harness *h = hs[i];
        OK(fl_harness_barrier(h, c));
        close_h(h);
    }
}

#endif
