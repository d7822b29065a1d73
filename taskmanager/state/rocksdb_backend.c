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
 * Threads: the task thread does every access, snapshot part 1, restore and notify_complete.
 * Part 2 runs on the snapshot I/O thread and touches only its fl_kb_snapshot: the files of a
 * RocksDB checkpoint (hard links into the live DB's immutable SSTs and copies of the rest),
 * which stay valid whatever the live DB does meanwhile.
 *
 * Snapshot files (paths in the handle are relative to the checkpoint directory):
 *   full         PREFIX-<file> for every file of the RocksDB checkpoint
 *   incremental  SSTs as ../shared/PREFIX-<instance>-<checkpoint>-<NNNNNN>.sst; a later
 *                checkpoint references those a *completed* checkpoint listed and uploads
 *                the others under its own names. A shared file is written once and never
 *                rewritten (the checkpoint id keeps an aborted checkpoint's files apart;
 *                the random instance id keeps a restarted backend, whose file numbers
 *                start again, apart). MANIFEST, CURRENT, OPTIONS and WAL files are copied
 *                as PREFIX-<file> every time.
 * Restore copies a handle's files into a local directory (hard links when possible), opens
 * that DB read-only and copies the entries of our key groups into our DB.
 */
#include "checkpoint.pb-c.h"
#include "keygroup.h"
#include "log.h"
#include "state/keyed.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RDB_BATCH_BYTES (4u << 20)  /* restore writes in batches of about this size */
#define RDB_SHARED "../shared/"
#define RDB_MERGE_NAME "flint.append"

typedef struct rdb_backend rdb_backend;

struct fl_kstate {
    rdb_backend *b;
    char *name;
    rocksdb_column_family_handle_t *cf;  /* NULL when creating it failed (b->failed) */
    rocksdb_pinnableslice_t *pin;        /* the value get() returned last */
};

/* An SST of an incremental snapshot: its name in the DB and where it lives in storage. */
typedef struct rdb_sst {
    char *name; /* "000012.sst" */
    char *rel;  /* "../shared/PREFIX-<instance>-<checkpoint>-000012.sst" */
    uint64_t size;
} rdb_sst;

/* The SSTs one incremental checkpoint lists, sorted by name. */
typedef struct rdb_sst_set {
    int64_t id;
    rdb_sst *v;
    size_t n;
} rdb_sst_set;

struct rdb_backend {
    fl_kbackend base; /* first */
    char *dir;        /* ours: db/, snap-*, restore-* */
    char *dbdir;
    char inst[17];    /* random hex naming our shared files */
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    rocksdb_column_family_handle_t *default_cf;
    fl_kstate **states;
    int nstates;
    uint8_t *kbuf;    /* the encoded key of the current access */
    size_t kcap;
    uint64_t nsnap;
    rdb_sst_set confirmed;  /* SSTs of the latest completed incremental checkpoint */
    rdb_sst_set *pending;   /* incremental snapshots not yet known complete */
    size_t npending;
    bool failed;            /* an access failed: the interface has no error path there, so */
    fl_err fail;            /* the error is kept and fails the next snapshot */
};

/* ---- RocksDB's error style ------------------------------------------------------------ */

/* The one place RocksDB's `char **errptr` becomes ours: 0 when e is NULL, else -1 with
 * "what: message" in err (e is freed). */
static int rdb_status(char *e, fl_err *err, const char *what)
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
    if (rdb_status(e, &err, what) == 0 || b->failed)
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
static rocksdb_options_t *make_options(bool create)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, create);
    rocksdb_options_set_info_log_level(o, 2 /* WARN */);
    rocksdb_options_set_keep_log_file_num(o, 2);
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

static fl_kstate *rdb_state(fl_kbackend *kb, const char *name)
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

/* ---- SST bookkeeping for incremental snapshots ------------------------------------------ */

static void sst_set_clear(rdb_sst_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i].name);
        free(set->v[i].rel);
    }
    free(set->v);
    set->v = NULL;
    set->n = 0;
}

static int sst_cmp(const void *a, const void *b)
{
    return strcmp(((const rdb_sst *)a)->name, ((const rdb_sst *)b)->name);
}

