/* state_api.c -- the keyed-state kinds of the bundle API (flint.h, flint/state.h), as the
 * table fl_chain_state_api that the task installs in common/api, on top of the
 * state-backend interface (state/keyed.h). Called by the user's functions on their task's
 * thread. Every kind is stored as one value per (key, namespace) in the backend, so
 * snapshots and the RocksDB backend need nothing special:
 *   value        the bytes
 *   list         [u32 len][bytes] per element (appended in place)
 *   map          [u32 klen][key][u32 vlen][value] per entry (small maps: linear)
 *   reducing     the reduced value
 *   aggregating  the accumulator (acc_size bytes)
 * With a TTL, the value is prefixed with its expiry time (int64, processing time).
 * Broadcast map states live in a backend of their own under one empty key.
 */
#include "operator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum state_kind { K_VALUE, K_LIST, K_MAP, K_REDUCING, K_AGGREGATING } state_kind;

typedef struct fl_ttl_entry {
    char name[128];
    int64_t ttl_ms;
} fl_ttl_entry;

typedef struct fl_state_handle {
    state_kind kind;
    fl_kstate *s;
    fl_ctx *ctx;
    fl_kbackend *kb;         /* ctx->kb, or the op's broadcast backend */
    bool broadcast;
    int64_t ttl_ms;          /* 0: none */
    fl_reduce_fn reduce;
    fl_aggregate agg;
    fl_out capture;          /* reduce results */
    uint8_t *scratch;        /* rebuilt values, accumulators */
    uint32_t scap;
    char name[128];          /* the user's name, for messages */
} fl_state_handle;

struct fl_value_state { fl_state_handle h; };
struct fl_list_state { fl_state_handle h; };
struct fl_map_state { fl_state_handle h; };
struct fl_reducing_state { fl_state_handle h; };
struct fl_aggregating_state { fl_state_handle h; };

static uint8_t *scratch(fl_state_handle *h, uint32_t n)
{
    if (n > h->scap) {
        h->scap = n * 2 + 64;
        h->scratch = fl_xrealloc(h->scratch, h->scap);
    }
    return h->scratch;
}

static void st_state_ttl(fl_ctx *ctx, const char *name, int64_t ttl_ms)
{
    fl_op *op = ctx->op;
    op->ttls = fl_xrealloc(op->ttls, (size_t)(op->nttls + 1) * sizeof *op->ttls);
    snprintf(op->ttls[op->nttls].name, sizeof op->ttls[0].name, "%s", name);
    op->ttls[op->nttls++].ttl_ms = ttl_ms;
}

static fl_state_handle *handle_new(fl_ctx *ctx, const char *name, state_kind kind, size_t size,
                               bool broadcast)
{
    fl_op *op = ctx->op;
    fl_kbackend *kb = broadcast ? op->bcast_kb : ctx->kb;
    if (!kb) {
        fl_op_ctx_fail(ctx,
                       broadcast ? "broadcast state '%s' exists only in a broadcast process"
                       : "keyed state '%s' needs a keyed stream (fl_key_by before "
                       "this operator)",
                       name);
        return NULL;
    }
    fl_state_handle *h = fl_xcalloc(1, size);
    h->kind = kind;
    h->ctx = ctx;
    h->kb = kb;
    h->broadcast = broadcast;
    snprintf(h->name, sizeof h->name, "%s", name);
    char full[200];
    snprintf(full, sizeof full, "%s:%s", broadcast ? "broadcast" : "user", name);
    h->s = fl_kstate_get_or_create(kb, full);
    for (int i = 0; i < op->nttls; i++)
        if (!strcmp(op->ttls[i].name, name))
            h->ttl_ms = op->ttls[i].ttl_ms;
    h->capture.capture = true;
    op->handles = fl_xrealloc(op->handles, (size_t)(op->nhandles + 1) * sizeof *op->handles);
    op->handles[op->nhandles++] = h;
    return h;
}

void fl_op_free_states(fl_op *op)
{
    for (int i = 0; i < op->nhandles; i++) {
        free(op->handles[i]->scratch);
        free(op->handles[i]->capture.cap);
        free(op->handles[i]);
    }
    free(op->handles);
    free(op->ttls);
}

/* The namespace of an access: inside the function of a window that does not merge, the
 * window (Flink's windowState()); otherwise none (per key). */
#define NS(h) ((h)->broadcast ? NULL : (h)->ctx->wns), ((h)->broadcast || !(h)->ctx->wns ? 0 : 16)

