/* writer.c -- record writers (writer.h). Task thread; per record a key extraction at most,
 * a hash, and a copy into the partition's buffer.
 */
#include "writer.h"
#include "common/keygroup.h"
#include "common/util.h"

#include <string.h>

static inline void put_hdr(uint8_t *h, int64_t ts)
{
    h[0] = FL_ELEM_RECORD;
    memcpy(h + 1, &ts, 8);
}

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

void fl_writer_write(fl_writer *w, const fl_rec *r)
{
    uint8_t hdr[FL_ELEM_HDR];
    int sub = 0, rc;
    put_hdr(hdr, r->ts);
    switch (w->partitioner) {
    case FL__PB__PARTITIONER__PART_FORWARD:
    case FL__PB__PARTITIONER__PART_GLOBAL:
        sub = 0;
        break;
    case FL__PB__PARTITIONER__PART_HASH: {
        if (w->nsub == 1) /* one consumer: it has every key group (and checks the key) */
            break;
        uint8_t key[FL_MAX_KEY];
        int klen = fl_keysel_extract(&w->key, r, key);
        if (FL_UNLIKELY(klen < 0)) {
            fl_fail(w->failure, "cannot take the key of a %u-byte record for keyBy (key field "
                                "outside the record, or a key longer than %d bytes)",
                    r->len, FL_MAX_KEY);
            return;
        }
        int kg = fl_key_group(fl_key_hash(key, (size_t)klen), w->max_parallelism);
        sub = fl_key_group_subtask(kg, w->nsub, w->max_parallelism);
        break;
    }
    case FL__PB__PARTITIONER__PART_REBALANCE:
    case FL__PB__PARTITIONER__PART_RESCALE:
        sub = (int)(w->rr++ % (uint32_t)w->nsub);
        break;
    case FL__PB__PARTITIONER__PART_SHUFFLE:
        sub = (int)(xorshift(&w->rng) % (uint64_t)w->nsub);
        break;
    case FL__PB__PARTITIONER__PART_BROADCAST:
        if (fl_partition_broadcast(w->part, hdr, sizeof hdr, r->data, r->len) < 0)
            fl_fail(w->failure, "%s", fl_partition_error(w->part));
        return;
    case FL__PB__PARTITIONER__PART_CUSTOM: {
        uint8_t key[FL_MAX_KEY];
        int klen = fl_keysel_extract(&w->key, r, key);
        sub = klen < 0 ? -1 : w->custom(key, (uint32_t)klen, w->nsub);
        if (sub < 0 || sub >= w->nsub) {
            fl_fail(w->failure, "the custom partitioner chose partition %d of %d", sub,
                    w->nsub);
            return;
        }
        break;
    }
    default:
        break;
    }
    rc = fl_partition_emit(w->part, sub, hdr, sizeof hdr, r->data, r->len);
    if (FL_UNLIKELY(rc < 0))
        fl_fail(w->failure, "%s", fl_partition_error(w->part));
}

void fl_writer_event(fl_writer *w, uint8_t type, const void *payload, uint32_t len)
{
    if (fl_partition_emit_event(w->part, -1, type, payload, len) < 0)
        fl_fail(w->failure, "%s", fl_partition_error(w->part));
}

void fl_writer_event_to(fl_writer *w, uint32_t sub, uint8_t type, const void *payload,
                        uint32_t len)
{
    if (w->nsub > 0 &&
        fl_partition_emit_event(w->part, (int)(sub % (uint32_t)w->nsub), type, payload, len) < 0)
        fl_fail(w->failure, "%s", fl_partition_error(w->part));
}
