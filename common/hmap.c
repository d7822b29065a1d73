/* hmap.c -- see hmap.h.
 *
 * Ownership: a chunk is held by the map and by every snapshot taken while it was in the
 * map (refs); a value stored out of its entry (kv) by every chunk whose live entry points
 * to it. Both counts are atomic because a snapshot is released on another thread; the
 * owner writes into a chunk or a kv only when it is the sole holder, and copies it
 * otherwise. A removed entry gives its kv up at once and is left inline and empty, so
 * only live entries hold a kv. */
#include "hmap.h"
#include "util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX
#define GONE (UINT32_MAX - 1)
#define CHUNK_BITS 8
#define CHUNK (1u << CHUNK_BITS)

/* A slot keeps the entry's hash next to its index: a probe that meets another key's slot
 * rarely touches that entry's memory. */
typedef struct slot {
    uint32_t idx; /* into the entries, EMPTY or GONE */
    uint32_t hash;
} slot;

typedef struct chunk {
    fl_hentry e[CHUNK];
    atomic_uint refs;
} chunk;

struct fl_hmap {
    slot *slots;
    uint32_t mask;
    chunk **chunks;
    uint32_t nchunks, cap_chunks;
    uint32_t nentries;
    uint32_t live, used; /* used = slots not EMPTY (live + GONE) */
};

struct fl_hmap_snap {
    chunk **chunks;
    uint32_t nchunks, nentries, live;
};

/* ---- out-of-entry keys and values: [refs, pad][key][value] --------------------------- */

#define KV_HDR 8

static inline atomic_uint *kv_refs(uint8_t *kv)
{
    return (atomic_uint *)(void *)(kv - KV_HDR);
}

static uint8_t *kv_alloc(size_t n)
{
    uint8_t *p = fl_xmalloc(KV_HDR + n);
    atomic_init((atomic_uint *)(void *)p, 1);
    return p + KV_HDR;
}

static void kv_unref(uint8_t *kv)
{
    if (atomic_fetch_sub_explicit(kv_refs(kv), 1, memory_order_acq_rel) == 1)
        free(kv - KV_HDR);
}

static inline bool kv_held(const fl_hentry *e)
{
    return e->live && !fl_hentry_inline(e);
}

/* ---- chunks ------------------------------------------------------------------------ */

static inline fl_hentry *at(const fl_hmap *m, uint32_t idx)
{
    return &m->chunks[idx >> CHUNK_BITS]->e[idx & (CHUNK - 1)];
}

static chunk *chunk_new(void)
{
    chunk *c = fl_xcalloc(1, sizeof *c); /* zeroed entries: inline, not live */
    atomic_init(&c->refs, 1);
    return c;
}

static void chunk_unref(chunk *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (uint32_t i = 0; i < CHUNK; i++)
        if (kv_held(&c->e[i]))
            kv_unref(c->e[i].u.kv);
    free(c);
}

static inline bool shared(atomic_uint *refs)
{
    return atomic_load_explicit(refs, memory_order_acquire) > 1;
}

/* Entry idx, made writable: its chunk and its kv copied first when a snapshot holds them. */
static fl_hentry *own(fl_hmap *m, uint32_t idx)
{
    chunk **cp = &m->chunks[idx >> CHUNK_BITS];
    if (shared(&(*cp)->refs)) {
        chunk *c = fl_xmalloc(sizeof *c);
        memcpy(c->e, (*cp)->e, sizeof c->e);
        atomic_init(&c->refs, 1);
        for (uint32_t i = 0; i < CHUNK; i++)
            if (kv_held(&c->e[i]))
                atomic_fetch_add_explicit(kv_refs(c->e[i].u.kv), 1, memory_order_relaxed);
        chunk_unref(*cp);
        *cp = c;
    }
    fl_hentry *e = &(*cp)->e[idx & (CHUNK - 1)];
    if (kv_held(e) && shared(kv_refs(e->u.kv))) {
        uint8_t *kv = kv_alloc(e->klen + e->vcap);
        memcpy(kv, e->u.kv, e->klen + e->vlen);
        kv_unref(e->u.kv);
        e->u.kv = kv;
    }
    return e;
}

/* ---- the map ----------------------------------------------------------------------- */