void fl_op_clear_window_states(fl_op *op, const uint8_t *ns, uint32_t nslen)
{
    for (int i = 0; i < op->nhandles; i++)
        if (!op->handles[i]->broadcast)
            op->handles[i]->kb->ops->remove(op->handles[i]->s, ns, nslen);
}

static fl_ctx *st_owner(const void *s, const char **name)
{
    const fl_state_handle *h = s; /* every kind's struct starts with its handle */
    if (!h)
        return NULL;
    *name = h->name;
    return h->ctx;
}

/* Ready for an access: a current key (or the broadcast key) is there. Any access may move
 * what an earlier one handed out (RocksDB reuses its read buffer), hence the count. */
static bool ready(fl_state_handle *h, bool write)
{
    if (!h)
        return false;
    h->ctx->op->state_gen++;
    if (h->broadcast) {
        if (write && h->ctx->input != 2) {
            fl_op_ctx_fail(h->ctx, "the broadcast state is read-only in process_element");
            return false;
        }
        fl_kbackend_set_key(h->kb, "", 0);
        return true;
    }
    return h->kb->key != NULL;
}

/* The current value (TTL checked and stripped); false when absent or expired. */
static bool load(fl_state_handle *h, const uint8_t **data, uint32_t *len)
{
    const void *v;
    uint32_t n;
    if (!h->kb->ops->get(h->s, NS(h), &v, &n))
        return false;
    if (h->ttl_ms) {
        int64_t expiry;
        if (n < 8)
            return false;
        memcpy(&expiry, v, 8);
        if (fl_view_now_ms(h->ctx->op->view) >= expiry) {
            h->kb->ops->remove(h->s, NS(h));
            return false;
        }
        v = (const uint8_t *)v + 8;
        n -= 8;
    }
    *data = v;
    *len = n;
    return true;
}

/* Stores parts[0..n) concatenated as the value (with the TTL prefix). */
static void store(fl_state_handle *h, const void *data, uint32_t len)
{
    if (!h->ttl_ms) {
        h->kb->ops->put(h->s, NS(h), data, len);
        return;
    }
    uint8_t *buf = scratch(h, len + 8);
    int64_t expiry = fl_view_now_ms(h->ctx->op->view) + h->ttl_ms;
    memcpy(buf, &expiry, 8);
    if (len && data != buf + 8)
        memmove(buf + 8, data, len);
    h->kb->ops->put(h->s, NS(h), buf, len + 8);
}

static void handle_clear(fl_state_handle *h)
{
    if (ready(h, true))
        h->kb->ops->remove(h->s, NS(h));
}

/* ---- value ------------------------------------------------------------------------ */

static fl_value_state *st_value_state(fl_ctx *ctx, const char *name)
{
    return (fl_value_state *)handle_new(ctx, name, K_VALUE, sizeof(fl_value_state), false);
}

static bool st_value_get(fl_value_state *s, const void **data, uint32_t *len)
{
    const uint8_t *d;
    uint32_t n;
    if (!s || !ready(&s->h, false) || !load(&s->h, &d, &n))
        return false;
    *data = d;
    *len = n;
    return true;
}

static void st_value_put(fl_value_state *s, const void *data, uint32_t len)
{
    if (s && ready(&s->h, true))
        store(&s->h, data, len);
}

static void st_value_clear(fl_value_state *s)
{
    if (s)
        handle_clear(&s->h);
}

/* ---- list ------------------------------------------------------------------------- */

static fl_list_state *st_list_state(fl_ctx *ctx, const char *name)
{
    return (fl_list_state *)handle_new(ctx, name, K_LIST, sizeof(fl_list_state), false);
}

static void st_list_add(fl_list_state *s, const void *data, uint32_t len)
{
    if (!s || !ready(&s->h, true))
        return;
    fl_state_handle *h = &s->h;
    if (!h->ttl_ms) {
        uint8_t hdr[4];
        memcpy(hdr, &len, 4);
        h->kb->ops->append(h->s, NS(h), hdr, 4);
        h->kb->ops->append(h->s, NS(h), data, len);
        return;
    }
    const uint8_t *old;
    uint32_t olen = 0;
    if (!load(h, &old, &olen))
        olen = 0;
    uint8_t *buf = scratch(h, 8 + olen + 4 + len);
    memmove(buf + 8, old, olen);
    memcpy(buf + 8 + olen, &len, 4);
    memcpy(buf + 8 + olen + 4, data, len);
    store(h, buf + 8, olen + 4 + len);
}

