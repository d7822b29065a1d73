/* hmap.c -- see hmap.h. */
#include "hmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX
#define GONE (UINT32_MAX - 1)

/* A slot keeps the entry's hash next to its index: a probe that meets another key's slot
 * rarely touches that entry's memory. */
typedef struct slot {
    uint32_t idx; /* into entries, EMPTY or GONE */
    uint32_t hash;
} slot;

struct fl_hmap {
    slot *slots;
    uint32_t mask;
    fl_hentry *entries;
    uint32_t nentries, cap_entries;
    uint32_t live, used; /* used = slots not EMPTY (live + GONE) */
};

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
    for (uint32_t i = 0; i < m->nentries; i++)
        if (!fl_hentry_inline(&m->entries[i]))
            free(m->entries[i].u.kv);
    free(m->entries);
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

static void grow(fl_hmap *m)
{
    /* rebuild the index at twice the live size, dropping tombstones */
    uint32_t n = (m->mask + 1);
    while (n < 4 * (m->live + 1))
        n *= 2;
    free(m->slots);
    m->slots = fl_xmalloc(n * sizeof *m->slots);
    memset(m->slots, 0xff, n * sizeof *m->slots);
    m->mask = n - 1;
    /* compact the entries too */
    uint32_t w = 0;
    for (uint32_t r = 0; r < m->nentries; r++) {
        if (!m->entries[r].live) {
            if (!fl_hentry_inline(&m->entries[r]))
                free(m->entries[r].u.kv);
            continue;
        }
        m->entries[w] = m->entries[r];
        uint32_t i = mix(m->entries[w].hash) & m->mask;
        while (m->slots[i].idx != EMPTY)
            i = (i + 1) & m->mask;
        m->slots[i] = (slot){w, m->entries[w].hash};
        w++;
    }
    m->nentries = w;
    m->used = m->live = w;
}

fl_hentry *fl_hmap_find(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen)
{
    uint32_t i = mix(hash) & m->mask;
    for (;;) {
        slot s = m->slots[i];
        if (s.idx == EMPTY)
            return NULL;
        if (s.hash == hash && s.idx != GONE) {
            fl_hentry *e = &m->entries[s.idx];
            if (e->klen == klen && memcmp(fl_hentry_kv(e), key, klen) == 0)
                return e;
        }
        i = (i + 1) & m->mask;
    }
}

fl_hentry *fl_hmap_upsert(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen,
                          bool *created)
{
    fl_hentry *e = fl_hmap_find(m, hash, key, klen);
    if (e) {
        if (created)
            *created = false;
        return e;
    }
    if ((m->used + 1) * 4 > (m->mask + 1) * 3)
        grow(m);
    if (m->nentries == m->cap_entries) {
        m->cap_entries = m->cap_entries ? m->cap_entries * 2 : 16;
        m->entries = fl_xrealloc(m->entries, m->cap_entries * sizeof *m->entries);
    }
    uint32_t idx = m->nentries++;
    e = &m->entries[idx];
    e->hash = hash;
    e->klen = klen;
    e->vlen = 0;
    e->tag = 0;
    e->live = true;
    if (klen <= FL_HENTRY_INLINE) {
        e->vcap = FL_HENTRY_INLINE - klen;
        memcpy(e->u.inl, key, klen);
    } else {
        e->vcap = 8;
        e->u.kv = fl_xmalloc(klen + e->vcap);
        memcpy(e->u.kv, key, klen);
    }
    uint32_t i = mix(hash) & m->mask;
    while (m->slots[i].idx != EMPTY && m->slots[i].idx != GONE)
        i = (i + 1) & m->mask;
    if (m->slots[i].idx == EMPTY)
        m->used++;
    m->slots[i] = (slot){idx, hash};
    m->live++;
    if (created)
        *created = true;
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
        uint8_t *kv = fl_xmalloc(e->klen + cap);
        memcpy(kv, e->u.inl, e->klen + e->vlen);
        e->u.kv = kv;
    } else {
        e->u.kv = fl_xrealloc(e->u.kv, e->klen + cap);
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
    uint32_t idx = (uint32_t)(e - m->entries);
    uint32_t i = mix(e->hash) & m->mask;
    while (m->slots[i].idx != idx)
        i = (i + 1) & m->mask;
    m->slots[i].idx = GONE;
    e->live = false;
    m->live--;
}

uint32_t fl_hmap_size(const fl_hmap *m)
{
    return m->live;
}

fl_hentry *fl_hmap_next(fl_hmap *m, uint32_t *cursor)
{
    while (*cursor < m->nentries) {
        fl_hentry *e = &m->entries[(*cursor)++];
        if (e->live)
            return e;
    }
    return NULL;
}