static const rdb_sst *sst_find(const rdb_sst_set *set, const char *name)
{
    rdb_sst key = {(char *)name, NULL, 0};
    return set->n ? bsearch(&key, set->v, set->n, sizeof *set->v, sst_cmp) : NULL;
}

/* The checkpoint completed: its SSTs are safe to reference from now on. A completed id
 * that listed none of ours (a savepoint, a full checkpoint) may have let storage drop the
 * older shared files, so nothing is referenced until the next incremental one completes. */
static void rdb_notify_complete(fl_kbackend *kb, int64_t id)
{
    rdb_backend *b = (rdb_backend *)kb;
    if (id <= b->confirmed.id)
        return;
    sst_set_clear(&b->confirmed);
    b->confirmed.id = id;
    size_t keep = 0;
    for (size_t i = 0; i < b->npending; i++) {
        rdb_sst_set *p = &b->pending[i];
        if (p->id == id) {
            b->confirmed = *p;
        } else if (p->id < id) {
            sst_set_clear(p);
        } else {
            b->pending[keep++] = *p;
        }
    }
    b->npending = keep;
}

/* ---- snapshot, part 1 (task thread) ------------------------------------------------------ */

typedef struct rdb_file {
    char *name;    /* in the local checkpoint */
    char *rel;     /* in the handle */
    uint64_t size;
    bool upload;   /* false: an SST an earlier checkpoint uploaded */
} rdb_file;

struct fl_kb_snapshot {
    char *local;   /* the RocksDB checkpoint: removed after upload or by snapshot_free */
    char *dir, *shared_dir;
    rdb_file *files;
    size_t nfiles;
    int kg_first, kg_last;
    bool incremental;
};

static bool is_sst(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sst") == 0;
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const rdb_file *)a)->name, ((const rdb_file *)b)->name);
}

/* Lists the files of the local checkpoint into snap->files. */
static int list_checkpoint(fl_kb_snapshot *snap, fl_err *err)
{
    DIR *d = opendir(snap->local);
    if (!d) {
        fl_err_set(err, "cannot open %s: %s", snap->local, strerror(errno));
        return -1;
    }
    struct dirent *de;
    size_t cap = 0;
    int rc = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
            fl_err_set(err, "cannot stat %s/%s: %s", snap->local, de->d_name, strerror(errno));
            rc = -1;
            break;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        if (snap->nfiles == cap) {
            cap = cap ? cap * 2 : 16;
            snap->files = fl_xrealloc(snap->files, cap * sizeof *snap->files);
        }
        rdb_file *f = &snap->files[snap->nfiles++];
        *f = (rdb_file){fl_xstrdup(de->d_name), NULL, (uint64_t)st.st_size, true};
    }
    closedir(d);
    if (snap->nfiles)
        qsort(snap->files, snap->nfiles, sizeof *snap->files, file_cmp);
    return rc;
}

static void rdb_snapshot_free(fl_kb_snapshot *snap)
{
    if (!snap)
        return;
    if (snap->local) {
        fl_remove_tree(snap->local);
        free(snap->local);
    }
    for (size_t i = 0; i < snap->nfiles; i++) {
        free(snap->files[i].name);
        free(snap->files[i].rel);
    }
    free(snap->files);
    free(snap->dir);
    free(snap->shared_dir);
    free(snap);
}