static bool st_list_get(fl_list_state *s, fl_iter *it)
{
    const uint8_t *d;
    uint32_t n;
    if (!s || !ready(&s->h, false) || !load(&s->h, &d, &n) || n == 0)
        return false;
    it->p = d;
    it->end = d + n;
    it->ctx = s->h.ctx;
    return true;
}

static void st_list_update(fl_list_state *s, const fl_rec *elems, uint32_t n)
{
    if (!s || !ready(&s->h, true))
        return;
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += 4 + elems[i].len;
    uint8_t *buf = scratch(&s->h, 8 + total), *w = buf + 8;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(w, &elems[i].len, 4);
        memcpy(w + 4, elems[i].data, elems[i].len);
        w += 4 + elems[i].len;
    }
    store(&s->h, buf + 8, total);
}

/* n values of size bytes each, back to back in elems. */
static void st_list_update_fixed(fl_list_state *s, const void *elems, uint32_t size, uint32_t n)
{
    if (!s || !ready(&s->h, true))
        return;
    uint64_t total = (uint64_t)n * (4 + size);
    if (total > UINT32_MAX - 8) {
        fl_op_ctx_fail(s->h.ctx, "fl_list_update_as on state '%s': %u elements of %u bytes "
                                 "exceed a state value's 4 GiB",
                       s->h.name, n, size);
        return;
    }
    uint8_t *buf = scratch(&s->h, 8 + (uint32_t)total), *w = buf + 8;
    const uint8_t *e = elems;
    for (uint32_t i = 0; i < n; i++, e += size, w += 4 + size) {
        memcpy(w, &size, 4);
        memcpy(w + 4, e, size);
    }
    store(&s->h, buf + 8, (uint32_t)total);
}

static void st_list_clear(fl_list_state *s)
{
    if (s)
        handle_clear(&s->h);
}

/* ---- map -------------------------------------------------------------------------- */

static fl_map_state *st_map_state(fl_ctx *ctx, const char *name)
{
    return (fl_map_state *)handle_new(ctx, name, K_MAP, sizeof(fl_map_state), false);
}

static fl_map_state *st_broadcast_state(fl_ctx *ctx, const char *name)
{
    return (fl_map_state *)handle_new(ctx, name, K_MAP, sizeof(fl_map_state), true);
}

/* Finds key in the current map: its value and the entry's byte range. */
static bool map_find(fl_state_handle *h, const void *key, uint32_t klen, fl_rec *value,
                     const uint8_t **map, uint32_t *mlen, uint32_t *eoff, uint32_t *elen)
{
    const uint8_t *d;
    uint32_t n;
    *map = NULL;
    *mlen = 0;
    if (!load(h, &d, &n))
        return false;
    *map = d;
    *mlen = n;
    fl_iter it = {d, d + n, h->ctx};
    fl_rec k, v;
    const uint8_t *at = it.p;
    while (fl_iter_next(&it, &k) && fl_iter_next(&it, &v)) {
        if (k.len == klen && memcmp(k.data, key, klen) == 0) {
            if (value)
                *value = v;
            *eoff = (uint32_t)(at - d);
            *elen = (uint32_t)(it.p - at);
            return true;
        }
        at = it.p;
    }
    return false;
}

static bool st_map_get(fl_map_state *s, const void *key, uint32_t klen, const void **val,
                       uint32_t *vlen)
{
    const uint8_t *m;
    uint32_t ml, eo, el;
    fl_rec v;
    if (!s || !ready(&s->h, false) || !map_find(&s->h, key, klen, &v, &m, &ml, &eo, &el))
        return false;
    *val = v.data;
    *vlen = v.len;
    return true;
}

static void st_map_put(fl_map_state *s, const void *key, uint32_t klen, const void *val,
                       uint32_t vlen)
{
    if (!s || !ready(&s->h, true))
        return;
    fl_state_handle *h = &s->h;
    const uint8_t *m;
    uint32_t ml, eo = 0, el = 0;
    bool found = map_find(h, key, klen, NULL, &m, &ml, &eo, &el);
    uint32_t keep = found ? ml - el : ml;
    uint8_t *buf = scratch(h, 8 + keep + 8 + klen + vlen), *w = buf + 8;
    if (found) { /* everything but the old entry */
        memcpy(w, m, eo);
        memcpy(w + eo, m + eo + el, ml - eo - el);
    } else if (ml) {
        memcpy(w, m, ml);
    }
    w += keep;
    memcpy(w, &klen, 4);
    memcpy(w + 4, key, klen);
    memcpy(w + 4 + klen, &vlen, 4);
    memcpy(w + 8 + klen, val, vlen);
    store(h, buf + 8, keep + 8 + klen + vlen);
}