fl_hmap *fl_hmap_new(void)
{
    fl_hmap *m = fl_xcalloc(1, sizeof *m);
    m->mask = 15;
    m->slots = fl_xmalloc(16 * sizeof *m->slots);
    memset(m->slots, 0xff, 16 * sizeof *m->slots);
    return m;
}

void fl_hmap_free(fl_hmap *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->nchunks; i++)
        chunk_unref(m->chunks[i]);
    free(m->chunks);
    free(m->slots);
    free(m);
}

static inline uint32_t mix(uint32_t h)
{
    h ^= h >> 15;
    h *= 0x2c1b3c6d;
    h ^= h >> 12;
    return h;
}

/* Moves the live entries to the front (insertion order kept) and frees emptied chunks;
 * only when no snapshot holds a chunk (the entries would move under it). */
static void compact(fl_hmap *m)
{
    for (uint32_t i = 0; i < m->nchunks; i++)
        if (shared(&m->chunks[i]->refs))
            return;
    uint32_t w = 0;
    for (uint32_t r = 0; r < m->nentries; r++) {
        fl_hentry *e = at(m, r);
        if (!e->live)
            continue;
        if (w != r) {
            *at(m, w) = *e;
            memset(e, 0, sizeof *e);
        }
        w++;
    }
    m->nentries = w;
    uint32_t keep = (w + CHUNK - 1) >> CHUNK_BITS;
    while (m->nchunks > keep)
        chunk_unref(m->chunks[--m->nchunks]);
}

static void grow(fl_hmap *m)
{
    /* rebuild the index at four times the live size, dropping tombstones */
    uint32_t n = (m->mask + 1);
    while (n < 4 * (m->live + 1))
        n *= 2;
    compact(m);
    if (n != m->mask + 1) { /* else tombstones only: the same table, no fresh pages */
        free(m->slots);
        m->slots = fl_xmalloc(n * sizeof *m->slots);
    }
    memset(m->slots, 0xff, n * sizeof *m->slots);
    m->mask = n - 1;
    for (uint32_t r = 0; r < m->nentries; r++) {
        const fl_hentry *e = at(m, r);
        if (!e->live)
            continue;
        uint32_t i = mix(e->hash) & m->mask;
        while (m->slots[i].idx != EMPTY)
            i = (i + 1) & m->mask;
        m->slots[i] = (slot){r, e->hash};
    }
    m->used = m->live;
}

static uint32_t find_idx(const fl_hmap *m, uint32_t hash, const void *key, uint32_t klen)
{
    uint32_t i = mix(hash) & m->mask;
    for (;;) {
        slot s = m->slots[i];
        if (s.idx == EMPTY)
            return EMPTY;
        if (s.hash == hash && s.idx != GONE) {
            fl_hentry *e = at(m, s.idx);
            if (e->klen == klen && memcmp(fl_hentry_kv(e), key, klen) == 0)
                return s.idx;
        }
        i = (i + 1) & m->mask;
    }
}

void fl_hmap_prefetch(const fl_hmap *m, uint32_t hash, int step)
{
    const slot *s = &m->slots[mix(hash) & m->mask];
    if (step == 0)
        __builtin_prefetch(s);
    else if (s->idx < GONE && s->hash == hash)
        __builtin_prefetch(at(m, s->idx));
}

fl_hentry *fl_hmap_find(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen)
{
    uint32_t idx = find_idx(m, hash, key, klen);
    return idx == EMPTY ? NULL : at(m, idx);
}

fl_hentry *fl_hmap_find_mut(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen)
{
    uint32_t idx = find_idx(m, hash, key, klen);
    return idx == EMPTY ? NULL : own(m, idx);
}

