/* keyed.h -- keyed state: the state-backend interface every keyed operator uses
 * (DESIGN.md §5-§6).
 *
 * A keyed backend belongs to one keyed operator instance (one task thread). Before handling
 * a record the operator sets the current key; each named state then reads and writes the
 * value of (current key, namespace), where the namespace is empty or, for windows, the
 * window. Every entry remembers its key group, so a snapshot can be written and restored
 * per key group (and so at another parallelism). Backends: hashmap (here, in memory);
 * rocksdb plugs in through the same operations.
 */
#ifndef FL_KEYED_H
#define FL_KEYED_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fl_kbackend fl_kbackend;
typedef struct fl_kstate fl_kstate;

typedef struct fl_kbackend_ops {
    fl_kstate *(*state)(fl_kbackend *b, const char *name);
    bool (*get)(fl_kstate *s, const void *ns, uint32_t nslen, const void **val, uint32_t *len);
    void (*put)(fl_kstate *s, const void *ns, uint32_t nslen, const void *val, uint32_t len);
    void (*remove)(fl_kstate *s, const void *ns, uint32_t nslen);
    /* Appends len bytes to the value (creating it): list state and window contents grow
     * without rewriting what is there. */
    void (*append)(fl_kstate *s, const void *ns, uint32_t nslen, const void *val, uint32_t len);
    void (*free)(fl_kbackend *b);
} fl_kbackend_ops;

/* The part every backend shares: what it serves and the current key. */
struct fl_kbackend {
    const fl_kbackend_ops *ops;
    int max_parallelism;
    int kg_first, kg_last;      /* key groups of this subtask */
    const uint8_t *key;         /* current key: valid while the record is processed */
    uint32_t klen;
    uint32_t hash;
    int kg;
};

fl_kbackend *fl_kbackend_hashmap_new(int max_parallelism, int kg_first, int kg_last);
void fl_kbackend_free(fl_kbackend *b);
/* Sets the current key (hashes it once: the key group and the map lookups share it). */
void fl_kbackend_set_key(fl_kbackend *b, const void *key, uint32_t klen);

/* A named state of the backend, created on first use. */
static inline fl_kstate *fl_kstate_get_or_create(fl_kbackend *b, const char *name)
{
    return b->ops->state(b, name);
}

#endif
