/* timers.c -- see timers.h. Per domain, the timers sit in buckets, one per timestamp,
 * kept sorted by time; a bucket is a FIFO in registration order, so timers pop by time
 * and, within a time, in the order they came (as Flink's queue orders them). Operators
 * register many timers for few distinct times (every key's window ends at the same
 * instants), so a registration is a search among few buckets and a pop reads the next
 * node of the first one: sequential memory, unlike a heap of every timer. The set of live
 * timers is an fl_hmap (for "once per key and timestamp" and deletion). A deleted timer
 * stays in its bucket and is skipped when it surfaces; while no timer was deleted, the
 * next one is known to be live without a lookup. */
#include "timers.h"
#include "common/hmap.h"
#include "common/keygroup.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#define ID_INLINE 48

/* A queued timer: its identity bytes (see make_id) inside when short, else allocated. */
typedef struct tnode {
    uint32_t idlen;
    uint32_t hash; /* of the identity, in the live set */
    int kg;
    union {
        uint8_t *p;
        uint8_t inl[ID_INLINE];
    } id;
} tnode;

static inline const uint8_t *tnode_id(const tnode *x)
{
    return x->idlen <= ID_INLINE ? x->id.inl : x->id.p;
}

static void tnode_free(tnode *x)
{
    if (x->idlen > ID_INLINE)
        free(x->id.p);
    x->idlen = 0;
}

typedef struct bucket {
    int64_t time;
    tnode *v;               /* v[head..n): still queued */
    uint32_t head, n, cap;
} bucket;

typedef struct queue {
    bucket *b;              /* b[first..n): by time, none empty but possibly b[first] */
    uint32_t first, n, cap;
    tnode *spare;           /* an emptied bucket's array, for the next new bucket */
    uint32_t spare_cap;
} queue;

struct fl_timers {
    queue q[2];
    fl_hmap *live;
    uint8_t *scratch;
    uint32_t scap;
    tnode popped;   /* holds the identity the last pop handed out */
    uint64_t stale; /* nodes left by deletions and not yet skipped */
};

/* identity: domain u8, time i64, klen u32, key, ns */
static uint8_t *make_id(fl_timers *ts, fl_timer_domain domain, int64_t time, const void *key,
                        uint32_t klen, const void *ns, uint32_t nslen, uint32_t *len)
{
    uint32_t n = 1 + 8 + 4 + klen + nslen;
    if (n > ts->scap) {
        ts->scap = n * 2;
        ts->scratch = fl_xrealloc(ts->scratch, ts->scap);
    }
    uint8_t *p = ts->scratch;
    p[0] = (uint8_t)domain;
    memcpy(p + 1, &time, 8);
    memcpy(p + 9, &klen, 4);
    if (klen)
        memcpy(p + 13, key, klen);
    if (nslen)
        memcpy(p + 13 + klen, ns, nslen);
    *len = n;
    return p;
}

/* The bucket of time, created in its place when missing. */
static bucket *bucket_of(queue *q, int64_t time)
{
    uint32_t lo = q->first, hi = q->n;
    if (hi > lo && q->b[hi - 1].time < time) { /* the common case: a later time */
        lo = hi;
    } else {
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (q->b[mid].time < time)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < q->n && q->b[lo].time == time)
            return &q->b[lo];
    }
    if (lo == q->first && q->first > 0) { /* before all: reuse a slot in front */
        q->first--;
        lo = q->first;
    } else {
        if (q->n == q->cap) {
            if (q->first > 0) { /* slide down over the emptied front */
                memmove(q->b, q->b + q->first, (q->n - q->first) * sizeof *q->b);
                lo -= q->first;
                q->n -= q->first;
                q->first = 0;
            } else {
                q->cap = q->cap ? q->cap * 2 : 16;
                q->b = fl_xrealloc(q->b, q->cap * sizeof *q->b);
            }
        }
        memmove(q->b + lo + 1, q->b + lo, (q->n - lo) * sizeof *q->b);
        q->n++;
    }
    q->b[lo] = (bucket){.time = time, .v = q->spare, .cap = q->spare_cap};
    q->spare = NULL;
    q->spare_cap = 0;
    return &q->b[lo];
}

