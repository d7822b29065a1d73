/* runtime.c -- the run-time calls of the bundle API (flint.h, state.h, time.h, window.h,
 * streams.h), each forwarded to the table the task runtime installed (runtime.h). The
 * iterators, and the calls that are another call in disguise, are done here. Called by
 * the user's functions on their task's thread; fl_api_install runs once, before.
 */
#include "runtime.h"
#include "common/util.h"
#include "typed_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The installed tables, copied: one load from here to the function. */
static struct {
    bool installed;
    fl_api_ctx_ops ctx;
    fl_api_time_ops time;
    fl_api_state_ops state;
    fl_api_trigger_ops trigger;
} rt;

void fl_api_install(const fl_api_runtime *r)
{
    rt.ctx = *r->ctx;
    rt.time = *r->time;
    rt.state = *r->state;
    rt.trigger = *r->trigger;
    rt.installed = true;
}

static void no_runtime(const char *fn) __attribute__((noreturn, cold));
static void no_runtime(const char *fn)
{
    fprintf(stderr, "flint: %s() was called outside a running task; it belongs in the "
                    "functions Flint calls at run time, not in flint_main\n",
            fn);
    exit(1);
}

/* The tables, or the end of the process when there is no runtime (in the client). */
#define RT (FL_LIKELY(rt.installed) ? &rt : (no_runtime(__func__), &rt))

/* ---- flint.h ---------------------------------------------------------------------- */

void fl_emit(fl_out *out, const void *data, uint32_t len)
{
    RT->ctx.emit(out, data, len);
}

void fl_emit_ts(fl_out *out, const void *data, uint32_t len, int64_t ts)
{
    RT->ctx.emit_ts(out, data, len, ts);
}

int fl_ctx_subtask(const fl_ctx *ctx)
{
    return RT->ctx.subtask(ctx);
}

int fl_ctx_parallelism(const fl_ctx *ctx)
{
    return RT->ctx.parallelism(ctx);
}

int fl_ctx_max_parallelism(const fl_ctx *ctx)
{
    return RT->ctx.max_parallelism(ctx);
}

int fl_ctx_attempt(const fl_ctx *ctx)
{
    return RT->ctx.attempt(ctx);
}

const char *fl_ctx_task_name(const fl_ctx *ctx)
{
    return RT->ctx.task_name(ctx);
}

/* What fl_ctx_config_as hands out when it cannot give the value: zeros of the size asked
 * for (the task is failing already; nothing it does with them is kept). */
static const void *config_zeros(uint32_t size)
{
    static __thread uint8_t *zeros;
    static __thread uint32_t cap;
    if (size > cap) {
        free(zeros);
        cap = size;
        zeros = fl_xcalloc(1, cap);
    }
    return zeros;
}

/* The operator's configuration value after its header, checked against type (and size,
 * unless any_size), its size in *vlen; NULL having failed the task, naming the call. */
static const uint8_t *checked_config(fl_ctx *ctx, const char *type, bool any_size,
                                     uint32_t size, uint32_t *vlen)
{
    uint32_t len = 0;
    const uint8_t *blob = RT->ctx.config(ctx, &len);
    char want[56], call[96];
    fl_cfg_type_name(type, want);
    snprintf(call, sizeof call,
             any_size ? "fl_ctx_config_bytes(ctx, \"%s\")" : "fl_ctx_config_as(ctx, %s)", want);
    fl_cfg_header h;
    if (!blob || len < sizeof h) {
        fl_ctx_fail(ctx, "%s: this operator has no configuration (%s was called on another "
                         "operator, or not at all)",
                    call, any_size ? "fl_with_config_bytes" : "fl_with_config_as");
        return NULL;
    }
    memcpy(&h, blob, sizeof h);
    h.type[sizeof h.type - 1] = 0;
    if (h.magic != FL_CFG_MAGIC || h.size != len - sizeof h || strcmp(h.type, want) != 0 ||
        (!any_size && h.size != size)) {
        if (any_size)
            fl_ctx_fail(ctx, "%s: this operator's configuration is a '%s', not a '%s'", call,
                        h.type, want);
        else
            fl_ctx_fail(ctx, "%s: this operator's configuration is a '%s' of %u bytes, not a "
                             "'%s' of %u bytes",
                        call, h.type, h.size, want, size);
        return NULL;
    }
    *vlen = h.size;
    return blob + sizeof h;
}

