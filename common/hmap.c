/* hmap.c -- see hmap.h. */
#include "hmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX
#define GONE (UINT32_MAX - 1)

struct fl_hmap {
    uint32_t *slots;     /* index into entries, EMPTY or GONE */
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
        free(m->entries[i].kv);
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
            free(m->entries[r].kv);
            continue;
        }
        m->entries[w] = m->entries[r];
        uint32_t i = mix(m->entries[w].hash) & m->mask;
        while (m->slots[i] != EMPTY)
            i = (i + 1) & m->mask;
        m->slots[i] = w++;
    }
    m->nentries = w;
    m->used = m->live = w;
}

fl_hentry *fl_hmap_find(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen)
{
    uint32_t i = mix(hash) & m->mask;
    for (;;) {
        uint32_t s = m->slots[i];
        if (s == EMPTY)
            return NULL;
        if (s != GONE) {
            fl_hentry *e = &m->entries[s];
            if (e->hash == hash && e->klen == klen && memcmp(e->kv, key, klen) == 0)
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
    e->vcap = 8;
    e->tag = 0;
    e->live = true;
    e->kv = fl_xmalloc(klen + e->vcap);
    memcpy(e->kv, key, klen);
    uint32_t i = mix(hash) & m->mask;
    while (m->slots[i] != EMPTY && m->slots[i] != GONE)
        i = (i + 1) & m->mask;
    if (m->slots[i] == EMPTY)
        m->used++;
    m->slots[i] = idx;
    m->live++;
    if (created)
        *created = true;
    return e;
}

void fl_hmap_set(fl_hentry *e, const void *val, uint32_t len)
{
    if (len > e->vcap) {
        uint32_t cap = e->vcap;
        while (cap < len)
            cap *= 2;
        e->kv = fl_xrealloc(e->kv, e->klen + cap);
        e->vcap = cap;
    }
    if (len)
        memcpy(e->kv + e->klen, val, len);
    e->vlen = len;
}

void fl_hmap_append(fl_hentry *e, const void *val, uint32_t len)
{
    uint32_t need = e->vlen + len;
    if (need > e->vcap) {
        uint32_t cap = e->vcap;
        while (cap < need)
            cap *= 2;
        e->kv = fl_xrealloc(e->kv, e->klen + cap);
        e->vcap = cap;
    }
    if (len)
        memcpy(e->kv + e->klen + e->vlen, val, len);
    e->vlen = need;
}

void fl_hmap_remove(fl_hmap *m, fl_hentry *e)
{
    uint32_t idx = (uint32_t)(e - m->entries);
    uint32_t i = mix(e->hash) & m->mask;
    while (m->slots[i] != idx)
        i = (i + 1) & m->mask;
    m->slots[i] = GONE;
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