static void bucket_push(bucket *b, tnode x)
{
    if (b->n == b->cap) {
        if (b->head > 0 && b->head >= b->n / 2) { /* reuse the popped front */
            memmove(b->v, b->v + b->head, (b->n - b->head) * sizeof *b->v);
            b->n -= b->head;
            b->head = 0;
        } else {
            b->cap = b->cap ? b->cap * 2 : 8;
            b->v = fl_xrealloc(b->v, b->cap * sizeof *b->v);
        }
    }
    b->v[b->n++] = x;
}

/* The next queued node (its bucket in *bp), or NULL; empty buckets are dropped. */
static tnode *peek(queue *q, bucket **bp)
{
    while (q->first < q->n) {
        bucket *b = &q->b[q->first];
        if (b->head < b->n) {
            *bp = b;
            return &b->v[b->head];
        }
        if (b->cap > q->spare_cap) { /* kept for the next bucket: large frees are slow */
            free(q->spare);
            q->spare = b->v;
            q->spare_cap = b->cap;
        } else {
            free(b->v);
        }
        q->first++;
    }
    q->first = q->n = 0;
    return NULL;
}

fl_timers *fl_timers_new(void)
{
    fl_timers *ts = fl_xcalloc(1, sizeof *ts);
    ts->live = fl_hmap_new();
    return ts;
}

void fl_timers_free(fl_timers *ts)
{
    if (!ts)
        return;
    for (int d = 0; d < 2; d++) {
        queue *q = &ts->q[d];
        for (uint32_t i = q->first; i < q->n; i++) {
            for (uint32_t k = q->b[i].head; k < q->b[i].n; k++)
                tnode_free(&q->b[i].v[k]);
            free(q->b[i].v);
        }
        free(q->b);
        free(q->spare);
    }
    tnode_free(&ts->popped);
    fl_hmap_free(ts->live);
    free(ts->scratch);
    free(ts);
}

void fl_timers_register(fl_timers *ts, fl_timer_domain domain, int64_t time, const void *key,
                        uint32_t klen, int kg, const void *ns, uint32_t nslen)
{
    uint32_t idlen;
    uint8_t *id = make_id(ts, domain, time, key, klen, ns, nslen, &idlen);
    uint32_t h = fl_murmur3_32(id, idlen, 17);
    bool created;
    fl_hentry *e = fl_hmap_upsert(ts->live, h, id, idlen, &created);
    if (!created)
        return;
    e->tag = kg;
    tnode x = {.idlen = idlen, .hash = h, .kg = kg};
    if (idlen > ID_INLINE)
        x.id.p = fl_xmalloc(idlen);
    memcpy(idlen > ID_INLINE ? x.id.p : x.id.inl, id, idlen);
    bucket_push(bucket_of(&ts->q[domain], time), x);
}

void fl_timers_delete(fl_timers *ts, fl_timer_domain domain, int64_t time, const void *key,
                      uint32_t klen, const void *ns, uint32_t nslen)
{
    uint32_t idlen;
    uint8_t *id = make_id(ts, domain, time, key, klen, ns, nslen, &idlen);
    fl_hentry *e = fl_hmap_find(ts->live, fl_murmur3_32(id, idlen, 17), id, idlen);
    if (e) {
        fl_hmap_remove(ts->live, e);
        ts->stale++;
    }
}

/* The next live timer of domain (its bucket in *bp), deleted ones dropped on the way. */
static tnode *next_live(fl_timers *ts, fl_timer_domain domain, bucket **bp)
{
    tnode *x;
    while ((x = peek(&ts->q[domain], bp)) && ts->stale) {
        if (fl_hmap_find(ts->live, x->hash, tnode_id(x), x->idlen))
            break;
        tnode_free(x);
        (*bp)->head++;
        ts->stale--;
    }
    return x;
}

