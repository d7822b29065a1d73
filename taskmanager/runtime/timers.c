/* timers.c -- see timers.h. Two binary min-heaps (one per domain) of timers by time, and
 * the set of live timers in an fl_hmap (for "once per key and timestamp" and deletion).
 * A deleted timer stays in its heap and is skipped when it surfaces; while no timer was
 * deleted, the top of a heap is known to be live without a lookup. */
#include "timers.h"
#include "hmap.h"
#include "keygroup.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct heap_node {
    int64_t time;
    uint64_t seq;    /* FIFO among equal times */
    uint8_t *id;     /* the timer's identity bytes (see make_id) */
    uint32_t idlen;
    int kg;
} heap_node;

typedef struct heap {
    heap_node *v;
    uint32_t n, cap;
} heap;

struct fl_timers {
    heap h[2];
    fl_hmap *live;
    uint64_t seq;
    uint8_t *scratch;
    uint32_t scap;
    heap_node popped; /* owns the id handed out by the last pop */
    uint64_t stale;   /* heap nodes left by deletions and not yet skipped */
};

/* identity: domain u8, time i64, klen u32, key, ns */
static uint8_t *make_id(fl_timers *ts, int domain, int64_t time, const void *key,
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

static bool before(const heap_node *a, const heap_node *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void heap_push(heap *h, heap_node x)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = fl_xrealloc(h->v, h->cap * sizeof *h->v);
    }
    uint32_t i = h->n++;
    while (i && before(&x, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = x;
}

static heap_node heap_pop(heap *h)
{
    heap_node top = h->v[0], x = h->v[--h->n];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &x))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = x;
    return top;
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
        for (uint32_t i = 0; i < ts->h[d].n; i++)
            free(ts->h[d].v[i].id);
        free(ts->h[d].v);
    }
    free(ts->popped.id);
    fl_hmap_free(ts->live);
    free(ts->scratch);
    free(ts);
}

void fl_timers_register(fl_timers *ts, int domain, int64_t time, const void *key, uint32_t klen,
                        int kg, const void *ns, uint32_t nslen)
{
    uint32_t idlen;
    uint8_t *id = make_id(ts, domain, time, key, klen, ns, nslen, &idlen);
    uint32_t h = fl_murmur3_32(id, idlen, 17);
    bool created;
    fl_hentry *e = fl_hmap_upsert(ts->live, h, id, idlen, &created);
    if (!created)
        return;
    e->tag = kg;
    heap_node x = {time, ts->seq++, fl_xmalloc(idlen), idlen, kg};
    memcpy(x.id, id, idlen);
    heap_push(&ts->h[domain], x);
}

void fl_timers_delete(fl_timers *ts, int domain, int64_t time, const void *key, uint32_t klen,
                      const void *ns, uint32_t nslen)
{
    uint32_t idlen;
    uint8_t *id = make_id(ts, domain, time, key, klen, ns, nslen, &idlen);
    fl_hentry *e = fl_hmap_find(ts->live, fl_murmur3_32(id, idlen, 17), id, idlen);
    if (e) {
        fl_hmap_remove(ts->live, e);
        ts->stale++;
    }
}

/* Drops deleted timers from the top of the heap. */
static void skip_dead(fl_timers *ts, int domain)
{
    heap *h = &ts->h[domain];
    while (h->n && ts->stale) {
        heap_node *top = &h->v[0];
        if (fl_hmap_find(ts->live, fl_murmur3_32(top->id, top->idlen, 17), top->id, top->idlen))
            return;
        heap_node dead = heap_pop(h);
        free(dead.id);
        ts->stale--;
    }
}

int64_t fl_timers_next(fl_timers *ts, int domain)
{
    skip_dead(ts, domain);
    return ts->h[domain].n ? ts->h[domain].v[0].time : INT64_MAX;
}

bool fl_timers_pop(fl_timers *ts, int domain, int64_t limit, fl_timer *out)
{
    skip_dead(ts, domain);
    heap *h = &ts->h[domain];
    if (!h->n || h->v[0].time > limit)
        return false;
    heap_node x = heap_pop(h);
    fl_hentry *e = fl_hmap_find(ts->live, fl_murmur3_32(x.id, x.idlen, 17), x.id, x.idlen);
    if (e)
        fl_hmap_remove(ts->live, e);
    free(ts->popped.id);
    ts->popped = x;
    uint32_t klen;
    memcpy(&klen, x.id + 9, 4);
    out->domain = domain;
    out->time = x.time;
    out->klen = klen;
    out->key = x.id + 13;
    out->ns = x.id + 13 + klen;
    out->nslen = x.idlen - 13 - klen;
    out->kg = x.kg;
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
