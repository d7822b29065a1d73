/* rocksdb_snap.c -- drives the RocksDB keyed backend (taskmanager/state/rocksdb_*.c)
 * through checkpoints of a large state, for bench/rocksdb_checkpoint.sh (issue 6, point 13).
 *
 *   flint-rocksdb_snap --dir D [--mb 1024] [--value 1000] [--change 1] [--restore]
 *
 * Fills one backend (key groups 0..127 of 128, one state) with --mb MB of keys and
 * incompressible --value-byte values and waits for compaction to settle (the SST files of
 * its directory unchanged for 3 s). It then takes incremental checkpoints and completes
 * them until compaction leaves the last one's files alone (the first uploads everything),
 * changes --change percent of the keys, and takes that state both ways: an incremental
 * checkpoint (only new SSTs uploaded; it also pays the memtable flush), then a full one
 * (every file copied). Storage is D/job/{chk-N,shared}, the backend's local directory
 * D/io. Each checkpoint prints one line of key=value figures (sync_ms: part 1 on the task
 * thread, async_s: part 2, total_s, written bytes, state bytes); --restore also times
 * restoring the incremental checkpoint into a fresh backend and checks every value. The
 * last line: full and incremental seconds and bytes and their ratio.
 * Exit 0 only if everything succeeded.
 */
#include "common/keygroup.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/checkpoint.pb-c.h"
#include "state_values.h"
#include "taskmanager/state/keyed.h"

#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXP 128

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct figures {
    double sync_ms, async_s;
    uint64_t written, state;
    uint8_t *handle;
    size_t hlen;
} figures;

static int checkpoint(fl_kbackend *b, const char *job, int64_t id, bool incremental,
                      figures *f)
{
    char dir[4200], shared[4200];
    fl_err err;
    snprintf(dir, sizeof dir, "%s/chk-%" PRId64, job, id);
    snprintf(shared, sizeof shared, "%s/shared", job);
    if (fl_mkdirs(dir, &err) < 0)
        goto fail;
    fl_snapshot_ctx sc = {dir, shared, "op-0", id, incremental, false, false};
    int64_t t0 = fl_mono_ns();
    fl_kb_snapshot *snap = b->ops->snapshot(b, &sc, &err);
    if (!snap)
        goto fail;
    int64_t t1 = fl_mono_ns();
    int rc = b->ops->snapshot_write(snap, &f->handle, &f->hlen, &err);
    int64_t t2 = fl_mono_ns();
    b->ops->snapshot_free(snap);
    if (rc < 0)
        goto fail;
    Fl__Pb__KeyedStateHandle *h = fl__pb__keyed_state_handle__unpack(NULL, f->hlen, f->handle);
    if (!h) {
        fl_err_set(&err, "the handle does not decode");
        goto fail;
    }
    f->sync_ms = (double)(t1 - t0) / 1e6;
    f->async_s = (double)(t2 - t1) / 1e9;
    f->written = h->incremental_size;
    f->state = h->state_size;
    printf("checkpoint=%" PRId64 " kind=%s files=%zu sync_ms=%.1f async_s=%.3f total_s=%.3f "
           "written=%" PRIu64 " state=%" PRIu64 "\n",
           id, incremental ? "incremental" : "full", h->n_files, f->sync_ms, f->async_s,
           f->sync_ms / 1e3 + f->async_s, f->written, f->state);
    fflush(stdout);
    fl__pb__keyed_state_handle__free_unpacked(h, NULL);
    return 0;
fail:
    fprintf(stderr, "checkpoint %" PRId64 ": %s\n", id, err.msg);
    return -1;
}