static fl_kb_snapshot *rdb_snapshot(fl_kbackend *kb, const fl_snapshot_ctx *sc, fl_err *err)
{
    rdb_backend *b = (rdb_backend *)kb;
    if (b->failed) {
        fl_err_set(err, "an earlier RocksDB state access failed: %s", b->fail.msg);
        return NULL;
    }
    const char *prefix = sc->prefix && *sc->prefix ? sc->prefix : "rocksdb";
    fl_kb_snapshot *snap = fl_xcalloc(1, sizeof *snap);
    snap->local = fl_xasprintf("%s/snap-%" PRId64 "-%" PRIu64, b->dir, sc->checkpoint_id,
                               ++b->nsnap);
    snap->dir = fl_xstrdup(sc->dir);
    snap->incremental = sc->incremental && !sc->savepoint && sc->shared_dir;
    snap->shared_dir = snap->incremental ? fl_xstrdup(sc->shared_dir) : NULL;
    snap->kg_first = kb->kg_first;
    snap->kg_last = kb->kg_last;

    /* flushes the memtables, hard-links the SSTs, copies MANIFEST/CURRENT/OPTIONS */
    char *e = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(b->db, &e);
    if (rdb_status(e, err, "rocksdb_checkpoint_object_create") < 0)
        goto out_free;
    rocksdb_checkpoint_create(cp, snap->local, 0, &e);
    rocksdb_checkpoint_object_destroy(cp);
    if (rdb_status(e, err, "rocksdb_checkpoint_create") < 0)
        goto out_free;
    if (list_checkpoint(snap, err) < 0)
        goto out_free;

    rdb_sst_set mine = {sc->checkpoint_id, NULL, 0};
    for (size_t i = 0; i < snap->nfiles; i++) {
        rdb_file *f = &snap->files[i];
        if (!snap->incremental || !is_sst(f->name)) {
            f->rel = fl_xasprintf("%s-%s", prefix, f->name);
            continue;
        }
        const rdb_sst *old = sst_find(&b->confirmed, f->name);
        if (old && old->size == f->size) {
            f->rel = fl_xstrdup(old->rel);
            f->upload = false;
        } else {
            f->rel = fl_xasprintf(RDB_SHARED "%s-%s-%" PRId64 "-%s", prefix, b->inst,
                                  sc->checkpoint_id, f->name);
        }
        mine.v = fl_xrealloc(mine.v, (mine.n + 1) * sizeof *mine.v);
        mine.v[mine.n++] = (rdb_sst){fl_xstrdup(f->name), fl_xstrdup(f->rel), f->size};
    }
    if (snap->incremental) { /* files are sorted by name, so mine is too */
        size_t i = 0;
        while (i < b->npending && b->pending[i].id != mine.id)
            i++;
        if (i == b->npending)
            b->pending = fl_xrealloc(b->pending, (++b->npending) * sizeof *b->pending);
        else
            sst_set_clear(&b->pending[i]); /* the same checkpoint taken again */
        b->pending[i] = mine;
    }
    return snap;

out_free:
    rdb_snapshot_free(snap);
    return NULL;
}

/* ---- snapshot, part 2 (snapshot I/O thread) ---------------------------------------------- */