const void *fl_ctx_config_typed(fl_ctx *ctx, const char *type, uint32_t size)
{
    uint32_t len = 0;
    const uint8_t *blob = RT->ctx.config(ctx, &len);
    /* the last blob this thread checked, and against which type (the address of the
     * macro's string literal): a function that reads its configuration per record pays
     * one comparison, not the check */
    static __thread const uint8_t *checked_blob;
    static __thread const char *checked_type;
    static __thread uint32_t checked_len;
    if (blob && blob == checked_blob && type == checked_type && len == checked_len &&
        len == sizeof(fl_cfg_header) + size)
        return blob + sizeof(fl_cfg_header);
    uint32_t vlen;
    const uint8_t *v = checked_config(ctx, type, false, size, &vlen);
    if (!v)
        return config_zeros(size);
    checked_blob = blob;
    checked_type = type;
    checked_len = len;
    return v;
}

const void *fl_ctx_config_bytes(fl_ctx *ctx, const char *type, uint32_t *len)
{
    const uint8_t *v = checked_config(ctx, type, true, 0, len);
    if (!v) {
        *len = 0;
        return config_zeros(1);
    }
    return v;
}

void fl_ctx_set_user(fl_ctx *ctx, void *user)
{
    RT->ctx.set_user(ctx, user);
}

void *fl_ctx_user(const fl_ctx *ctx)
{
    return RT->ctx.user(ctx);
}

void fl_ctx_fail(fl_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    RT->ctx.failv(ctx, fmt, ap);
    va_end(ap);
}

const void *fl_ctx_key(const fl_ctx *ctx, uint32_t *len)
{
    return RT->ctx.key(ctx, len);
}

/* ---- typed values: one size check for every typed read ----------------------------- */

/* The read found n bytes where the type has size: fails the task through ctx naming the
 * call and what (a state, a key), zeroes out, false. */
static bool __attribute__((noinline, cold)) wrong_size(fl_ctx *ctx, const char *call,
                                                       const char *what, uint32_t n,
                                                       void *out, uint32_t size)
{
    memset(out, 0, size);
    if (ctx)
        fl_ctx_fail(ctx, "%s on %s: the value has %u bytes, the type %u", call, what,
                    n, size);
    else { /* an iterator not made by the runtime: no task to fail, and no garbage either */
        fprintf(stderr, "flint: %s on %s: the value has %u bytes, the type %u\n", call,
                what, n, size);
        abort();
    }
    return false;
}

/* The same for a state handle s: the message names the state. */
static bool __attribute__((noinline, cold)) state_wrong_size(const void *s, const char *call,
                                                             uint32_t n, void *out,
                                                             uint32_t size)
{
    const char *name = "?";
    fl_ctx *ctx = RT->state.owner(s, &name);
    char what[160];
    snprintf(what, sizeof what, "state '%s'", name);
    return wrong_size(ctx, call, what, n, out, size);
}

/* Copies the value d (n bytes) into out when it is size bytes. Inlined into each typed
 * read, so that the _i64 and _f64 ones copy 8 bytes as a load and a store: per record
 * they cost what the byte form with the caller's memcpy costs (bench/typed_state). */
#define FL_ALWAYS_INLINE static inline __attribute__((always_inline))
FL_ALWAYS_INLINE bool typed_copy(fl_ctx *ctx, const char *call, const char *what,
                                 const void *d, uint32_t n, void *out, uint32_t size)
{
    if (FL_LIKELY(n == size)) {
        memcpy(out, d, size);
        return true;
    }
    return wrong_size(ctx, call, what, n, out, size);
}

FL_ALWAYS_INLINE bool state_copy(const void *s, const char *call, const void *d, uint32_t n,
                                 void *out, uint32_t size)
{
    if (FL_LIKELY(n == size)) {
        memcpy(out, d, size);
        return true;
    }
    return state_wrong_size(s, call, n, out, size);
}