fl_hentry *fl_hmap_upsert(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen,
                          bool *created)
{
    uint32_t idx = find_idx(m, hash, key, klen);
    if (created)
        *created = idx == EMPTY;
    if (idx != EMPTY)
        return own(m, idx);
    if ((m->used + 1) * 4 > (m->mask + 1) * 3)
        grow(m);
    idx = m->nentries;
    if ((idx >> CHUNK_BITS) == m->nchunks) {
        if (m->nchunks == m->cap_chunks) {
            m->cap_chunks = m->cap_chunks ? m->cap_chunks * 2 : 4;
            m->chunks = fl_xrealloc(m->chunks, m->cap_chunks * sizeof *m->chunks);
        }
        m->chunks[m->nchunks++] = chunk_new();
    }
    m->nentries++;
    /* a snapshot only reads the entries it had, so a new one may go into a chunk it holds */
    fl_hentry *e = at(m, idx);
    e->hash = hash;
    e->klen = klen;
    e->vlen = 0;
    e->tag = 0;
    if (klen <= FL_HENTRY_INLINE) {
        e->vcap = FL_HENTRY_INLINE - klen;
        memcpy(e->u.inl, key, klen);
    } else {
        e->vcap = 8;
        e->u.kv = kv_alloc(klen + e->vcap);
        memcpy(e->u.kv, key, klen);
    }
    e->live = true;
    uint32_t i = mix(hash) & m->mask;
    while (m->slots[i].idx != EMPTY && m->slots[i].idx != GONE)
        i = (i + 1) & m->mask;
    if (m->slots[i].idx == EMPTY)
        m->used++;
    m->slots[i] = (slot){idx, hash};
    m->live++;
    return e;
}

/* Room for need value bytes: out of the entry into an allocation when it must grow. */
static void reserve(fl_hentry *e, uint32_t need)
{
    if (need <= e->vcap)
        return;
    uint32_t cap = e->vcap ? e->vcap : 8;
    while (cap < need)
        cap *= 2;
    if (fl_hentry_inline(e)) {
        uint8_t *kv = kv_alloc((size_t)e->klen + cap);
        memcpy(kv, e->u.inl, e->klen + e->vlen);
        e->u.kv = kv;
    } else { /* owned: own() copied it if it was shared */
        e->u.kv = (uint8_t *)fl_xrealloc(e->u.kv - KV_HDR, KV_HDR + (size_t)e->klen + cap) +
                  KV_HDR;
    }
    e->vcap = cap; /* klen + cap > FL_HENTRY_INLINE now: not inline */
}

void fl_hmap_set(fl_hentry *e, const void *val, uint32_t len)
{
    reserve(e, len);
    if (len)
        memcpy(fl_hentry_val(e), val, len);
    e->vlen = len;
}

void fl_hmap_append(fl_hentry *e, const void *val, uint32_t len)
{
    uint32_t need = e->vlen + len;
    reserve(e, need);
    if (len)
        memcpy(fl_hentry_val(e) + e->vlen, val, len);
    e->vlen = need;
}

void fl_hmap_remove(fl_hmap *m, fl_hentry *e)
{
    uint32_t i = mix(e->hash) & m->mask;
    while (m->slots[i].idx >= GONE || m->slots[i].hash != e->hash || at(m, m->slots[i].idx) != e)
        i = (i + 1) & m->mask;
    fl_hentry *w = own(m, m->slots[i].idx);
    m->slots[i].idx = GONE;
    if (!fl_hentry_inline(w))
        kv_unref(w->u.kv);
    memset(w, 0, sizeof *w);
    m->live--;
}

uint32_t fl_hmap_size(const fl_hmap *m)
{
    return m->live;
}

fl_hentry *fl_hmap_next(fl_hmap *m, uint32_t *cursor)
{
    while (*cursor < m->nentries) {
        fl_hentry *e = at(m, (*cursor)++);
        if (e->live)
            return e;
    }
    return NULL;
}

/* ---- snapshots --------------------------------------------------------------------- */

fl_hmap_snap *fl_hmap_snapshot(fl_hmap *m)
{
    fl_hmap_snap *s = fl_xmalloc(sizeof *s);
    s->nchunks = m->nchunks;
    s->nentries = m->nentries;
    s->live = m->live;
    s->chunks = fl_xmalloc((m->nchunks + 1) * sizeof *s->chunks);
    for (uint32_t i = 0; i < m->nchunks; i++) {
        atomic_fetch_add_explicit(&m->chunks[i]->refs, 1, memory_order_relaxed);
        s->chunks[i] = m->chunks[i];
    }
    return s;
}

fl_hentry *fl_hmap_snap_next(fl_hmap_snap *s, uint32_t *cursor)
{
    while (*cursor < s->nentries) {
        uint32_t idx = (*cursor)++;
        fl_hentry *e = &s->chunks[idx >> CHUNK_BITS]->e[idx & (CHUNK - 1)];
        if (e->live)
            return e;
    }
    return NULL;
}

