/* hmap.h -- Flint's hash map: byte-string keys, byte-string values, the caller's hash.
 *
 * Open addressing over a compact index (like CPython's dict): a power-of-two table of
 * 32-bit slots pointing into an append-only entry array, so iteration is in insertion
 * order and entries do not move when the table grows. The caller passes the key's hash
 * (keyed state computes it once per record for the key group too). A key and its value
 * live in one allocation per entry; updating a value of the same or smaller size writes in
 * place. Not thread-safe: one owner thread (a task).
 */
#ifndef FL_HMAP_H
#define FL_HMAP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fl_hentry {
    uint32_t hash;
    uint32_t klen, vlen, vcap;
    int32_t tag;       /* owner's use: the key group in keyed state */
    bool live;
    uint8_t *kv;       /* key bytes, then value bytes (vcap of them) */
} fl_hentry;

static inline const uint8_t *fl_hentry_key(const fl_hentry *e) { return e->kv; }
static inline uint8_t *fl_hentry_val(const fl_hentry *e) { return e->kv + e->klen; }

typedef struct fl_hmap fl_hmap;

fl_hmap *fl_hmap_new(void);
void fl_hmap_free(fl_hmap *m);
/* The entry for key, or NULL. The pointer is valid until the next insert. */
fl_hentry *fl_hmap_find(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen);
/* The entry for key, created with an empty value when missing (*created tells). */
fl_hentry *fl_hmap_upsert(fl_hmap *m, uint32_t hash, const void *key, uint32_t klen,
                          bool *created);
/* Copies len bytes as e's value. */
void fl_hmap_set(fl_hentry *e, const void *val, uint32_t len);
/* Appends len bytes to e's value (amortized: the room doubles). */
void fl_hmap_append(fl_hentry *e, const void *val, uint32_t len);
void fl_hmap_remove(fl_hmap *m, fl_hentry *e);
uint32_t fl_hmap_size(const fl_hmap *m);
/* Iterates live entries in insertion order: start with *cursor = 0; NULL at the end. */
fl_hentry *fl_hmap_next(fl_hmap *m, uint32_t *cursor);

#endif
