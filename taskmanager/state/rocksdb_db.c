/* rocksdb_db.c -- what both RocksDB files build on (rocksdb_internal.h): RocksDB's error
 * style made ours, the options of our DB and of the snapshots we read (the concatenating
 * merge operator that append relies on, the block cache every backend of the process
 * shares), and a named state's column family, created on first use. The backend's accesses
 * (rocksdb_backend.c) and restore (rocksdb_snapshot.c) call down to here; nothing here
 * calls them.
 *
 * Threads: the task thread calls here; the merge operator is also called by RocksDB's own
 * threads (flushes, compactions), and fl_rdb_status touches nothing shared.
 */
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "rocksdb_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RDB_MERGE_NAME "flint.append"

/* ---- RocksDB's error style ------------------------------------------------------------ */

int fl_rdb_status(char *e, fl_err *err, const char *what)
{
    if (!e)
        return 0;
    fl_err_set(err, "%s: %s", what, e);
    rocksdb_free(e);
    return -1;
}

void fl_rdb_access_status(rdb_backend *b, char *e, const char *what)
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

/* One block cache for every backend of the process, as Flink shares one per slot's managed
 * memory: reads of all operators' SST files share RDB_BLOCK_CACHE bytes. */
#define RDB_BLOCK_CACHE (64u << 20)

static rocksdb_cache_t *block_cache;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

/* Once per process: the block cache every DB shares, and the priority of RocksDB's
 * compaction threads (the default environment's LOW pool, shared by every DB): nice 19, as
 * RocksDB's LowerThreadPoolCPUPriority sets it, so that on busy cores compactions take what
 * the task threads leave (a compaction that falls behind stalls writes, RocksDB's own
 * backpressure, which gives it the cores back). Flushes (the HIGH pool) keep the normal
 * priority: a checkpoint's listing and the writes waiting for a free memtable wait on them. */
static void process_init(void)
{
    block_cache = rocksdb_cache_create_lru(RDB_BLOCK_CACHE);
    rocksdb_env_t *env = rocksdb_create_default_env();
    rocksdb_env_lower_thread_pool_cpu_priority(env);
    rocksdb_env_destroy(env);
}

rocksdb_options_t *fl_rdb_make_options(bool create, const fl_conf *conf)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, create);
    rocksdb_options_set_info_log_level(o, 2 /* WARN */);
    rocksdb_options_set_keep_log_file_num(o, 2);
    /* bloom filters: a get of a key that is not in an SST file skips it */
    pthread_once(&process_once, process_init);
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_block_cache(t, block_cache);
    if (conf) {
        /* Flink's state.backend.rocksdb.* keys (config_keys.h), with Flink's defaults:
         * 64 MB memtables, two background jobs, level compaction sized 64 MB / 256 MB */
        rocksdb_block_based_options_set_block_size(
            t, (size_t)fl_conf_get_bytes(conf, "state.backend.rocksdb.block.blocksize"));
        rocksdb_options_set_max_background_jobs(
            o, (int)fl_conf_get_int(conf, "state.backend.rocksdb.thread.num"));
        rocksdb_options_set_write_buffer_size(
            o, (size_t)fl_conf_get_bytes(conf, "state.backend.rocksdb.writebuffer.size"));
        rocksdb_options_set_max_write_buffer_number(
            o, (int)fl_conf_get_int(conf, "state.backend.rocksdb.writebuffer.count"));
        rocksdb_options_set_min_write_buffer_number_to_merge(
            o, (int)fl_conf_get_int(conf, "state.backend.rocksdb.writebuffer.number-to-merge"));
        const char *style = fl_conf_get_str(conf, "state.backend.rocksdb.compaction.style");
        rocksdb_options_set_compaction_style(
            o, !strcasecmp(style, "UNIVERSAL") ? rocksdb_universal_compaction
               : !strcasecmp(style, "FIFO")    ? rocksdb_fifo_compaction
                                               : rocksdb_level_compaction);
        rocksdb_options_set_level_compaction_dynamic_level_bytes(
            o, fl_conf_get_bool(conf, "state.backend.rocksdb.compaction.level.use-dynamic-size"));
        rocksdb_options_set_target_file_size_base(
            o, (uint64_t)fl_conf_get_bytes(
                   conf, "state.backend.rocksdb.compaction.level.target-file-size-base"));
        rocksdb_options_set_max_bytes_for_level_base(
            o, (uint64_t)fl_conf_get_bytes(
                   conf, "state.backend.rocksdb.compaction.level.max-size-level-base"));
    }
    /* a bloom filter over each memtable's keys: most gets (of keys not written since the
     * last flush) skip the memtable's skiplist search. 2 % of a 64 MB memtable is ~35 bits
     * a key for 200-byte entries (measured with 10 %: the 1 GB wordcount counted 7-13 %
     * faster; 2 % keeps a filter per memtable, column family and subtask small). */
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(o, 0.02);
    rocksdb_options_set_memtable_whole_key_filtering(o, 1);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);
    rocksdb_options_set_merge_operator(
        o, rocksdb_mergeoperator_create(NULL, append_destroy, append_full_merge,
                                        append_partial_merge, append_delete, append_name));
    return o;
}

/* ---- column families ------------------------------------------------------------------ */

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
            fl_rdb_access_status(b, e, "rocksdb_create_column_family");
        }
    }
    b->states = fl_xrealloc(b->states, (size_t)(b->nstates + 1) * sizeof *b->states);
    b->states[b->nstates++] = s;
    return s;
}