bool fl_ctx_key_typed(fl_ctx *ctx, const char *call, void *out, uint32_t size)
{
    uint32_t n = 0;
    const void *k = RT->ctx.key(ctx, &n);
    if (!k) {
        memset(out, 0, size);
        fl_ctx_fail(ctx, "%s: there is no current key (not a keyed operator)", call);
        return false;
    }
    return typed_copy(ctx, call, "the current key", k, n, out, size);
}

/* ---- flint.h: ValueState ---------------------------------------------------------- */

fl_value_state *fl_ctx_value_state(fl_ctx *ctx, const char *name)
{
    return RT->state.value_state(ctx, name);
}

bool fl_value_get_bytes(fl_value_state *s, const void **data, uint32_t *len)
{
    return RT->state.value_get(s, data, len);
}

void fl_value_put_bytes(fl_value_state *s, const void *data, uint32_t len)
{
    RT->state.value_put(s, data, len);
}

FL_ALWAYS_INLINE bool value_get(fl_value_state *s, const char *call, void *out, uint32_t size)
{
    const void *d;
    uint32_t n;
    if (!RT->state.value_get(s, &d, &n))
        return false;
    return state_copy(s, call, d, n, out, size);
}

bool fl_value_get_typed(fl_value_state *s, const char *call, void *out, uint32_t size)
{
    return value_get(s, call, out, size);
}

bool fl_value_get_i64(fl_value_state *s, int64_t *out)
{
    return value_get(s, "fl_value_get_i64", out, sizeof *out);
}

void fl_value_put_i64(fl_value_state *s, int64_t v)
{
    RT->state.value_put(s, &v, sizeof v);
}

bool fl_value_get_f64(fl_value_state *s, double *out)
{
    return value_get(s, "fl_value_get_f64", out, sizeof *out);
}

void fl_value_put_f64(fl_value_state *s, double v)
{
    RT->state.value_put(s, &v, sizeof v);
}

void fl_value_clear(fl_value_state *s)
{
    RT->state.value_clear(s);
}

/* ---- state.h: iterators ----------------------------------------------------------- */

bool fl_iter_next(fl_iter *it, fl_rec *out)
{
    uint32_t n;
    if (it->end - it->p < 4)
        return false;
    memcpy(&n, it->p, 4);
    if ((uint64_t)(it->end - it->p - 4) < n)
        return false;
    out->data = it->p + 4;
    out->len = n;
    out->ts = FL_NO_TIMESTAMP;
    it->p += 4 + n;
    return true;
}

FL_ALWAYS_INLINE bool iter_next(fl_iter *it, const char *call, void *out, uint32_t size)
{
    fl_rec e;
    if (!fl_iter_next(it, &e))
        return false;
    return typed_copy(it->ctx, call, "an element", e.data, e.len, out, size);
}

bool fl_iter_next_typed(fl_iter *it, const char *call, void *out, uint32_t size)
{
    return iter_next(it, call, out, size);
}

bool fl_iter_next_i64(fl_iter *it, int64_t *out)
{
    return iter_next(it, "fl_iter_next_i64", out, sizeof *out);
}

bool fl_iter_next_f64(fl_iter *it, double *out)
{
    return iter_next(it, "fl_iter_next_f64", out, sizeof *out);
}

/* ---- state.h: ListState ----------------------------------------------------------- */

fl_list_state *fl_ctx_list_state(fl_ctx *ctx, const char *name)
{
    return RT->state.list_state(ctx, name);
}

void fl_list_add_bytes(fl_list_state *s, const void *data, uint32_t len)
{
    RT->state.list_add(s, data, len);
}

void fl_list_add_i64(fl_list_state *s, int64_t v)
{
    RT->state.list_add(s, &v, sizeof v);
}

void fl_list_add_f64(fl_list_state *s, double v)
{
    RT->state.list_add(s, &v, sizeof v);
}

bool fl_list_get(fl_list_state *s, fl_iter *it)
{
    return RT->state.list_get(s, it);
}

void fl_list_update_bytes(fl_list_state *s, const fl_rec *elems, uint32_t n)
{
    RT->state.list_update(s, elems, n);
}

void fl_list_update_fixed(fl_list_state *s, const void *elems, uint32_t size, uint32_t n)
{
    RT->state.list_update_fixed(s, elems, size, n);
}