/* Names and sizes of the live DB's SST files (the backend's directory under io/). */
static uint64_t sst_signature(const char *io)
{
    char pat[4300];
    glob_t g;
    uint64_t sig = 0;
    snprintf(pat, sizeof pat, "%s/flint-rocksdb-bench-*/db/*.sst", io);
    if (glob(pat, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct stat st;
        if (stat(g.gl_pathv[i], &st) == 0)
            sig += fl_key_hash(g.gl_pathv[i], strlen(g.gl_pathv[i])) * 31u + (uint64_t)st.st_size;
    }
    globfree(&g);
    return sig;
}

/* Waits until background compactions are over: the SST files unchanged for 3 s. */
static void wait_settled(const char *io)
{
    uint64_t sig = sst_signature(io);
    int64_t since = fl_mono_ms(), deadline = since + 300000;
    while (fl_mono_ms() - since < 3000 && fl_mono_ms() < deadline) {
        usleep(250000);
        uint64_t now = sst_signature(io);
        if (now != sig) {
            sig = now;
            since = fl_mono_ms();
        }
    }
}

static void set_key(fl_kbackend *b, uint64_t i, uint64_t *kbuf)
{
    *kbuf = i;
    fl_kbackend_set_key(b, kbuf, sizeof *kbuf);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    uint64_t mb = 1024;
    uint32_t vlen = 1000;
    double change = 1.0;
    bool do_restore = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--value") && i + 1 < argc)
            vlen = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--change") && i + 1 < argc)
            change = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--restore"))
            do_restore = true;
        else {
            fprintf(stderr, "usage: %s --dir D [--mb 1024] [--value 1000] [--change 1] "
                            "[--restore]\n", argv[0]);
            return 2;
        }
    }
    if (!dir || vlen == 0 || vlen > (1u << 20) || mb == 0) {
        fprintf(stderr, "%s: --dir is required; --value in 1..1048576, --mb > 0\n", argv[0]);
        return 2;
    }
    fl_log_init(FL_LOG_WARN);
    char io[4200], job[4200];
    snprintf(io, sizeof io, "%s/io", dir);
    snprintf(job, sizeof job, "%s/job", dir);
    fl_err err;
    fl_kbackend *b = fl_kbackend_rocksdb_new(MAXP, 0, MAXP - 1, io, "bench", NULL, &err);
    if (!b) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    fl_kstate *s = fl_kstate_get_or_create(b, "user:value");
    uint64_t nkeys = (mb << 20) / (vlen + 8 + 6);
    uint8_t *val = fl_xmalloc(vlen + 8);
    uint8_t *ver = fl_xcalloc(nkeys, 1);
    uint64_t key;
    int64_t t0 = fl_mono_ns();
    for (uint64_t i = 0; i < nkeys; i++) {
        set_key(b, i, &key);
        value_of(i, 0, val, vlen);
        b->ops->put(s, NULL, 0, val, vlen);
    }
    printf("filled keys=%" PRIu64 " value=%u bytes=%" PRIu64 " fill_s=%.1f\n", nkeys, vlen,
           nkeys * (vlen + 8), (double)(fl_mono_ns() - t0) / 1e9);
    fflush(stdout);

    int rc = 1;
    figures first = {0}, full = {0}, incr = {0};
    /* steady state first: checkpoint (and complete) until compaction leaves the files that
     * the last completed checkpoint uploaded alone */
    int64_t id = 0;
    wait_settled(io);
    for (int round = 0; round < 5; round++) {
        free(first.handle);
        first.handle = NULL;
        if (checkpoint(b, job, ++id, true, &first) < 0)
            goto out;
        b->ops->notify_complete(b, id);
        uint64_t sig = sst_signature(io);
        wait_settled(io);
        if (sst_signature(io) == sig)
            break;
    }
    uint64_t nchange = (uint64_t)((double)nkeys * change / 100.0);
    for (uint64_t c = 0; c < nchange; c++) {
        uint64_t i = next_rand() % nkeys;
        ver[i] = 1;
        set_key(b, i, &key);
        value_of(i, 1, val, vlen);
        b->ops->put(s, NULL, 0, val, vlen);
    }
    printf("changed keys=%" PRIu64 " (%.2f%%)\n", nchange, change);
    /* the same state both ways, neither completed: incremental first (it pays the flush) */
    int64_t incr_id = id + 1;
    if (checkpoint(b, job, incr_id, true, &incr) < 0 ||
        checkpoint(b, job, incr_id + 1, false, &full) < 0)
        goto out;
    if (do_restore) {
        char chk[4300];
        snprintf(chk, sizeof chk, "%s/chk-%" PRId64, job, incr_id);
        fl_kbackend *r = fl_kbackend_rocksdb_new(MAXP, 0, MAXP - 1, io, "restore", NULL, &err);
        if (!r) {
            fprintf(stderr, "%s\n", err.msg);
            goto out;
        }
        int64_t r0 = fl_mono_ns();
        const uint8_t *hs[1] = {incr.handle};
        if (r->ops->restore(r, chk, hs, &incr.hlen, 1, &err) < 0) {
            fprintf(stderr, "restore: %s\n", err.msg);
            fl_kbackend_free(r);
            goto out;
        }
        double restore_s = (double)(fl_mono_ns() - r0) / 1e9;
        fl_kstate *rs = fl_kstate_get_or_create(r, "user:value");
        uint64_t bad = 0;
        for (uint64_t i = 0; i < nkeys; i++) {
            const void *v;
            uint32_t n;
            set_key(r, i, &key);
            value_of(i, ver[i], val, vlen);
            if (!r->ops->get(rs, NULL, 0, &v, &n) || n != vlen || memcmp(v, val, vlen) != 0)
                bad++;
        }
        printf("restore_s=%.2f checked=%" PRIu64 " wrong=%" PRIu64 "\n", restore_s, nkeys, bad);
        fl_kbackend_free(r);
        if (bad)
            goto out;
    }
    printf("result full_s=%.3f full_bytes=%" PRIu64 " incremental_s=%.3f incremental_bytes=%"
           PRIu64 " state_bytes=%" PRIu64 " ratio=%.1f\n",
           full.sync_ms / 1e3 + full.async_s, full.written, incr.sync_ms / 1e3 + incr.async_s,
           incr.written, incr.state,
           (full.sync_ms / 1e3 + full.async_s) / (incr.sync_ms / 1e3 + incr.async_s));
    rc = 0;
out:
    free(first.handle);
    free(full.handle);
    free(incr.handle);
    free(val);
    free(ver);
    fl_kbackend_free(b);
    return rc;
}