int64_t fl_timers_next(fl_timers *ts, fl_timer_domain domain)
{
    bucket *b;
    return next_live(ts, domain, &b) ? b->time : INT64_MAX;
}

static void timer_of(const tnode *x, fl_timer_domain domain, int64_t time, fl_timer *out)
{
    const uint8_t *id = tnode_id(x);
    uint32_t klen;
    memcpy(&klen, id + 9, 4);
    out->domain = domain;
    out->time = time;
    out->klen = klen;
    out->key = id + 13;
    out->ns = id + 13 + klen;
    out->nslen = x->idlen - 13 - klen;
    out->kg = x->kg;
}

bool fl_timers_peek(fl_timers *ts, fl_timer_domain domain, uint32_t k, fl_timer *out)
{
    const queue *q = &ts->q[domain];
    if (q->first >= q->n)
        return false;
    const bucket *b = &q->b[q->first];
    if (b->head + k >= b->n)
        return false;
    timer_of(&b->v[b->head + k], domain, b->time, out);
    return true;
}

bool fl_timers_pop(fl_timers *ts, fl_timer_domain domain, int64_t limit, fl_timer *out)
{
    bucket *b;
    tnode *n = next_live(ts, domain, &b);
    if (!n || b->time > limit)
        return false;
    tnode x = *n;
    b->head++;
    /* the next timers' live-set lookups start loading now: their cache misses overlap
     * this one's and its firing's */
    if (b->head + 2 < b->n)
        fl_hmap_prefetch(ts->live, b->v[b->head + 2].hash, 0);
    if (b->head + 1 < b->n)
        fl_hmap_prefetch(ts->live, b->v[b->head + 1].hash, 1);
    fl_hentry *e = fl_hmap_find(ts->live, x.hash, tnode_id(&x), x.idlen);
    if (e)
        fl_hmap_remove(ts->live, e);
    tnode_free(&ts->popped);
    ts->popped = x;
    timer_of(&ts->popped, domain, b->time, out); /* its key and ns: in ts->popped */
    return true;
}

uint32_t fl_timers_count(const fl_timers *ts)
{
    return fl_hmap_size(ts->live);
}

void fl_timers_serialize(fl_timers *ts, uint8_t **out, size_t *len)
{
    size_t total = 4;
    uint32_t cur = 0, n = 0;
    fl_hentry *e;
    while ((e = fl_hmap_next(ts->live, &cur))) {
        total += 8 + e->klen;
        n++;
    }
    uint8_t *buf = fl_xmalloc(total), *w = buf + 4;
    memcpy(buf, &n, 4);
    cur = 0;
    while ((e = fl_hmap_next(ts->live, &cur))) {
        int32_t kg = e->tag;
        memcpy(w, &kg, 4);
        memcpy(w + 4, &e->klen, 4);
        memcpy(w + 8, fl_hentry_key(e), e->klen);
        w += 8 + e->klen;
    }
    *out = buf;
    *len = total;
}

int fl_timers_restore(fl_timers *ts, const uint8_t *data, size_t len, int kg_first, int kg_last)
{
    uint32_t n;
    const uint8_t *p = data, *end = data + len;
    if (len < 4)
        return len == 0 ? 0 : -1;
    memcpy(&n, p, 4);
    p += 4;
    for (uint32_t i = 0; i < n; i++) {
        int32_t kg;
        uint32_t idlen, klen;
        if (end - p < 8)
            return -1;
        memcpy(&kg, p, 4);
        memcpy(&idlen, p + 4, 4);
        p += 8;
        if (idlen < 13 || (size_t)(end - p) < idlen)
            return -1;
        const uint8_t *id = p;
        p += idlen;
        memcpy(&klen, id + 9, 4);
        if (id[0] > 1 || klen > idlen - 13)
            return -1;
        if (kg < kg_first || kg > kg_last)
            continue;
        int64_t time;
        memcpy(&time, id + 1, 8);
        fl_timers_register(ts, id[0], time, id + 13, klen, kg, id + 13 + klen, idlen - 13 - klen);
    }
    return 0;
}
