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
 * files and threads; the layout both files use is in rocksdb_internal.h.
 */
#include "common/log.h"
#include "common/util.h"
#include "common/workdir.h"
#include "rocksdb_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RDB_MERGE_NAME "flint.append"

/* ---- RocksDB's error style ------------------------------------------------------------ */

/* The one place RocksDB's `char **errptr` becomes ours: 0 when e is NULL, else -1 with
 * "what: message" in err (e is freed). */
int fl_rdb_status(char *e, fl_err *err, const char *what)
{
    if (!e)
        return 0;
    fl_err_set(err, "%s: %s", what, e);
    rocksdb_free(e);
    return -1;
}

/* An access (task thread, no error path) failed: remember and log the first failure. */
static void access_status(rdb_backend *b, char *e, const char *what)
{
    fl_err err;
    if (fl_rdb_status(e, &err, what) == 0 || b->failed)
        return;
    b->failed = true;
    b->fail = err;
    fl_error("RocksDB state backend in %s: %s", b->dir, err.msg);
}

/* ---- append as a merge operator ------------------------------------------------------- */

static char *concat(const char *first, size_t flen, const char *const *ops, const size_t *lens,
                    int nops, unsigned char *success, size_t *out_len)
{
    size_t n = flen;
    for (int i = 0; i < nops; i++)
        n += lens[i];
    char *out = malloc(n ? n : 1);
    if (!out) {
        *success = 0;
        return NULL;
    }
    if (flen)
        memcpy(out, first, flen);
    size_t at = flen;
    for (int i = 0; i < nops; i++) {
        if (lens[i])
            memcpy(out + at, ops[i], lens[i]);
        at += lens[i];
    }
    *out_len = n;
    *success = 1;
    return out;
}

static char *append_full_merge(void *st, const char *key, size_t klen, const char *existing,
                               size_t elen, const char *const *ops, const size_t *lens,
                               int nops, unsigned char *success, size_t *out_len)
{
    return concat(existing, existing ? elen : 0, ops, lens, nops, success, out_len);
}

static char *append_partial_merge(void *st, const char *key, size_t klen,
                                  const char *const *ops, const size_t *lens, int nops,
                                  unsigned char *success, size_t *out_len)
{
    return concat(NULL, 0, ops, lens, nops, success, out_len);
}

static void append_delete(void *st, const char *v, size_t n)
{
    free((void *)v);
}

static const char *append_name(void *st)
{
    return RDB_MERGE_NAME;
}

static void append_destroy(void *st)
{
}

/* Options for our DB and for reading snapshots: the merge operator (owned by the options,
 * shared with the column families created from them), quiet info log. */
/* One block cache for every backend of the process, as Flink shares one per slot's managed
 * memory: reads of all operators' SST files share RDB_BLOCK_CACHE bytes. */
#define RDB_BLOCK_CACHE (64u << 20)
#define RDB_WRITE_BUFFER (8u << 20) /* a small memtable: its skiplist is searched per get */

static rocksdb_cache_t *block_cache;
static pthread_once_t block_cache_once = PTHREAD_ONCE_INIT;

static void block_cache_init(void)
{
    block_cache = rocksdb_cache_create_lru(RDB_BLOCK_CACHE);
}

rocksdb_options_t *fl_rdb_make_options(bool create)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, create);
    rocksdb_options_set_info_log_level(o, 2 /* WARN */);
    rocksdb_options_set_keep_log_file_num(o, 2);
    rocksdb_options_set_write_buffer_size(o, RDB_WRITE_BUFFER);
    /* bloom filters: a get of a key that is not in an SST file skips it */
    pthread_once(&block_cache_once, block_cache_init);
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_block_cache(t, block_cache);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);
    rocksdb_options_set_merge_operator(
        o, rocksdb_mergeoperator_create(NULL, append_destroy, append_full_merge,
                                        append_partial_merge, append_delete, append_name));
    return o;
}

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

fl_kstate *fl_rdb_state(fl_kbackend *kb, const char *name)
{
    rdb_backend *b = (rdb_backend *)kb;
    for (int i = 0; i < b->nstates; i++)
        if (strcmp(b->states[i]->name, name) == 0)
            return b->states[i];
    fl_kstate *s = fl_xcalloc(1, sizeof *s);
    s->b = b;
    s->name = fl_xstrdup(name);
    if (strcmp(name, "default") == 0) {
        s->cf = b->default_cf;
    } else {
        char *e = NULL;
        s->cf = rocksdb_create_column_family(b->db, b->opts, name, &e);
        if (e) {
            s->cf = NULL;
            access_status(b, e, "rocksdb_create_column_family");
        }
    }
    b->states = fl_xrealloc(b->states, (size_t)(b->nstates + 1) * sizeof *b->states);
    b->states[b->nstates++] = s;
    return s;
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
        access_status(b, e, "rocksdb_get");
        return false;
    }
    if (!s->pin)
        return false;
    *val = rocksdb_pinnableslice_value(s->pin, &vlen);
    if (FL_UNLIKELY(vlen > UINT32_MAX)) {
        access_status(b, fl_xstrdup("value longer than 4 GiB"), "rocksdb_get");
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
    char *e = NULL;
    rocksdb_put_cf(b->db, b->wo, s->cf, k, klen, val, len, &e);
    if (FL_UNLIKELY(e))
        access_status(b, e, "rocksdb_put");
}

static void rdb_append(fl_kstate *s, const void *ns, uint32_t nslen, const void *val,
                       uint32_t len)
{
    rdb_backend *b = s->b;
    if (FL_UNLIKELY(!s->cf))
        return;
    size_t klen;
    const char *k = make_key(b, ns, nslen, &klen);
    char *e = NULL;
    rocksdb_merge_cf(b->db, b->wo, s->cf, k, klen, val, len, &e);
    if (FL_UNLIKELY(e))
        access_status(b, e, "rocksdb_merge");
}

static void rdb_remove(fl_kstate *s, const void *ns, uint32_t nslen)
{
    rdb_backend *b = s->b;
    if (FL_UNLIKELY(!s->cf))
        return;
    size_t klen;
    const char *k = make_key(b, ns, nslen, &klen);
    char *e = NULL;
    rocksdb_delete_cf(b->db, b->wo, s->cf, k, klen, &e);
    if (FL_UNLIKELY(e))
        access_status(b, e, "rocksdb_delete");
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void rdb_free(fl_kbackend *kb)
{
    rdb_backend *b = (rdb_backend *)kb;
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
    fl_rdb_sst_set_clear(&b->confirmed);
    for (size_t i = 0; i < b->npending; i++)
        fl_rdb_sst_set_clear(&b->pending[i]);
    free(b->pending);
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
                                     const char *tmp_dir, const char *name, fl_err *err)
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
    b->confirmed.id = INT64_MIN;
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
    b->opts = fl_rdb_make_options(true);
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