/* Stores the map m (ml bytes) without its bytes [eo, eo + el): the entry removed. */
static void map_store_without(fl_state_handle *h, const uint8_t *m, uint32_t ml, uint32_t eo,
                              uint32_t el)
{
    if (ml == el) {
        h->kb->ops->remove(h->s, NS(h));
        return;
    }
    uint8_t *buf = scratch(h, 8 + ml - el);
    memcpy(buf + 8, m, eo);
    memcpy(buf + 8 + eo, m + eo + el, ml - eo - el);
    store(h, buf + 8, ml - el);
}

static void st_map_remove(fl_map_state *s, const void *key, uint32_t klen)
{
    if (!s || !ready(&s->h, true))
        return;
    const uint8_t *m;
    uint32_t ml, eo, el;
    if (map_find(&s->h, key, klen, NULL, &m, &ml, &eo, &el))
        map_store_without(&s->h, m, ml, eo, el);
}

static uint32_t st_map_size(fl_map_state *s)
{
    const uint8_t *d;
    uint32_t n, count = 0;
    if (!s || !ready(&s->h, false) || !load(&s->h, &d, &n))
        return 0;
    fl_iter it = {d, d + n, s->h.ctx};
    fl_rec k, v;
    while (fl_iter_next(&it, &k) && fl_iter_next(&it, &v))
        count++;
    return count;
}

/* The iterator keeps byte offsets into the map's value, so it survives the value being
 * rewritten (a removal) or moved (another state's access): when any state access ran since
 * it last read the value (op->state_gen moved), it reads it again and goes on at the same
 * offset. */
#define NO_ENTRY UINT32_MAX

static void st_map_iterate(fl_map_state *s, fl_map_iter *it)
{
    memset(it, 0, sizeof *it);
    it->s = s;
    it->cur = NO_ENTRY;
}

/* The iterator's map, read again if stale; false when it has none (any more). */
static bool map_iter_fresh(fl_map_iter *it)
{
    fl_state_handle *h = &it->s->h;
    if (it->base && it->gen == h->ctx->op->state_gen)
        return true;
    const uint8_t *d;
    uint32_t n;
    if (!ready(h, false) || !load(h, &d, &n)) {
        it->base = NULL;
        return false;
    }
    it->base = d;
    it->len = n;
    it->gen = h->ctx->op->state_gen;
    return true;
}

static bool st_map_next(fl_map_iter *it)
{
    it->key = it->value = NULL;
    it->klen = it->vlen = 0;
    it->cur = NO_ENTRY;
    if (!it->s || !map_iter_fresh(it) || it->off >= it->len)
        return false;
    fl_iter e = {it->base + it->off, it->base + it->len, it->s->h.ctx};
    fl_rec k, v;
    if (!fl_iter_next(&e, &k) || !fl_iter_next(&e, &v)) {
        fl_op_ctx_fail(it->s->h.ctx, "map state '%s': a damaged entry at byte %u",
                       it->s->h.name, it->off);
        return false;
    }
    it->key = k.data;
    it->klen = k.len;
    it->value = v.data;
    it->vlen = v.len;
    it->cur = it->off;
    it->off = (uint32_t)(e.p - it->base);
    return true;
}

static void st_map_iter_remove(fl_map_iter *it)
{
    if (!it->s || it->cur == NO_ENTRY) {
        if (it->s)
            fl_op_ctx_fail(it->s->h.ctx, "fl_map_iter_remove on map state '%s' without a "
                                         "current entry (call fl_map_next first)",
                           it->s->h.name);
        return;
    }
    uint32_t eo = it->cur, el = it->off - it->cur;
    if (!map_iter_fresh(it) || it->off > it->len || !ready(&it->s->h, true))
        return;
    map_store_without(&it->s->h, it->base, it->len, eo, el);
    it->off = eo; /* the next entry now starts where the removed one did */
    it->cur = NO_ENTRY;
    it->base = NULL;
    it->key = it->value = NULL;
    it->klen = it->vlen = 0;
}

static void st_map_clear(fl_map_state *s)
{
    if (s)
        handle_clear(&s->h);
}

/* ---- reducing --------------------------------------------------------------------- */

static fl_reducing_state *st_reducing_state(fl_ctx *ctx, const char *name, fl_reduce_fn fn)
{
    fl_reducing_state *s =
        (fl_reducing_state *)handle_new(ctx, name, K_REDUCING, sizeof(fl_reducing_state), false);
    if (s)
        s->h.reduce = fn;
    return s;
}

