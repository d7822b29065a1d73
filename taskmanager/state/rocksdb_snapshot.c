/* rocksdb_snapshot.c -- snapshots and restore of the RocksDB keyed backend
 * (rocksdb_backend.c holds the DB and the state accesses; rocksdb_internal.h the layout).
 * The task runtime calls these through the backend's ops: snapshot, snapshot_write,
 * snapshot_free, restore and notify_complete (state/keyed.h).
 *
 * A snapshot's files are a RocksDB checkpoint: hard links to the live DB's SSTs (immutable,
 * so they stay valid whatever the DB does later) and copies of the rest. For the SSTs to
 * hold exactly the writes before the barrier, the memtables must be flushed at the barrier.
 * RocksDB's own checkpoint does that flush on the calling thread and waits for it (tens of
 * milliseconds per 64 MB memtable, the task thread's whole cost of a checkpoint), so the
 * work is split:
 *   part 1 (task thread, at the barrier): every column family's memtable is switched to a
 *     new, empty one (a flush that does not wait: the old memtable goes on being flushed by
 *     RocksDB's background threads), and the listing window opens.
 *   listing (snapshot I/O thread, first thing in part 2): waits until those flushes are
 *     installed, then makes the RocksDB checkpoint without a flush (its files: the SSTs
 *     now live, MANIFEST, CURRENT, OPTIONS, and empty WAL files since writes skip the WAL);
 *     the window closes.
 *   part 2 (snapshot I/O thread): uploads the files.
 * The window. Between the switch and the listing the task thread goes on writing, into the
 * new memtables only: a memtable becomes an SST only after it is switched out, which
 * happens when it fills up (RocksDB's write path, on the writing thread: ours) or on a
 * flush (only part 1 asks for one; the WAL is off, so no WAL size limit forces one either).
 * So every write is charged (fl_rdb_charge: its bytes plus the most an entry can cost a
 * memtable), and a write that would bring the window's charge past a quarter of
 * writebuffer.size closes the window first -- if the listing has not begun, the task thread
 * does it itself, else it waits for it to end. A memtable switches when its arena holds
 * about writebuffer.size - 0.4 * arena block (a block is at most an eighth), so a quarter
 * (plus the memtable's bloom filter, 2 %) never fills one: the listed SSTs hold the
 * barrier's writes and no later one. The next snapshot's part 1 closes the window as well,
 * and so does freeing an unlisted snapshot (it will not be listed). A background error
 * (a failed flush: RocksDB may flush again to recover) fails the listing.
 * rdb_shared holds what both threads use (the open snapshot, the SST sets of incremental
 * checkpoints), under its mutex; a snapshot keeps it alive, and the backend's free waits
 * for a listing under way before the DB closes (a snapshot not yet listed then fails).
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
#include "common/fs.h"
#include "common/path.h"
#include "common/util.h"
#include "proto/checkpoint.pb-c.h"
#include "rocksdb_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RDB_BATCH_BYTES (4u << 20)  /* restore writes in batches of about this size */
#define RDB_SHARED "../shared/"

/* ---- SST bookkeeping for incremental snapshots ------------------------------------------ */

void fl_rdb_sst_set_clear(rdb_sst_set *set)
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
void fl_rdb_notify_complete(fl_kbackend *kb, int64_t id)
{
    rdb_shared *sh = ((rdb_backend *)kb)->sh;
    pthread_mutex_lock(&sh->mu);
    if (id > sh->confirmed.id) {
        fl_rdb_sst_set_clear(&sh->confirmed);
        sh->confirmed.id = id;
        size_t keep = 0;
        for (size_t i = 0; i < sh->npending; i++) {
            rdb_sst_set *p = &sh->pending[i];
            if (p->id == id) {
                sh->confirmed = *p;
            } else if (p->id < id) {
                fl_rdb_sst_set_clear(p);
            } else {
                sh->pending[keep++] = *p;
            }
        }
        sh->npending = keep;
    }
    pthread_mutex_unlock(&sh->mu);
}

/* ---- what both threads share ------------------------------------------------------------ */

