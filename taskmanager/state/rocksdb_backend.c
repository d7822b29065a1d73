/* rocksdb_backend.c -- the RocksDB keyed backend ("rocksdb", Flink's EmbeddedRocksDBStateBackend).
 *
 * One RocksDB per keyed operator instance, in a fresh directory under io.tmp.dirs that is
 * removed when the backend is freed. A column family per named state (created on first use;
 * a state named "default" uses RocksDB's default family). Keys are
 *     [key group: u16 big-endian][key length: u32 big-endian][key][namespace]
 * so that each key group is one contiguous range of every column family; values are stored
 * as given, and append is a merge operand that a concatenating merge operator folds in
 * (list state and window contents grow without a read-modify-write). Writes skip the WAL:
 * checkpoints, not the log, make state durable.
 *
 * Threads: the task thread does every access here. Snapshots (taking, uploading, the SSTs
 * of incremental ones) and restore are in rocksdb_snapshot.c, which also describes their
 * files and threads; the layout both files use is in rocksdb_internal.h, and what both
 * build on (RocksDB's error style, the options and merge operator, a state's column family)
 * in rocksdb_db.c.
 */
#include "common/log.h"
#include "common/util.h"
#include "common/workdir.h"
#include "rocksdb_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- access ---------------------------------------------------------------------------- */

/* The RocksDB key of (current key, ns) in the backend's reusable buffer. */
static const char *make_key(rdb_backend *b, const void *ns, uint32_t nslen, size_t *len)
{
    const fl_kbackend *kb = &b->base;
    size_t n = 6 + (size_t)kb->klen + nslen;
    if (FL_UNLIKELY(n > b->kcap)) {
        b->kcap = n * 2 + 64;
        b->kbuf = fl_xrealloc(b->kbuf, b->kcap);
    }
    uint8_t *p = b->kbuf;
    uint32_t kl = kb->klen;
    p[0] = (uint8_t)(kb->kg >> 8);
    p[1] = (uint8_t)kb->kg;
    p[2] = (uint8_t)(kl >> 24);
    p[3] = (uint8_t)(kl >> 16);
    p[4] = (uint8_t)(kl >> 8);
    p[5] = (uint8_t)kl;
    if (kl)
        memcpy(p + 6, kb->key, kl);
    if (nslen)
        memcpy(p + 6 + kl, ns, nslen);
    *len = n;
    return (const char *)p;
}

/* The value stays valid until the next get() on the same state (it is pinned). */
static bool rdb_get(fl_kstate *s, const void *ns, uint32_t nslen, const void **val,
                    uint32_t *len)
{
    rdb_backend *b = s->b;
    if (s->pin) {
        rocksdb_pinnableslice_destroy(s->pin);
        s->pin = NULL;
    }
    if (FL_UNLIKELY(!s->cf))
        return false;
    size_t klen, vlen;
    const char *k = make_key(b, ns, nslen, &klen);
    char *e = NULL;
    s->pin = rocksdb_get_pinned_cf(b->db, b->ro, s->cf, k, klen, &e);
    if (FL_UNLIKELY(e)) {
        fl_rdb_access_status(b, e, "rocksdb_get");
        return false;
    }
    if (!s->pin)
        return false;
    *val = rocksdb_pinnableslice_value(s->pin, &vlen);
    if (FL_UNLIKELY(vlen > UINT32_MAX)) {
        fl_rdb_access_status(b, fl_xstrdup("value longer than 4 GiB"), "rocksdb_get");
        return false;
    }
    *len = (uint32_t)vlen;
    return true;
}

static void rdb_put(fl_kstate *s, const void *ns, uint32_t nslen, const void *val, uint32_t len)
{
    rdb_backend *b = s->b;
    if (FL_UNLIKELY(!s->cf))
        return;
    size_t klen;
    const char *k = make_key(b, ns, nslen, &klen);
    fl_rdb_charge(b, klen + len);
    char *e = NULL;
    rocksdb_put_cf(b->db, b->wo, s->cf, k, klen, val, len, &e);
    if (FL_UNLIKELY(e))
        fl_rdb_access_status(b, e, "rocksdb_put");
}

static void rdb_append(fl_kstate *s, const void *ns, uint32_t nslen, const void *val,
                       uint32_t len)
{
    rdb_backend *b = s->b;
    if (FL_UNLIKELY(!s->cf))
        return;
    size_t klen;
    const char *k = make_key(b, ns, nslen, &klen);
    fl_rdb_charge(b, klen + len);
    char *e = NULL;
    rocksdb_merge_cf(b->db, b->wo, s->cf, k, klen, val, len, &e);
    if (FL_UNLIKELY(e))
        fl_rdb_access_status(b, e, "rocksdb_merge");
}