uint32_t fl_hmap_snap_size(const fl_hmap_snap *s)
{
    return s->live;
}

void fl_hmap_snap_free(fl_hmap_snap *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nchunks; i++)
        chunk_unref(s->chunks[i]);
    free(s->chunks);
    free(s);
}

/* ---- invariants (for tests) ------------------------------------------------------------
 *  1. the index has a power of two of slots, at least 16, and at most 3/4 of them used
 *     (live or GONE), so a probe always ends at an EMPTY slot;
 *  2. used counts the slots that are not EMPTY, live those pointing at an entry;
 *  3. a slot points at a live entry below nentries whose hash it carries, and a probe for
 *     that hash reaches the slot before any EMPTY one;
 *  4. every live entry has exactly one slot (there are live of them);
 *  5. the chunks hold the entries and no more: nchunks = ceil(nentries / CHUNK), none
 *     live or filled past nentries; a chunk and an out-of-entry value have a reference;
 *  6. an entry that is not live is empty; a live one's value fits its room (vlen <= vcap)
 *     and is stored inline exactly when key and room fit FL_HENTRY_INLINE bytes. */
int fl_hmap_validate(const fl_hmap *m, fl_err *err)
{
    uint32_t n = m->mask + 1, used = 0, live = 0, pointed = 0;
    if (n < 16 || (n & m->mask)) {
        fl_err_set(err, "hmap: %u slots", n);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        slot sl = m->slots[i];
        if (sl.idx == EMPTY)
            continue;
        used++;
        if (sl.idx == GONE)
            continue;
        live++;
        if (sl.idx >= m->nentries || !at(m, sl.idx)->live || at(m, sl.idx)->hash != sl.hash) {
            fl_err_set(err, "hmap: slot %u points at entry %u, not a live entry of its hash",
                       i, sl.idx);
            return -1;
        }
        for (uint32_t j = mix(sl.hash) & m->mask; j != i; j = (j + 1) & m->mask)
            if (m->slots[j].idx == EMPTY) {
                fl_err_set(err, "hmap: slot %u of entry %u lies past an empty slot (%u)", i,
                           sl.idx, j);
                return -1;
            }
    }
    if (used != m->used || live != m->live || used * 4 > n * 3 || used == n) {
        fl_err_set(err, "hmap: %u slots used (says %u), %u live (says %u), of %u", used,
                   m->used, live, m->live, n);
        return -1;
    }
    if (m->nchunks != (m->nentries + CHUNK - 1) / CHUNK || m->nchunks > m->cap_chunks) {
        fl_err_set(err, "hmap: %u chunks for %u entries", m->nchunks, m->nentries);
        return -1;
    }
    for (uint32_t c = 0; c < m->nchunks; c++) {
        const chunk *ch = m->chunks[c];
        if (atomic_load(&((chunk *)ch)->refs) < 1) {
            fl_err_set(err, "hmap: chunk %u without a reference", c);
            return -1;
        }
        for (uint32_t k = 0; k < CHUNK; k++) {
            const fl_hentry *e = &ch->e[k];
            uint32_t idx = c * CHUNK + k;
            if (!e->live) {
                if (e->klen || e->vlen || e->vcap) {
                    fl_err_set(err, "hmap: entry %u is not live but not empty", idx);
                    return -1;
                }
                continue;
            }
            pointed++;
            if (idx >= m->nentries || e->vlen > e->vcap ||
                fl_hentry_inline(e) != (e->klen + e->vcap <= FL_HENTRY_INLINE) ||
                (!fl_hentry_inline(e) && atomic_load(kv_refs(e->u.kv)) < 1)) {
                fl_err_set(err, "hmap: live entry %u (of %u): key %u, value %u of %u bytes",
                           idx, m->nentries, e->klen, e->vlen, e->vcap);
                return -1;
            }
            if (find_idx(m, e->hash, fl_hentry_kv((fl_hentry *)e), e->klen) != idx) {
                fl_err_set(err, "hmap: live entry %u is not found by its key", idx);
                return -1;
            }
        }
    }
    if (pointed != m->live) {
        fl_err_set(err, "hmap: %u live entries, %u live slots", pointed, m->live);
        return -1;
    }
    return 0;
}
