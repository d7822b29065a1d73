/* state_values.h -- the values the state-backend tools (hashmap_snap.c, rocksdb_snap.c)
 * store: key i's value at version ver, pseudo-random (incompressible) and reproducible, so
 * a restore is checked against values computed again, never read back. */
#ifndef FL_STATE_VALUES_H
#define FL_STATE_VALUES_H

#include <stdint.h>
#include <string.h>

static inline void value_of(uint64_t i, uint32_t ver, uint8_t *out, uint32_t len)
{
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)ver << 56);
    for (uint32_t k = 0; k < len; k += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(out + k, &x, len - k < 8 ? len - k : 8);
    }
}

#endif
