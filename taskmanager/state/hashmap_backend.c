/* hashmap_backend.c -- the in-memory keyed backend ("hashmap", Flink's HashMapStateBackend):
 * each named state is one fl_hmap whose keys are the record key followed by the namespace,
 * tagged with their key group. One task thread. */
#include "hmap.h"
#include "keygroup.h"
#include "state/keyed.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hm_backend hm_backend;

struct fl_kstate {
    hm_backend *b;
    char name[128];
    fl_hmap *map;
};

struct hm_backend {
    fl_kbackend base; /* first */
    fl_kstate **states;
    int nstates;
    uint8_t *scratch; /* key + namespace */
    uint32_t scap;
};

/* The map key for (current key, ns): the key itself when ns is empty. */
static const uint8_t *full_key(hm_backend *b, const void *ns, uint32_t nslen, uint32_t *len,
                               uint32_t *hash)
{
    const fl_kbackend *kb = &b->base;
    if (nslen == 0) {
        *len = kb->klen;
        *hash = kb->hash;
        return kb->key;
    }
    uint32_t n = kb->klen + nslen;
    if (n > b->scap) {
        b->scap = n * 2;
        b->scratch = fl_xrealloc(b->scratch, b->scap);
    }
    memcpy(b->scratch, kb->key, kb->klen);
    memcpy(b->scratch + kb->klen, ns, nslen);
    *len = n;
    *hash = kb->hash ^ fl_murmur3_32(ns, nslen, 0x2545f491u);
    return b->scratch;
}

static fl_kstate *hm_state(fl_kbackend *kb, const char *name)
{
    hm_backend *b = (hm_backend *)kb;
    for (int i = 0; i < b->nstates; i++)
        if (strcmp(b->states[i]->name, name) == 0)
            return b->states[i];
    fl_kstate *s = fl_xcalloc(1, sizeof *s);
    s->b = b;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->map = fl_hmap_new();
    b->states = fl_xrealloc(b->states, (size_t)(b->nstates + 1) * sizeof *b->states);
    b->states[b->nstates++] = s;
    return s;
}

static bool hm_get(fl_kstate *s, const void *ns, uint32_t nslen, const void **val, uint32_t *len)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_find(s->map, hash, k, klen);
    if (!e)
        return false;
    *val = fl_hentry_val(e);
    *len = e->vlen;
    return true;
}

static void hm_put(fl_kstate *s, const void *ns, uint32_t nslen, const void *val, uint32_t len)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_upsert(s->map, hash, k, klen, NULL);
    e->tag = s->b->base.kg;
    fl_hmap_set(e, val, len);
}

static void hm_append(fl_kstate *s, const void *ns, uint32_t nslen, const void *val,
                      uint32_t len)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_upsert(s->map, hash, k, klen, NULL);
    e->tag = s->b->base.kg;
    fl_hmap_append(e, val, len);
}

static void hm_remove(fl_kstate *s, const void *ns, uint32_t nslen)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_find(s->map, hash, k, klen);
    if (e)
        fl_hmap_remove(s->map, e);
}

static void hm_free(fl_kbackend *kb)
{
    hm_backend *b = (hm_backend *)kb;
    for (int i = 0; i < b->nstates; i++) {
        fl_hmap_free(b->states[i]->map);
        free(b->states[i]);
    }
    free(b->states);
    free(b->scratch);
    free(b);
}

static const fl_kbackend_ops hm_ops = {hm_state, hm_get, hm_put, hm_remove, hm_append, hm_free};

fl_kbackend *fl_kbackend_hashmap_new(int max_parallelism, int kg_first, int kg_last)
{
    hm_backend *b = fl_xcalloc(1, sizeof *b);
    b->base.ops = &hm_ops;
    b->base.max_parallelism = max_parallelism;
    b->base.kg_first = kg_first;
    b->base.kg_last = kg_last;
    return &b->base;
}

void fl_kbackend_free(fl_kbackend *b)
{
    if (b)
        b->ops->free(b);
}

void fl_kbackend_set_key(fl_kbackend *b, const void *key, uint32_t klen)
{
    b->key = key;
    b->klen = klen;
    b->hash = fl_key_hash(key, klen);
    b->kg = fl_key_group(b->hash, b->max_parallelism);
}