static void st_reducing_add(fl_reducing_state *s, const void *data, uint32_t len)
{
    if (!s || !ready(&s->h, true))
        return;
    fl_state_handle *h = &s->h;
    const uint8_t *cur;
    uint32_t clen;
    if (!load(h, &cur, &clen)) {
        store(h, data, len);
        return;
    }
    fl_rec acc = {cur, clen, FL_NO_TIMESTAMP}, in = {data, len, FL_NO_TIMESTAMP};
    h->capture.ncaptured = 0;
    h->reduce(h->ctx, &acc, &in, &h->capture);
    if (h->capture.ncaptured != 1) {
        fl_op_ctx_fail(h->ctx,
                       "a reducing state's reduce function must emit exactly one value");
        return;
    }
    store(h, h->capture.cap, h->capture.cap_len);
}

static bool st_reducing_get(fl_reducing_state *s, fl_rec *value)
{
    const void *d;
    uint32_t n;
    if (!st_value_get((fl_value_state *)s, &d, &n))
        return false;
    value->data = d;
    value->len = n;
    value->ts = FL_NO_TIMESTAMP;
    return true;
}

static void st_reducing_clear(fl_reducing_state *s)
{
    if (s)
        handle_clear(&s->h);
}

/* ---- aggregating ------------------------------------------------------------------ */

static fl_aggregating_state *st_aggregating_state(fl_ctx *ctx, const char *name,
                                               const fl_aggregate *agg)
{
    if (!agg || !agg->acc_size || !agg->create || !agg->add || !agg->result) {
        fl_op_ctx_fail(ctx, "aggregating state '%s' needs acc_size, create, add and result",
                       name);
        return NULL;
    }
    fl_aggregating_state *s = (fl_aggregating_state *)handle_new(
        ctx, name, K_AGGREGATING, sizeof(fl_aggregating_state), false);
    if (s)
        s->h.agg = *agg;
    return s;
}

static void st_aggregating_add(fl_aggregating_state *s, const fl_rec *in)
{
    if (!s || !ready(&s->h, true))
        return;
    fl_state_handle *h = &s->h;
    const uint8_t *cur;
    uint32_t clen;
    uint8_t *acc = scratch(h, 8 + h->agg.acc_size) + 8;
    if (load(h, &cur, &clen) && clen == h->agg.acc_size) {
        memmove(acc, cur, clen);
    } else {
        memset(acc, 0, h->agg.acc_size);
        h->agg.create(acc);
    }
    h->agg.add(acc, in);
    store(h, acc, h->agg.acc_size);
}

static bool st_aggregating_get(fl_aggregating_state *s, void *out, uint32_t cap,
                               uint32_t *len)
{
    const uint8_t *cur;
    uint32_t clen;
    if (!s || !ready(&s->h, false) || !load(&s->h, &cur, &clen))
        return false;
    uint32_t n = s->h.agg.result(cur, out, cap);
    if (len)
        *len = n > cap ? cap : n;
    return true;
}

static void st_aggregating_clear(fl_aggregating_state *s)
{
    if (s)
        handle_clear(&s->h);
}

const fl_api_state_ops fl_chain_state_api = {
    .owner = st_owner,
    .value_state = st_value_state,
    .value_get = st_value_get,
    .value_put = st_value_put,
    .value_clear = st_value_clear,
    .list_state = st_list_state,
    .list_add = st_list_add,
    .list_get = st_list_get,
    .list_update = st_list_update,
    .list_update_fixed = st_list_update_fixed,
    .list_clear = st_list_clear,
    .map_state = st_map_state,
    .broadcast_state = st_broadcast_state,
    .map_get = st_map_get,
    .map_put = st_map_put,
    .map_remove = st_map_remove,
    .map_size = st_map_size,
    .map_iterate = st_map_iterate,
    .map_next = st_map_next,
    .map_iter_remove = st_map_iter_remove,
    .map_clear = st_map_clear,
    .reducing_state = st_reducing_state,
    .reducing_add = st_reducing_add,
    .reducing_get = st_reducing_get,
    .reducing_clear = st_reducing_clear,
    .aggregating_state = st_aggregating_state,
    .aggregating_add = st_aggregating_add,
    .aggregating_get = st_aggregating_get,
    .aggregating_clear = st_aggregating_clear,
    .state_ttl = st_state_ttl,
};
