/* hashmap_snap.c -- the hashmap keyed backend's checkpoints of a large state, for
 * bench/hashmap_checkpoint.sh (issue 6, point 3: the snapshot is written off the task
 * thread, copy-on-write, so processing continues).
 *
 *   flint-hashmap_snap --dir D [--keys 4000000] [--value 16]
 *
 * Fills one backend (key groups 0..127 of 128, one value state) with --keys 8-byte keys of
 * --value-byte values, then, in the same run:
 *   copy_ms     what a synchronous copy costs the task thread: every entry serialized into
 *               memory (the work of the first implementation's part 1)
 *   sync_ms     part 1 now (task thread): the copy-on-write snapshot
 *   async_ms    part 2 (another thread, as the checkpoint I/O thread): lay out, write, fsync
 *   update_base ms to update every key once with no snapshot alive
 *   update_cow  the same while part 2 of a snapshot runs on the other thread (every first
 *               write to a chunk copies it)
 * and checks that the file written while the updates ran restores to the values before
 * them. Last line: the figures and the ratios sync/copy and update_cow/update_base.
 * Exit 0 only if everything succeeded.
 */
#include "common/log.h"
#include "common/util.h"
#include "proto/checkpoint.pb-c.h"
#include "state_values.h"
#include "taskmanager/state/keyed.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXP 128

static void update_all(fl_kbackend *b, fl_kstate *st, uint64_t keys, uint32_t vlen,
                       uint32_t ver)
{
    uint8_t v[4096];
    for (uint64_t i = 0; i < keys; i++) {
        fl_kbackend_set_key(b, &i, sizeof i);
        value_of(i, ver, v, vlen);
        b->ops->put(st, NULL, 0, v, vlen);
    }
}

typedef struct writer {
    fl_kbackend *b;
    fl_kb_snapshot *snap;
    uint8_t *handle;
    size_t hlen;
    int rc;
    int64_t ns;
    fl_err err;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    int64_t t0 = fl_mono_ns();
    w->rc = w->b->ops->snapshot_write(w->snap, &w->handle, &w->hlen, &w->err);
    w->ns = fl_mono_ns() - t0;
    return NULL;
}

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    uint64_t keys = 4000000;
    uint32_t vlen = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--keys"))
            keys = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--value"))
            vlen = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    }
    if (!dir || !keys || !vlen || vlen > 4096) {
        fprintf(stderr, "usage: flint-hashmap_snap --dir D [--keys N] [--value BYTES]\n");
        return 2;
    }
    fl_log_init(FL_LOG_WARN);
    fl_err err;
    char chk[4200];
    snprintf(chk, sizeof chk, "%s/chk-1", dir);
    if (fl_mkdirs(chk, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    fl_kbackend *b = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    fl_kstate *st = fl_kstate_get_or_create(b, "v");
    update_all(b, st, keys, vlen, 1);

    /* the first implementation's part 1: everything copied on the task thread */
    int64_t t0 = fl_mono_ns();
    fl_snapshot_ctx sc = {chk, dir, "op-0", 1, false, false, false};
    fl_kb_snapshot *snap = b->ops->snapshot(b, &sc, &err);
    int64_t t_sync = fl_mono_ns() - t0;
    uint8_t *copy = fl_xmalloc(keys * (14 + 8 + vlen));
    size_t off = 0;
    t0 = fl_mono_ns();
    for (uint64_t i = 0; i < keys; i++) {
        const void *v;
        uint32_t len;
        fl_kbackend_set_key(b, &i, sizeof i);
        if (!b->ops->get(st, NULL, 0, &v, &len))
            return 1;
        memcpy(copy + off, &len, 4);
        memcpy(copy + off + 4, &i, 8);
        memcpy(copy + off + 12, v, len);
        off += 14 + 8 + len;
    }
    int64_t t_copy = fl_mono_ns() - t0;
    free(copy);

    /* updates with no writer running (the snapshot is dropped first) */
    b->ops->snapshot_free(snap);
    t0 = fl_mono_ns();
    update_all(b, st, keys, vlen, 2);
    int64_t t_base = fl_mono_ns() - t0;

    /* a snapshot of version 2 written on another thread while every key changes */
    t0 = fl_mono_ns();
    snap = b->ops->snapshot(b, &sc, &err);
    t_sync = fl_mono_ns() - t0 < t_sync ? fl_mono_ns() - t0 : t_sync;
    writer w = {.b = b, .snap = snap};
    pthread_t th;
    pthread_create(&th, NULL, writer_main, &w);
    t0 = fl_mono_ns();
    update_all(b, st, keys, vlen, 3);
    int64_t t_cow = fl_mono_ns() - t0;
    pthread_join(th, NULL);
    b->ops->snapshot_free(snap);
    if (w.rc < 0) {
        fprintf(stderr, "snapshot write: %s\n", w.err.msg);
        return 1;
    }

    /* the file holds version 2, whatever happened to the map meanwhile */
    fl_kbackend *r = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    const uint8_t *hp = w.handle;
    if (r->ops->restore(r, chk, &hp, &w.hlen, 1, &err) < 0) {
        fprintf(stderr, "restore: %s\n", err.msg);
        return 1;
    }
    fl_kstate *rs = fl_kstate_get_or_create(r, "v");
    uint8_t want[4096];
    for (uint64_t i = 0; i < keys; i++) {
        const void *v;
        uint32_t len;
        fl_kbackend_set_key(r, &i, sizeof i);
        value_of(i, 2, want, vlen);
        if (!r->ops->get(rs, NULL, 0, &v, &len) || len != vlen || memcmp(v, want, vlen)) {
            fprintf(stderr, "key %" PRIu64 ": the restored value is not the snapshot's\n", i);
            return 1;
        }
    }
    printf("keys=%" PRIu64 " value=%u copy_ms=%.1f sync_ms=%.2f async_ms=%.1f "
           "update_base_ms=%.1f update_cow_ms=%.1f sync/copy=%.4f update_cow/base=%.2f\n",
           keys, vlen, ms(t_copy), ms(t_sync), ms(w.ns), ms(t_base), ms(t_cow),
           (double)t_sync / (double)t_copy, (double)t_cow / (double)t_base);
    free(w.handle);
    fl_kbackend_free(r);
    fl_kbackend_free(b);
    return 0;
}