static int fsync_path(const char *path, int flags, fl_err *err)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        fl_err_set(err, "cannot sync %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Copies src to dst (created or truncated) and fsyncs it; *copied gets the bytes. */
static int copy_file(const char *src, const char *dst, uint64_t *copied, fl_err *err)
{
    int rc = -1;
    char *buf = NULL;
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        fl_err_set(err, "cannot open %s: %s", src, strerror(errno));
        return -1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        fl_err_set(err, "cannot create %s: %s", dst, strerror(errno));
        goto out_close_in;
    }
    uint64_t total = 0;
    bool kernel = true; /* copy_file_range until the file systems refuse it */
    for (;;) {
        ssize_t n;
        if (kernel) {
            n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
            if (n < 0 && total == 0 &&
                (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                kernel = false;
                continue;
            }
        } else {
            if (!buf)
                buf = fl_xmalloc(1u << 20);
            n = read(in, buf, 1u << 20);
            for (ssize_t w = 0, k; n > 0 && w < n; w += k) {
                k = write(out, buf + w, (size_t)(n - w));
                if (k < 0 && errno == EINTR)
                    k = 0;
                else if (k <= 0) {
                    fl_err_set(err, "cannot write %s: %s", dst, strerror(errno));
                    goto out_close_out;
                }
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fl_err_set(err, "cannot copy %s to %s: %s", src, dst, strerror(errno));
            goto out_close_out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
    }
    if (fsync(out) < 0) {
        fl_err_set(err, "cannot sync %s: %s", dst, strerror(errno));
        goto out_close_out;
    }
    *copied = total;
    rc = 0;
out_close_out:
    if (close(out) < 0 && rc == 0) {
        fl_err_set(err, "cannot close %s: %s", dst, strerror(errno));
        rc = -1;
    }
out_close_in:
    close(in);
    free(buf);
    return rc;
}

static int rdb_snapshot_write(fl_kb_snapshot *snap, uint8_t **handle, size_t *len, fl_err *err)
{
    int rc = -1;
    uint64_t state_size = 0, written = 0;
    if (snap->incremental && fl_mkdirs(snap->shared_dir, err) < 0)
        return -1;
    Fl__Pb__StateFile *fs = fl_xcalloc(snap->nfiles ? snap->nfiles : 1, sizeof *fs);
    Fl__Pb__StateFile **fps = fl_xcalloc(snap->nfiles ? snap->nfiles : 1, sizeof *fps);
    for (size_t i = 0; i < snap->nfiles; i++) {
        rdb_file *f = &snap->files[i];
        if (f->upload) {
            char src[4200], dst[4200];
            uint64_t n;
            snprintf(src, sizeof src, "%s/%s", snap->local, f->name);
            if (strncmp(f->rel, RDB_SHARED, strlen(RDB_SHARED)) == 0)
                snprintf(dst, sizeof dst, "%s/%s", snap->shared_dir, f->rel + strlen(RDB_SHARED));
            else
                snprintf(dst, sizeof dst, "%s/%s", snap->dir, f->rel);
            if (copy_file(src, dst, &n, err) < 0)
                goto out;
            f->size = n;
            written += n;
        }
        fl__pb__state_file__init(&fs[i]);
        fs[i].path = f->rel;
        fs[i].size = f->size;
        fps[i] = &fs[i];
        state_size += f->size;
    }
    if (fsync_path(snap->dir, O_RDONLY | O_DIRECTORY, err) < 0 ||
        (snap->incremental && fsync_path(snap->shared_dir, O_RDONLY | O_DIRECTORY, err) < 0))
        goto out;

    Fl__Pb__KeyedStateHandle h = FL__PB__KEYED_STATE_HANDLE__INIT;
    h.backend = "rocksdb";
    h.kg_first = snap->kg_first;
    h.kg_last = snap->kg_last;
    h.n_files = snap->nfiles;
    h.files = fps;
    h.incremental = snap->incremental;
    h.state_size = state_size;
    h.incremental_size = written;
    *len = protobuf_c_message_get_packed_size(&h.base);
    *handle = fl_xmalloc(*len ? *len : 1);
    protobuf_c_message_pack(&h.base, *handle);
    rc = 0;
out:
    free(fs);
    free(fps);
    fl_remove_tree(snap->local); /* uploaded (or failed): the hard links can go */
    return rc;
}

/* ---- restore (task thread, before processing) ------------------------------------------- */

/* The RocksDB file name a handle path stands for: what follows "PREFIX-" (and, for shared
 * SSTs, "PREFIX-<instance>-<checkpoint>-"). RocksDB's own names contain '-' only after
 * MANIFEST and OPTIONS. NULL when the path cannot be one of ours. */
static const char *db_file_name(const char *path)
{
    const char *base = path;
    if (strncmp(path, RDB_SHARED, strlen(RDB_SHARED)) == 0)
        base = path + strlen(RDB_SHARED);
    if (strchr(base, '/') || strstr(base, ".."))
        return NULL;
    const char *name = strrchr(base, '-');
    if (!name)
        return NULL;
    name++;
    static const char *const kinds[] = {"MANIFEST-", "OPTIONS-"};
    for (size_t i = 0; i < FL_ARRAY_LEN(kinds); i++) {
        size_t n = strlen(kinds[i]);
        if ((size_t)(name - base) > n && memcmp(name - n, kinds[i], n) == 0 &&
            name[-(ptrdiff_t)n - 1] == '-')
            name -= n;
    }
    if (!*name || strlen(name) > 200)
        return NULL;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return NULL;
    return name;
}

/* Brings the handle's files into dst: hard links when storage shares the file system
 * (a read-only DB never changes them), copies otherwise. Sizes must match the handle. */
static int fetch_files(const char *cdir, const Fl__Pb__KeyedStateHandle *h, const char *dst,
                       fl_err *err)
{
    for (size_t i = 0; i < h->n_files; i++) {
        const char *rel = h->files[i]->path;
        const char *name = db_file_name(rel);
        if (!name) {
            fl_err_set(err, "bad RocksDB state file path '%s' in a keyed state handle", rel);
            return -1;
        }
        char src[4200], to[4200];
        struct stat st;
        snprintf(src, sizeof src, "%s/%s", cdir, rel);
        snprintf(to, sizeof to, "%s/%s", dst, name);
        if (stat(src, &st) < 0) {
            fl_err_set(err, "state file %s: %s", src, strerror(errno));
            return -1;
        }
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != h->files[i]->size) {
            fl_err_set(err, "state file %s is damaged: %lld bytes, the checkpoint says %" PRIu64,
                       src, (long long)st.st_size, h->files[i]->size);
            return -1;
        }
        uint64_t n;
        if (link(src, to) < 0 && copy_file(src, to, &n, err) < 0)
            return -1;
    }
    return 0;
}

/* Copies the entries of our key groups in src (of a snapshot DB) into our state s. */
static int copy_key_groups(rdb_backend *b, rocksdb_t *sdb, rocksdb_column_family_handle_t *src,
                           fl_kstate *s, fl_err *err)
{
    const fl_kbackend *kb = &b->base;
    char lo[2] = {(char)(kb->kg_first >> 8), (char)kb->kg_first};
    char hi[2] = {(char)((kb->kg_last + 1) >> 8), (char)(kb->kg_last + 1)};
    int rc = -1;
    char *e = NULL;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_readoptions_set_iterate_upper_bound(ro, hi, 2);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(sdb, ro, src);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    size_t pending = 0;
    for (rocksdb_iter_seek(it, lo, 2); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen < 6) {
            fl_err_set(err, "state '%s': damaged key (%zu bytes)", s->name, klen);
            goto out;
        }
        int kg = k[0] << 8 | k[1];
        if (kg > kb->kg_last)
            break;
        if (kg < kb->kg_first)
            continue;
        rocksdb_writebatch_put_cf(wb, s->cf, (const char *)k, klen, v, vlen);
        pending += klen + vlen + 16;
        if (pending >= RDB_BATCH_BYTES) {
            rocksdb_write(b->db, b->wo, wb, &e);
            if (rdb_status(e, err, "rocksdb_write") < 0)
                goto out;
            rocksdb_writebatch_clear(wb);
            pending = 0;
        }
    }
    rocksdb_iter_get_error(it, &e);
    if (rdb_status(e, err, "reading the snapshot") < 0)
        goto out;
    rocksdb_write(b->db, b->wo, wb, &e);
    if (rdb_status(e, err, "rocksdb_write") < 0)
        goto out;
    rc = 0;
out:
    rocksdb_writebatch_destroy(wb);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return rc;
}

static int restore_handle(rdb_backend *b, const char *cdir, const Fl__Pb__KeyedStateHandle *h,
                          size_t idx, fl_err *err)
{
    int rc = -1;
    char *e = NULL;
    char **names = NULL;
    size_t ncf = 0;
    rocksdb_t *sdb = NULL;
    rocksdb_column_family_handle_t **cfh = NULL;
    const rocksdb_options_t **cfo = NULL;
    char *tmp = fl_xasprintf("%s/restore-%zu", b->dir, idx);
    rocksdb_options_t *o = make_options(false);
    fl_remove_tree(tmp);
    if (fl_mkdirs(tmp, err) < 0 || fetch_files(cdir, h, tmp, err) < 0)
        goto out;
    names = rocksdb_list_column_families(o, tmp, &ncf, &e);
    if (rdb_status(e, err, "rocksdb_list_column_families") < 0)
        goto out;
    if (ncf == 0 || ncf > 65536) {
        fl_err_set(err, "the snapshot lists %zu column families", ncf);
        goto out;
    }
    cfh = fl_xcalloc(ncf, sizeof *cfh);
    cfo = fl_xcalloc(ncf, sizeof *cfo);
    for (size_t i = 0; i < ncf; i++)
        cfo[i] = o;
    sdb = rocksdb_open_for_read_only_column_families(o, tmp, (int)ncf, (const char *const *)names,
                                                     cfo, cfh, 0, &e);
    if (rdb_status(e, err, "opening the snapshot") < 0)
        goto out;
    for (size_t i = 0; i < ncf; i++) {
        fl_kstate *s = rdb_state(&b->base, names[i]);
        if (!s->cf) {
            fl_err_set(err, "%s", b->fail.msg);
            goto out;
        }
        if (copy_key_groups(b, sdb, cfh[i], s, err) < 0) {
            fl_err_prefix(err, "state '%s'", names[i]);
            goto out;
        }
    }
    rc = 0;
out:
    if (sdb) {
        for (size_t i = 0; i < ncf; i++)
            if (cfh[i])
                rocksdb_column_family_handle_destroy(cfh[i]);
        rocksdb_close(sdb);
    }
    if (names)
        rocksdb_list_column_families_destroy(names, ncf);
    free(cfh);
    free(cfo);
    rocksdb_options_destroy(o);
    fl_remove_tree(tmp);
    free(tmp);
    return rc;
}

static int rdb_restore(fl_kbackend *kb, const char *dir, const uint8_t *const *handles,
                       const size_t *lens, size_t n, fl_err *err)
{
    rdb_backend *b = (rdb_backend *)kb;
    for (size_t i = 0; i < n; i++) {
        Fl__Pb__KeyedStateHandle *h = fl__pb__keyed_state_handle__unpack(NULL, lens[i], handles[i]);
        if (!h) {
            fl_err_set(err, "a keyed state handle does not decode");
            return -1;
        }
        int rc = 0;
        if (strcmp(h->backend, "hashmap") == 0) {
            fl_err_set(err, "the state was written by the hashmap state backend; the rocksdb "
                            "backend cannot restore it (set state.backend.type: hashmap)");
            rc = -1;
        } else if (strcmp(h->backend, "rocksdb") != 0) {
            fl_err_set(err, "the state was written by an unknown state backend '%.64s'",
                       h->backend);
            rc = -1;
        } else if (h->kg_first < 0 || h->kg_first > h->kg_last || h->kg_last > 32767) {
            fl_err_set(err, "a RocksDB keyed state handle has key groups [%d, %d]",
                       h->kg_first, h->kg_last);
            rc = -1;
        } else if (h->kg_last >= kb->kg_first && h->kg_first <= kb->kg_last) {
            rc = restore_handle(b, dir, h, i, err);
        }
        fl__pb__keyed_state_handle__free_unpacked(h, NULL);
        if (rc < 0)
            return -1;
    }
    return 0;
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
    sst_set_clear(&b->confirmed);
    for (size_t i = 0; i < b->npending; i++)
        sst_set_clear(&b->pending[i]);
    free(b->pending);
    if (b->dir && fl_remove_tree(b->dir) < 0)
        fl_warn("cannot remove RocksDB directory %s: %s", b->dir, strerror(errno));
    free(b->dir);
    free(b->dbdir);
    free(b->kbuf);
    free(b);
}

static const fl_kbackend_ops rdb_ops = {
    .state = rdb_state,
    .get = rdb_get,
    .put = rdb_put,
    .remove = rdb_remove,
    .append = rdb_append,
    .free = rdb_free,
    .snapshot = rdb_snapshot,
    .snapshot_write = rdb_snapshot_write,
    .snapshot_free = rdb_snapshot_free,
    .restore = rdb_restore,
    .notify_complete = rdb_notify_complete,
    .get_mut = NULL, /* values live in RocksDB: read, modify, put */
};

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
    b->base.ops = &rdb_ops;
    b->base.max_parallelism = max_parallelism;
    b->base.kg_first = kg_first;
    b->base.kg_last = kg_last;
    b->confirmed.id = INT64_MIN;
    fl_random_hex(b->inst, 8);
    b->dir = fl_xasprintf("%s/flint-rocksdb-%s-XXXXXX", tmp_dir, clean);
    if (!mkdtemp(b->dir)) {
        fl_err_set(err, "cannot create a directory %s: %s", b->dir, strerror(errno));
        free(b->dir);
        b->dir = NULL;
        goto out_free;
    }
    b->dbdir = fl_xasprintf("%s/db", b->dir);
    b->opts = make_options(true);
    b->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(b->wo, 1);
    b->ro = rocksdb_readoptions_create();
    const char *cfname = "default";
    const rocksdb_options_t *cfopts = b->opts;
    char *e = NULL;
    b->db = rocksdb_open_column_families(b->opts, b->dbdir, 1, &cfname, &cfopts, &b->default_cf,
                                         &e);
    if (rdb_status(e, err, "rocksdb_open") < 0) {
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