typedef struct rdb_file {
    char *name;    /* in the local checkpoint */
    char *rel;     /* in the handle */
    uint64_t size;
    bool upload;   /* false: an SST an earlier checkpoint uploaded */
} rdb_file;

enum { SNAP_UNLISTED, SNAP_LISTING, SNAP_LISTED, SNAP_FAILED };

struct fl_kb_snapshot {
    char *local;   /* the RocksDB checkpoint: removed after upload or by snapshot_free */
    char *dir, *shared_dir, *prefix;
    char inst[17];
    int64_t id;
    rdb_file *files;
    size_t nfiles;
    int kg_first, kg_last;
    bool incremental;
    /* the listing: the DB and the families whose memtables part 1 switched (valid while
     * sh is not closed), RocksDB's background error count then; state and error under
     * sh->mu */
    rdb_shared *sh;
    rocksdb_t *db;
    rocksdb_column_family_handle_t **cfs;
    int ncfs;
    uint64_t bg_errors;
    int listing;
    fl_err list_err;
};

rdb_shared *fl_rdb_shared_new(void)
{
    rdb_shared *sh = fl_xcalloc(1, sizeof *sh);
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);
    sh->refs = 1;
    sh->confirmed.id = INT64_MIN;
    return sh;
}

/* Drops a reference: sh->mu is held, and released here. */
static void shared_put(rdb_shared *sh)
{
    bool last = --sh->refs == 0;
    pthread_mutex_unlock(&sh->mu);
    if (!last)
        return;
    fl_rdb_sst_set_clear(&sh->confirmed);
    for (size_t i = 0; i < sh->npending; i++)
        fl_rdb_sst_set_clear(&sh->pending[i]);
    free(sh->pending);
    pthread_cond_destroy(&sh->cv);
    pthread_mutex_destroy(&sh->mu);
    free(sh);
}

void fl_rdb_shared_close(rdb_shared *sh)
{
    pthread_mutex_lock(&sh->mu);
    sh->closed = true;
    while (sh->open && sh->open->listing == SNAP_LISTING)
        pthread_cond_wait(&sh->cv, &sh->mu);
    sh->open = NULL;
    shared_put(sh);
}

static bool shared_closed(rdb_shared *sh)
{
    pthread_mutex_lock(&sh->mu);
    bool closed = sh->closed;
    pthread_mutex_unlock(&sh->mu);
    return closed;
}

static int background_errors(rocksdb_t *db, uint64_t *n, fl_err *err)
{
    if (rocksdb_property_int(db, "rocksdb.background-errors", n) != 0) {
        fl_err_set(err, "RocksDB does not report rocksdb.background-errors");
        return -1;
    }
    return 0;
}

/* The listing's work on the DB (sh->mu not held; snap->listing is SNAP_LISTING, so the DB
 * stays open): waits for part 1's flushes, then makes the checkpoint without a flush. */