static void rdb_remove(fl_kstate *s, const void *ns, uint32_t nslen)
{
    rdb_backend *b = s->b;
    if (FL_UNLIKELY(!s->cf))
        return;
    size_t klen;
    const char *k = make_key(b, ns, nslen, &klen);
    fl_rdb_charge(b, klen);
    char *e = NULL;
    rocksdb_delete_cf(b->db, b->wo, s->cf, k, klen, &e);
    if (FL_UNLIKELY(e))
        fl_rdb_access_status(b, e, "rocksdb_delete");
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void rdb_free(fl_kbackend *kb)
{
    rdb_backend *b = (rdb_backend *)kb;
    if (b->sh) /* first: a snapshot's listing may be using the DB and its families */
        fl_rdb_shared_close(b->sh);
    for (int i = 0; i < b->nstates; i++) {
        fl_kstate *s = b->states[i];
        if (s->pin)
            rocksdb_pinnableslice_destroy(s->pin);
        if (s->cf && s->cf != b->default_cf)
            rocksdb_column_family_handle_destroy(s->cf);
        free(s->name);
        free(s);
    }
    free(b->states);
    if (b->default_cf)
        rocksdb_column_family_handle_destroy(b->default_cf);
    if (b->db)
        rocksdb_close(b->db);
    if (b->ro)
        rocksdb_readoptions_destroy(b->ro);
    if (b->wo)
        rocksdb_writeoptions_destroy(b->wo);
    if (b->opts)
        rocksdb_options_destroy(b->opts);
    if (b->fo)
        rocksdb_flushoptions_destroy(b->fo);
    if (b->dir && fl_remove_tree(b->dir) < 0)
        fl_warn("cannot remove RocksDB directory %s: %s", b->dir, strerror(errno));
    if (b->lock_fd >= 0)
        close(b->lock_fd);
    free(b->dir);
    free(b->dbdir);
    free(b->kbuf);
    free(b);
}

static const fl_kbackend_ops rdb_ops = {
    .state = fl_rdb_state,
    .get = rdb_get,
    .put = rdb_put,
    .remove = rdb_remove,
    .append = rdb_append,
    .free = rdb_free,
    .snapshot = fl_rdb_snapshot,
    .snapshot_write = fl_rdb_snapshot_write,
    .snapshot_free = fl_rdb_snapshot_free,
    .restore = fl_rdb_restore,
    .notify_complete = fl_rdb_notify_complete,
    .get_mut = NULL, /* values live in RocksDB: read, modify, put */
};

int fl_kbackend_rocksdb_reap(const char *tmp_dir)
{
    return tmp_dir && *tmp_dir ? fl_workdir_reap(tmp_dir, FL_ROCKSDB_DIR_PREFIX) : 0;
}

fl_kbackend *fl_kbackend_rocksdb_new(int max_parallelism, int kg_first, int kg_last,
                                     const char *tmp_dir, const char *name,
                                     const fl_conf *conf, fl_err *err)
{
    if (max_parallelism < 1 || max_parallelism > 32768 || kg_first < 0 || kg_first > kg_last ||
        kg_last >= max_parallelism) {
        fl_err_set(err, "rocksdb state backend: bad key groups [%d, %d] of %d", kg_first,
                   kg_last, max_parallelism);
        return NULL;
    }
    if (!tmp_dir || !*tmp_dir) {
        fl_err_set(err, "rocksdb state backend: no local directory (io.tmp.dirs)");
        return NULL;
    }
    if (fl_mkdirs(tmp_dir, err) < 0)
        return NULL;
    char clean[48];
    size_t n = 0;
    for (const char *p = name ? name : ""; *p && n < sizeof clean - 1; p++)
        clean[n++] = ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')
                         ? *p
                         : '_';
    clean[n] = '\0';

    rdb_backend *b = fl_xcalloc(1, sizeof *b);
    b->lock_fd = -1;
    b->base.ops = &rdb_ops;
    b->base.max_parallelism = max_parallelism;
    b->base.kg_first = kg_first;
    b->base.kg_last = kg_last;
    b->sh = fl_rdb_shared_new();
    b->win_limit = UINT64_MAX;
    b->fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(b->fo, 0);
    fl_random_hex(b->inst, 8);
    char dir[4200], prefix[160];
    snprintf(prefix, sizeof prefix, FL_ROCKSDB_DIR_PREFIX "%s-", clean);
    b->lock_fd = fl_workdir_new(tmp_dir, prefix, dir, sizeof dir, err);
    if (b->lock_fd < 0)
        goto out_free;
    b->dir = fl_xstrdup(dir);
    b->dbdir = fl_xasprintf("%s/db", b->dir);
    /* the task thread makes every get and put: no per-call perf counters on it (RocksDB
     * keeps them in thread-locals, a quarter of the cost of a get and put here) */
    rocksdb_set_perf_level(1 /* kDisable */);
    fl_conf *defaults = conf ? NULL : fl_conf_new();
    b->opts = fl_rdb_make_options(true, conf ? conf : defaults);
    /* a quarter of a memtable: far from its flush (rocksdb_snapshot.c, the listing window) */
    b->win_cap = (uint64_t)fl_conf_get_bytes(conf ? conf : defaults,
                                             "state.backend.rocksdb.writebuffer.size") / 4;
    fl_conf_free(defaults);
    b->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(b->wo, 1);
    b->ro = rocksdb_readoptions_create();
    const char *cfname = "default";
    const rocksdb_options_t *cfopts = b->opts;
    char *e = NULL;
    b->db = rocksdb_open_column_families(b->opts, b->dbdir, 1, &cfname, &cfopts, &b->default_cf,
                                         &e);
    if (fl_rdb_status(e, err, "rocksdb_open") < 0) {
        fl_err_prefix(err, "rocksdb state backend in %s", b->dbdir);
        b->db = NULL;
        b->default_cf = NULL;
        goto out_free;
    }
    return &b->base;
out_free:
    rdb_free(&b->base);
    return NULL;
}