void fl_list_clear(fl_list_state *s)
{
    RT->state.list_clear(s);
}

/* ---- state.h: MapState ------------------------------------------------------------ */

fl_map_state *fl_ctx_map_state(fl_ctx *ctx, const char *name)
{
    return RT->state.map_state(ctx, name);
}

bool fl_map_get_bytes(fl_map_state *s, const void *key, uint32_t klen, const void **val,
                      uint32_t *vlen)
{
    return RT->state.map_get(s, key, klen, val, vlen);
}

void fl_map_put_bytes(fl_map_state *s, const void *key, uint32_t klen, const void *val,
                      uint32_t vlen)
{
    RT->state.map_put(s, key, klen, val, vlen);
}

FL_ALWAYS_INLINE bool map_get(fl_map_state *s, const void *key, uint32_t klen, const char *call,
                              void *out, uint32_t size)
{
    const void *d;
    uint32_t n;
    if (!RT->state.map_get(s, key, klen, &d, &n))
        return false;
    return state_copy(s, call, d, n, out, size);
}

bool fl_map_get_typed(fl_map_state *s, const void *key, uint32_t klen, const char *call,
                      void *out, uint32_t size)
{
    return map_get(s, key, klen, call, out, size);
}

bool fl_map_get_i64(fl_map_state *s, const void *key, uint32_t klen, int64_t *out)
{
    return map_get(s, key, klen, "fl_map_get_i64", out, sizeof *out);
}

void fl_map_put_i64(fl_map_state *s, const void *key, uint32_t klen, int64_t v)
{
    RT->state.map_put(s, key, klen, &v, sizeof v);
}

bool fl_map_get_f64(fl_map_state *s, const void *key, uint32_t klen, double *out)
{
    return map_get(s, key, klen, "fl_map_get_f64", out, sizeof *out);
}

void fl_map_put_f64(fl_map_state *s, const void *key, uint32_t klen, double v)
{
    RT->state.map_put(s, key, klen, &v, sizeof v);
}

void fl_map_remove(fl_map_state *s, const void *key, uint32_t klen)
{
    RT->state.map_remove(s, key, klen);
}

bool fl_map_contains(fl_map_state *s, const void *key, uint32_t klen)
{
    const void *d;
    uint32_t n;
    return RT->state.map_get(s, key, klen, &d, &n);
}

uint32_t fl_map_size(fl_map_state *s)
{
    return RT->state.map_size(s);
}

bool fl_map_is_empty(fl_map_state *s)
{
    return RT->state.map_size(s) == 0;
}

void fl_map_clear(fl_map_state *s)
{
    RT->state.map_clear(s);
}

void fl_map_iterate(fl_map_state *s, fl_map_iter *it)
{
    RT->state.map_iterate(s, it);
}

bool fl_map_next(fl_map_iter *it)
{
    return RT->state.map_next(it);
}

FL_ALWAYS_INLINE bool map_value(fl_map_iter *it, const char *call, void *out, uint32_t size)
{
    if (!it->value)
        return false;
    return state_copy(it->s, call, it->value, it->vlen, out, size);
}

bool fl_map_value_typed(fl_map_iter *it, const char *call, void *out, uint32_t size)
{
    return map_value(it, call, out, size);
}

bool fl_map_value_i64(fl_map_iter *it, int64_t *out)
{
    return map_value(it, "fl_map_value_i64", out, sizeof *out);
}

bool fl_map_value_f64(fl_map_iter *it, double *out)
{
    return map_value(it, "fl_map_value_f64", out, sizeof *out);
}

void fl_map_iter_remove(fl_map_iter *it)
{
    RT->state.map_iter_remove(it);
}

/* ---- state.h: ReducingState, AggregatingState, TTL -------------------------------- */

fl_reducing_state *fl_ctx_reducing_state(fl_ctx *ctx, const char *name, fl_reduce_fn fn)
{
    return RT->state.reducing_state(ctx, name, fn);
}

void fl_reducing_add(fl_reducing_state *s, const void *data, uint32_t len)
{
    RT->state.reducing_add(s, data, len);
}