static int list_db(fl_kb_snapshot *snap, fl_err *err)
{
    uint64_t bg;
    for (;;) {
        uint64_t imm = 0;
        for (int i = 0; i < snap->ncfs; i++) {
            uint64_t v = 0;
            if (rocksdb_property_int_cf(snap->db, snap->cfs[i], "rocksdb.num-immutable-mem-table",
                                        &v) != 0) {
                fl_err_set(err, "RocksDB does not report rocksdb.num-immutable-mem-table");
                return -1;
            }
            imm += v;
        }
        if (background_errors(snap->db, &bg, err) < 0)
            return -1;
        if (bg != snap->bg_errors) {
            fl_err_set(err, "a RocksDB background job failed during the snapshot (its LOG "
                            "says why)");
            return -1;
        }
        if (imm == 0)
            break;
        if (shared_closed(snap->sh)) {
            fl_err_set(err, "the RocksDB state backend was closed");
            return -1;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    char *e = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(snap->db, &e);
    if (fl_rdb_status(e, err, "rocksdb_checkpoint_object_create") < 0)
        return -1;
    rocksdb_checkpoint_create(cp, snap->local, UINT64_MAX /* no flush */, &e);
    rocksdb_checkpoint_object_destroy(cp);
    if (fl_rdb_status(e, err, "rocksdb_checkpoint_create") < 0)
        return -1;
    if (background_errors(snap->db, &bg, err) < 0)
        return -1;
    if (bg != snap->bg_errors) { /* a recovery may have flushed a later write */
        fl_err_set(err, "a RocksDB background job failed during the snapshot (its LOG says why)");
        return -1;
    }
    return 0;
}

/* Lists snap, which nobody has listed: sh->mu held, released while listing. The window
 * closes. */
static void list_locked(rdb_shared *sh, fl_kb_snapshot *snap)
{
    int rc = -1;
    if (sh->closed) {
        fl_err_set(&snap->list_err, "the RocksDB state backend was closed");
    } else {
        snap->listing = SNAP_LISTING; /* snapshot_free and the backend's free wait */
        pthread_mutex_unlock(&sh->mu);
        rc = list_db(snap, &snap->list_err);
        pthread_mutex_lock(&sh->mu);
    }
    snap->listing = rc == 0 ? SNAP_LISTED : SNAP_FAILED;
    if (sh->open == snap)
        sh->open = NULL;
    pthread_cond_broadcast(&sh->cv);
}

void fl_rdb_window_close(rdb_backend *b)
{
    rdb_shared *sh = b->sh;
    b->win_limit = UINT64_MAX;
    pthread_mutex_lock(&sh->mu);
    while (sh->open) { /* sh->open is read again after every wait: its owner may free it */
        if (sh->open->listing == SNAP_UNLISTED)
            list_locked(sh, sh->open);
        else
            pthread_cond_wait(&sh->cv, &sh->mu);
    }
    pthread_mutex_unlock(&sh->mu);
}

/* ---- snapshot, part 1 (task thread) ------------------------------------------------------ */

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

void fl_rdb_snapshot_free(fl_kb_snapshot *snap)
{
    if (!snap)
        return;
    if (snap->sh) { /* an unlisted snapshot's window closes: it will not be listed */
        rdb_shared *sh = snap->sh;
        pthread_mutex_lock(&sh->mu);
        while (snap->listing == SNAP_LISTING)
            pthread_cond_wait(&sh->cv, &sh->mu);
        if (sh->open == snap) {
            sh->open = NULL;
            pthread_cond_broadcast(&sh->cv);
        }
        shared_put(sh);
    }
    if (snap->local) {
        fl_remove_tree(snap->local);
        free(snap->local);
    }
    for (size_t i = 0; i < snap->nfiles; i++) {
        free(snap->files[i].name);
        free(snap->files[i].rel);
    }
    free(snap->files);
    free(snap->cfs);
    free(snap->dir);
    free(snap->shared_dir);
    free(snap->prefix);
    free(snap);
}

fl_kb_snapshot *fl_rdb_snapshot(fl_kbackend *kb, const fl_snapshot_ctx *sc, fl_err *err)
{
    rdb_backend *b = (rdb_backend *)kb;
    if (b->failed) {
        fl_err_set(err, "an earlier RocksDB state access failed: %s", b->fail.msg);
        return NULL;
    }
    fl_rdb_window_close(b); /* the previous snapshot's SSTs must not get this one's writes */
    fl_kb_snapshot *snap = fl_xcalloc(1, sizeof *snap);
    snap->local = fl_xasprintf("%s/snap-%" PRId64 "-%" PRIu64, b->dir, sc->checkpoint_id,
                               ++b->nsnap);
    snap->dir = fl_xstrdup(sc->dir);
    snap->incremental = sc->incremental && !sc->savepoint && sc->shared_dir;
    snap->shared_dir = snap->incremental ? fl_xstrdup(sc->shared_dir) : NULL;
    snap->prefix = fl_xstrdup(sc->prefix && *sc->prefix ? sc->prefix : "rocksdb");
    memcpy(snap->inst, b->inst, sizeof snap->inst);
    snap->id = sc->checkpoint_id;
    snap->kg_first = kb->kg_first;
    snap->kg_last = kb->kg_last;
    snap->db = b->db;
    snap->cfs = fl_xcalloc((size_t)b->nstates + 1, sizeof *snap->cfs);
    snap->cfs[snap->ncfs++] = b->default_cf;
    for (int i = 0; i < b->nstates; i++)
        if (b->states[i]->cf && b->states[i]->cf != b->default_cf)
            snap->cfs[snap->ncfs++] = b->states[i]->cf;
    if (background_errors(b->db, &snap->bg_errors, err) < 0)
        goto out_free;
    /* every memtable switched now, flushed in the background; listed on the I/O thread */
    for (int i = 0; i < snap->ncfs; i++) {
        char *e = NULL;
        rocksdb_flush_cf(b->db, b->fo, snap->cfs[i], &e);
        if (fl_rdb_status(e, err, "rocksdb_flush") < 0)
            goto out_free;
    }
    rdb_shared *sh = b->sh;
    pthread_mutex_lock(&sh->mu);
    sh->refs++;
    snap->sh = sh;
    sh->open = snap;
    pthread_mutex_unlock(&sh->mu);
    b->win_bytes = 0;
    b->win_limit = b->win_cap;
    return snap;

out_free:
    fl_rdb_snapshot_free(snap);
    return NULL;
}

/* ---- snapshot, part 2 (snapshot I/O thread) ---------------------------------------------- */

/* The listed files' names in the handle; an incremental snapshot's SSTs recorded as pending
 * (sh->mu held). */
static void name_files(rdb_shared *sh, fl_kb_snapshot *snap)
{
    rdb_sst_set mine = {snap->id, NULL, 0};
    for (size_t i = 0; i < snap->nfiles; i++) {
        rdb_file *f = &snap->files[i];
        if (!snap->incremental || !is_sst(f->name)) {
            f->rel = fl_xasprintf("%s-%s", snap->prefix, f->name);
            continue;
        }
        const rdb_sst *old = sst_find(&sh->confirmed, f->name);
        if (old && old->size == f->size) {
            f->rel = fl_xstrdup(old->rel);
            f->upload = false;
        } else {
            f->rel = fl_xasprintf(RDB_SHARED "%s-%s-%" PRId64 "-%s", snap->prefix, snap->inst,
                                  snap->id, f->name);
        }
        mine.v = fl_xrealloc(mine.v, (mine.n + 1) * sizeof *mine.v);
        mine.v[mine.n++] = (rdb_sst){fl_xstrdup(f->name), fl_xstrdup(f->rel), f->size};
    }
    if (!snap->incremental)
        return;
    size_t i = 0; /* files are sorted by name, so mine is too */
    while (i < sh->npending && sh->pending[i].id != mine.id)
        i++;
    if (i == sh->npending)
        sh->pending = fl_xrealloc(sh->pending, (++sh->npending) * sizeof *sh->pending);
    else
        fl_rdb_sst_set_clear(&sh->pending[i]); /* the same checkpoint taken again */
    sh->pending[i] = mine;
}

int fl_rdb_snapshot_write(fl_kb_snapshot *snap, uint8_t **handle, size_t *len, fl_err *err)
{
    int rc = -1;
    uint64_t state_size = 0, written = 0;
    rdb_shared *sh = snap->sh;
    pthread_mutex_lock(&sh->mu);
    while (snap->listing == SNAP_LISTING) /* by the task thread, its window full */
        pthread_cond_wait(&sh->cv, &sh->mu);
    if (snap->listing == SNAP_UNLISTED)
        list_locked(sh, snap);
    bool listed = snap->listing == SNAP_LISTED;
    if (!listed)
        *err = snap->list_err;
    pthread_mutex_unlock(&sh->mu);
    if (!listed || list_checkpoint(snap, err) < 0)
        return -1; /* snapshot_free removes the local checkpoint */
    pthread_mutex_lock(&sh->mu);
    name_files(sh, snap);
    pthread_mutex_unlock(&sh->mu);

    /* on an object store every file is one object (put whole): no directories to make or
     * sync (fl_fs_mkdirs and fl_fs_sync_dir do nothing there) */
    if (snap->incremental && fl_fs_mkdirs(snap->shared_dir, err) < 0)
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
            if (fl_fs_put_file(src, dst, &n, err) < 0) /* local: a copy, fsynced */
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
    /* the new files' directory entries durable (nothing to do on an object store) */
    if (fl_fs_sync_dir(snap->dir, err) < 0 ||
        (snap->incremental && fl_fs_sync_dir(snap->shared_dir, err) < 0))
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

/* Downloads the object cdir/rel (a shared one "../shared/N" is cdir's parent/shared/N: an
 * object store has no "..") into the local file to; its size must match the handle's. */
static int fetch_remote(const char *cdir, const char *rel, uint64_t want, const char *to,
                        fl_err *err)
{
    char src[4200];
    if (strncmp(rel, RDB_SHARED, strlen(RDB_SHARED)) == 0) {
        const char *slash = strrchr(cdir, '/');
        snprintf(src, sizeof src, "%.*s/%s", (int)(slash ? slash - cdir : 0), cdir, rel + 3);
    } else {
        snprintf(src, sizeof src, "%s/%s", cdir, rel);
    }
    if (fl_fs_get_file(src, to, err) < 0)
        return -1;
    struct stat st;
    if (stat(to, &st) < 0 || (uint64_t)st.st_size != want) {
        fl_err_set(err, "state file %s is damaged: %lld bytes, the checkpoint says %" PRIu64,
                   src, (long long)st.st_size, want);
        return -1;
    }
    return 0;
}

/* Brings the handle's files into dst: hard links when storage shares the file system
 * (a read-only DB never changes them), copies otherwise. Sizes must match the handle. */
static int fetch_files(const char *cdir, const Fl__Pb__KeyedStateHandle *h, const char *dst,
                       fl_err *err)
{
    for (size_t i = 0; i < h->n_files; i++) {
        const char *rel = h->files[i]->path;
        const char *name = fl_path_is_handle(rel) && strlen(cdir) <= 2048 ? db_file_name(rel)
                                                                          : NULL;
        if (!name) {
            fl_err_set(err, "bad RocksDB state file path '%s' in a keyed state handle", rel);
            return -1;
        }
        char src[4200], to[4200];
        struct stat st;
        snprintf(src, sizeof src, "%s/%s", cdir, rel);
        snprintf(to, sizeof to, "%s/%s", dst, name);
        if (fl_fs_is_remote(cdir)) {
            if (fetch_remote(cdir, rel, h->files[i]->size, to, err) < 0)
                return -1;
            continue;
        }
        if (stat(src, &st) < 0) {
            fl_err_set(err, "state file %s: %s", src, strerror(errno));
            return -1;
        }
        if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != h->files[i]->size) {
            fl_err_set(err, "state file %s is damaged: %lld bytes, the checkpoint says %" PRIu64,
                       src, (long long)st.st_size, h->files[i]->size);
            return -1;
        }
        if (link(src, to) < 0 && fl_fs_get_file(src, to, err) < 0)
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
            if (fl_rdb_status(e, err, "rocksdb_write") < 0)
                goto out;
            rocksdb_writebatch_clear(wb);
            pending = 0;
        }
    }
    rocksdb_iter_get_error(it, &e);
    if (fl_rdb_status(e, err, "reading the snapshot") < 0)
        goto out;
    rocksdb_write(b->db, b->wo, wb, &e);
    if (fl_rdb_status(e, err, "rocksdb_write") < 0)
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
    rocksdb_options_t *o = fl_rdb_make_options(false, NULL);
    fl_remove_tree(tmp);
    if (fl_mkdirs(tmp, err) < 0 || fetch_files(cdir, h, tmp, err) < 0)
        goto out;
    names = rocksdb_list_column_families(o, tmp, &ncf, &e);
    if (fl_rdb_status(e, err, "rocksdb_list_column_families") < 0)
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
    if (fl_rdb_status(e, err, "opening the snapshot") < 0)
        goto out;
    for (size_t i = 0; i < ncf; i++) {
        fl_kstate *s = fl_rdb_state(&b->base, names[i]);
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

int fl_rdb_restore(fl_kbackend *kb, const char *dir, const uint8_t *const *handles,
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
