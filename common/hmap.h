/* hmap.h -- Flint's hash map: byte-string keys, byte-string values, the caller's hash.
 *
 * Open addressing over a compact index (like CPython's dict): a power-of-two table of
 * 32-bit slots pointing into an append-only entry array, so iteration is in insertion
 * order. The caller passes the key's hash (keyed state computes it once per record for the
 * key group too). A small key and value live inside the entry, larger ones in one
 * allocation per entry; updating a value of the same or smaller size writes in place.
 *
 * Copy-on-write snapshots (what Flink's CopyOnWriteStateMap gives its heap backend): the
 * entries live in chunks of 256; fl_hmap_snapshot takes a reference to every chunk (no
 * entry is copied) and another thread may read the snapshot while the owner goes on
 * writing: a write into a chunk a snapshot holds copies that chunk first, and a value
 * stored out of the entry is copied when it is written while shared. So a checkpoint's
 * synchronous part is O(entries / 256) and processing continues while it is written.
 *
 * One owner thread (a task); snapshots may be read and freed by any one other thread.
 */
#ifndef FL_HMAP_H
#define FL_HMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Keys and values of up to FL_HENTRY_INLINE bytes together live in the entry itself (one
 * cache line with the header: a lookup touches the slot and the entry, nothing else);
 * larger ones in an allocation of their own. */
#define FL_HENTRY_INLINE 40

typedef struct fl_hentry {
    uint32_t hash;
    uint32_t klen, vlen, vcap;
    int32_t tag;       /* owner's use: the key group in keyed state */
    bool live;
    union {
        uint8_t *kv;   /* key bytes, then value bytes (vcap of them) */
        uint8_t inl[FL_HENTRY_INLINE];
    } u;
} fl_hentry;

static inline bool fl_hentry_inline(const fl_hentry *e)
{
    return e->klen + e->vcap <= FL_HENTRY_INLINE;
}
static inline uint8_t *fl_hentry_kv(fl_hentry *e)
{
    return fl_hentry_inline(e) ? e->u.inl : e->u.kv;
}
static inline const uint8_t *fl_hentry_key(fl_hentry *e) { return fl_hentry_kv(e); }
/* Valid until the next insert into the map (entries move) or change of this value. */
static inline uint8_t *fl_hentry_val(fl_hentry *e) { return fl_hentry_kv(e) + e->klen; }

typedef struct fl_hmap fl_hmap;

fl_hmap *fl_hmap_new(void);
void fl_hmap_free(fl_hmap *m);
/* The entry for key, or NULL; for reading. Valid until the next change of the map. */
fl_hentry *fl_hmap_find(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen);
/* The same, for writing its value in place (or fl_hmap_set/append). */
fl_hentry *fl_hmap_find_mut(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen);
/* The entry for key, for writing, created with an empty value when missing (*created
 * tells). */
fl_hentry *fl_hmap_upsert(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen,
                          bool *created);
/* Copies len bytes as e's value (e from find_mut or upsert). */
void fl_hmap_set(fl_hentry *e, const void *val, uint32_t len);
/* Appends len bytes to e's value (amortized: the room doubles). */
void fl_hmap_append(fl_hentry *e, const void *val, uint32_t len);
/* Removes e (from any find). */
void fl_hmap_remove(fl_hmap *m, fl_hentry *e);
uint32_t fl_hmap_size(const fl_hmap *m);
/* Iterates live entries in insertion order: start with *cursor = 0; NULL at the end. */
fl_hentry *fl_hmap_next(fl_hmap *m, uint32_t *cursor);

/* Starts loading the memory a lookup of hash will touch, so that several lookups' cache
 * misses overlap: step 0 the slot, step 1 (after step 0 for the same hash) the entry its
 * slot points to. Reads nothing it has not loaded yet; a hint, no effect on results. */
void fl_hmap_prefetch(const fl_hmap *m, uint32_t hash, int step);

/* Checks the map's invariants (listed above fl_hmap_validate in hmap.c): 0, or -1 with
 * the first one broken in err. O(size); for tests, after mutations. */
int fl_hmap_validate(const fl_hmap *m, fl_err *err);

/* A frozen view of the map at the time of the call (see the top). */
typedef struct fl_hmap_snap fl_hmap_snap;
fl_hmap_snap *fl_hmap_snapshot(fl_hmap *m);
/* Its live entries in insertion order, as fl_hmap_next; read only. */
fl_hentry *fl_hmap_snap_next(fl_hmap_snap *s, uint32_t *cursor);
uint32_t fl_hmap_snap_size(const fl_hmap_snap *s);
void fl_hmap_snap_free(fl_hmap_snap *s);

#endif
