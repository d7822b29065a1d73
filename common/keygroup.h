/* keygroup.h -- hashing keys and Flink's key-group assignment (DESIGN.md §4):
 *   key -> murmur3 -> key group kg in [0, maxParallelism) -> subtask kg * p / maxParallelism.
 * Keyed state is kept and snapshotted per key group, which is what lets a savepoint be
 * restored at another parallelism. Pure functions, any thread. */
#ifndef FL_KEYGROUP_H
#define FL_KEYGROUP_H

#include <stddef.h>
#include <stdint.h>

uint32_t fl_murmur3_32(const void *data, size_t len, uint32_t seed);

static inline uint32_t fl_key_hash(const void *key, size_t len)
{
    return fl_murmur3_32(key, len, 0x9747b28cu);
}

static inline int fl_key_group(uint32_t hash, int max_parallelism)
{
    return (int)(hash % (uint32_t)max_parallelism);
}

static inline int fl_key_group_subtask(int kg, int parallelism, int max_parallelism)
{
    return (int)((int64_t)kg * parallelism / max_parallelism);
}

/* The key groups [*first, *last] of subtask i (Flink's KeyGroupRangeAssignment). */
static inline void fl_key_group_range(int i, int parallelism, int max_parallelism, int *first,
                                      int *last)
{
    *first = (int)(((int64_t)i * max_parallelism + parallelism - 1) / parallelism);
    *last = (int)(((int64_t)(i + 1) * max_parallelism - 1) / parallelism);
}

#endif