bool fl_reducing_get(fl_reducing_state *s, fl_rec *value)
{
    return RT->state.reducing_get(s, value);
}

void fl_reducing_clear(fl_reducing_state *s)
{
    RT->state.reducing_clear(s);
}

fl_aggregating_state *fl_ctx_aggregating_state(fl_ctx *ctx, const char *name,
                                               const fl_aggregate *agg)
{
    return RT->state.aggregating_state(ctx, name, agg);
}

void fl_aggregating_add(fl_aggregating_state *s, const fl_rec *in)
{
    RT->state.aggregating_add(s, in);
}

bool fl_aggregating_get(fl_aggregating_state *s, void *out, uint32_t cap, uint32_t *len)
{
    return RT->state.aggregating_get(s, out, cap, len);
}

void fl_aggregating_clear(fl_aggregating_state *s)
{
    RT->state.aggregating_clear(s);
}

void fl_ctx_state_ttl(fl_ctx *ctx, const char *name, int64_t ttl_ms)
{
    RT->state.state_ttl(ctx, name, ttl_ms);
}

/* ---- time.h ----------------------------------------------------------------------- */

int64_t fl_ctx_timestamp(const fl_ctx *ctx)
{
    return RT->time.timestamp(ctx);
}

int64_t fl_ctx_current_watermark(const fl_ctx *ctx)
{
    return RT->time.current_watermark(ctx);
}

int64_t fl_ctx_current_processing_time(const fl_ctx *ctx)
{
    return RT->time.current_processing_time(ctx);
}

int fl_ctx_time_domain(const fl_ctx *ctx)
{
    return RT->time.time_domain(ctx);
}

void fl_ctx_register_event_timer(fl_ctx *ctx, int64_t ts)
{
    RT->time.register_event_timer(ctx, ts);
}

void fl_ctx_register_processing_timer(fl_ctx *ctx, int64_t ts)
{
    RT->time.register_processing_timer(ctx, ts);
}

void fl_ctx_delete_event_timer(fl_ctx *ctx, int64_t ts)
{
    RT->time.delete_event_timer(ctx, ts);
}

void fl_ctx_delete_processing_timer(fl_ctx *ctx, int64_t ts)
{
    RT->time.delete_processing_timer(ctx, ts);
}

void fl_ctx_output(fl_ctx *ctx, const char *tag, const void *data, uint32_t len, int64_t ts)
{
    RT->time.output(ctx, tag, data, len, ts);
}

/* ---- streams.h -------------------------------------------------------------------- */

int fl_ctx_input(const fl_ctx *ctx)
{
    return RT->ctx.input(ctx);
}

fl_map_state *fl_ctx_broadcast_state(fl_ctx *ctx, const char *name)
{
    return RT->state.broadcast_state(ctx, name);
}

/* ---- window.h --------------------------------------------------------------------- */

const fl_window *fl_ctx_window(const fl_ctx *ctx)
{
    return RT->ctx.window(ctx);
}

void fl_trigger_register_event_timer(fl_trigger_ctx *t, int64_t time)
{
    RT->trigger.register_event_timer(t, time);
}

void fl_trigger_register_processing_timer(fl_trigger_ctx *t, int64_t time)
{
    RT->trigger.register_processing_timer(t, time);
}

void fl_trigger_delete_event_timer(fl_trigger_ctx *t, int64_t time)
{
    RT->trigger.delete_event_timer(t, time);
}

void fl_trigger_delete_processing_timer(fl_trigger_ctx *t, int64_t time)
{
    RT->trigger.delete_processing_timer(t, time);
}

int64_t fl_trigger_current_watermark(const fl_trigger_ctx *t)
{
    return RT->trigger.current_watermark(t);
}

bool fl_trigger_state_get(fl_trigger_ctx *t, const char *name, void *val, uint32_t len)
{
    return RT->trigger.state_get(t, name, val, len);
}

void fl_trigger_state_put(fl_trigger_ctx *t, const char *name, const void *val, uint32_t len)
{
    RT->trigger.state_put(t, name, val, len);
}

void fl_trigger_state_clear(fl_trigger_ctx *t, const char *name)
{
    RT->trigger.state_clear(t, name);
}
