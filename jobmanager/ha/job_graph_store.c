/* job_graph_store.c -- Flink's JobGraphStore: every submitted job that has not ended, as a
 * payload in storageDir/<cluster-id>/jobgraphs/<job id>.jobgraph (proto/ha.proto's
 * StoredJobGraph; local or S3, common/fs.h) with its bundle in blobs/<sha256>.so, and a
 * pointer node /jobgraphs/<job id> in ZooKeeper that names the payload. The pointer is
 * written last, in a transaction that checks the leader's latch node, and only after both
 * files are durable;
 * so a pointer always names whole files, and only a leader ever adds one (README.md).
 * fl_ha_store_job runs on the Dispatcher's thread; recovery runs on the "ha" thread when
 * this JobManager becomes the leader.
 */
#include "common/fs.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"
#include "ha_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void graph_file(const fl_ha *ha, const char *job_id, char *out, size_t len)
{
    snprintf(out, len, "%s/" DIR_JOBGRAPHS "/%s.jobgraph", ha->storage, job_id);
}

static void blob_file(const fl_ha *ha, const uint8_t sha[32], char *out, size_t len)
{
    char hex[65];
    fl_sha256_hex(sha, hex);
    snprintf(out, len, "%s/" DIR_BLOBS "/%s.so", ha->storage, hex);
}

int fl_ha_store_job(fl_ha *ha, fl_leader_term *term, const Fl__Pb__JobGraph *g,
                    const uint8_t *bundle, size_t len, int64_t submitted_ms, fl_err *err)
{
    char gpath[1200], bpath[1200], node[128];
    bool have = false;
    uint64_t size = 0;
    if (!fl_leader_term_is_active(term)) {
        fl_err_set(err, "this JobManager cannot reach ZooKeeper (%s) to record the job; "
                        "retry shortly", ha->zc.quorum);
        return FL_ZK_CONNLOSS;
    }
    if (g->bundle_sha256.len != 32) {
        fl_err_set(err, "the job graph names no bundle");
        return -1;
    }
    snprintf(node, sizeof node, ZK_JOBGRAPHS "/%s", g->job_id);
    int rc = fl_zk_exists(ha->zk, node, false, NULL, NULL, err);
    if (rc == 0) {
        fl_err_set(err, "Job %s was already submitted.", g->job_id);
        return FL_ZK_EXISTS;
    }
    if (rc != FL_ZK_NONODE)
        return rc;
    /* 1. the bundle (content-addressed: a file of the right size is this bundle) */
    blob_file(ha, g->bundle_sha256.data, bpath, sizeof bpath);
    if (fl_fs_stat(bpath, &have, &size, err) < 0)
        return -1;
    if ((!have || size != len) && fl_fs_put(bpath, bundle, len, err) < 0)
        return -1;
    /* 2. the graph */
    Fl__Pb__StoredJobGraph sg = FL__PB__STORED_JOB_GRAPH__INIT;
    sg.graph = (Fl__Pb__JobGraph *)g;
    sg.submitted_ms = submitted_ms;
    graph_file(ha, g->job_id, gpath, sizeof gpath);
    if (fl_ha_file_write(gpath, MAGIC_JOBGRAPH, &sg.base, err) < 0)
        return -1;
    /* 3. the pointer, with the job's counter and checkpoint node, if we still lead */
    fl_zk_txn *txn = fl_zk_txn_new();
    char path[160];
    fl_zk_txn_check(txn, fl_leader_term_latch(term), -1);
    fl_zk_txn_create(txn, node, gpath, strlen(gpath), 0);
    snprintf(path, sizeof path, ZK_COUNTERS "/%s", g->job_id);
    fl_zk_txn_create(txn, path, "1", 1, 0);
    snprintf(path, sizeof path, ZK_CHECKPOINTS "/%s", g->job_id);
    fl_zk_txn_create(txn, path, NULL, 0, 0);
    rc = fl_zk_txn_commit(ha->zk, txn, err);
    fl_zk_txn_free(txn);
    if (rc == FL_ZK_NONODE)
        fl_err_prefix(err, "this JobManager no longer leads the cluster");
    if (rc < 0 && rc != FL_ZK_CONNLOSS) {
        fl_err why; /* certainly not recorded (lost connection: it may be, keep it) */
        fl_fs_delete(gpath, &why);
    }
    return rc;
}

/* Loads job_id's graph (named by its pointer) and its checkpoints into j. A file that
 * cannot be read makes j->error; only a lost connection fails the whole recovery. */
static int recover_one(fl_ha *ha, const char *job_id, fl_ha_job_recovery *j, fl_err *err)
{
    char node[128], *ptr;
    size_t plen;
    fl_err why;
    snprintf(j->job_id, sizeof j->job_id, "%s", job_id);
    snprintf(node, sizeof node, ZK_JOBGRAPHS "/%s", job_id);
    int rc = fl_zk_get(ha->zk, node, false, &ptr, &plen, NULL, NULL, err);
    if (rc < 0)
        return rc == FL_ZK_NONODE ? 1 : rc; /* 1: gone meanwhile */
    if ((rc = fl_cks_list(ha, job_id, &j->checkpoints, &j->ncheckpoints, err)) < 0) {
        free(ptr);
        return rc;
    }
    if (plen == 0 || plen >= 1100 || strlen(ptr) != plen ||
        (ptr[0] != '/' && !fl_fs_is_remote(ptr))) {
        snprintf(j->error, sizeof j->error, "the ZooKeeper node %s%s does not name a file",
                 ha->zc.root, node);
        free(ptr);
        return 0;
    }
    j->stored = (Fl__Pb__StoredJobGraph *)fl_ha_file_read(
        ptr, MAGIC_JOBGRAPH, &fl__pb__stored_job_graph__descriptor, &why);
    if (!j->stored) {
        snprintf(j->error, sizeof j->error, "%s", why.msg);
    } else if (!j->stored->graph || strcmp(j->stored->graph->job_id, job_id) != 0 ||
               j->stored->graph->bundle_sha256.len != 32) {
        snprintf(j->error, sizeof j->error, "%.600s holds another job, or no bundle", ptr);
        fl__pb__stored_job_graph__free_unpacked(j->stored, NULL);
        j->stored = NULL;
    } else {
        blob_file(ha, j->stored->graph->bundle_sha256.data, j->bundle_path,
                  sizeof j->bundle_path);
    }
    free(ptr);
    return 0;
}

/* Files of the storage directory that no pointer names: a submission that lost its
 * leadership between its files and its pointer, or a job whose end removed the pointer
 * before its file. Blobs are kept while any job (even one that cannot be read) may use them.
 * Listed and deleted through common/fs.h (a local directory or an S3 prefix). */
typedef struct gc_list {
    char **names;
    size_t n, cap;
} gc_list;

static int gc_collect(void *arg, const char *name, bool is_dir, uint64_t size)
{
    gc_list *l = arg;
    if (is_dir || name[0] == '.')
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->names = fl_xrealloc(l->names, l->cap * sizeof *l->names);
    }
    l->names[l->n++] = fl_xstrdup(name);
    return 0;
}

static void collect_garbage(fl_ha *ha, const fl_ha_recovery *rec)
{
    char dir[1200];
    bool all_read = true;
    for (int i = 0; i < rec->njobs; i++)
        all_read &= rec->jobs[i].stored != NULL;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !all_read)
            break;
        snprintf(dir, sizeof dir, "%s/%s", ha->storage, pass ? DIR_BLOBS : DIR_JOBGRAPHS);
        gc_list l = {0};
        fl_err err;
        if (fl_fs_list(dir, false, gc_collect, &l, &err) < 0)
            fl_warn("Cannot list %s to remove what no job uses: %s", dir, err.msg);
        size_t ndrop = 0;
        for (size_t k = 0; k < l.n; k++) {
            const char *name = l.names[k];
            bool used = false;
            for (int i = 0; i < rec->njobs && !used; i++) {
                const fl_ha_job_recovery *j = &rec->jobs[i];
                if (pass == 0)
                    used = !strncmp(name, j->job_id, 32) && !strcmp(name + 32, ".jobgraph");
                else
                    used = j->stored && !strcmp(strrchr(j->bundle_path, '/') + 1, name);
            }
            if (used) {
                free(l.names[k]);
                continue;
            }
            fl_info("Removing %s/%s: no job in ZooKeeper uses it", dir, name);
            l.names[ndrop++] = l.names[k];
        }
        if (ndrop && fl_fs_delete_many(dir, (const char *const *)l.names, ndrop, &err) < 0)
            fl_warn("Cannot remove unused files of %s: %s", dir, err.msg);
        for (size_t k = 0; k < ndrop; k++)
            free(l.names[k]);
        free(l.names);
    }
}

int fl_jgs_recover(fl_ha *ha, fl_ha_recovery *rec, fl_err *err)
{
    char **names = NULL;
    int n = 0;
    int rc = fl_zk_children(ha->zk, ZK_JOBGRAPHS, false, &names, &n, err);
    if (rc < 0)
        return rc;
    rec->jobs = fl_xcalloc((size_t)n + 1, sizeof *rec->jobs);
    for (int i = 0; i < n; i++) {
        if (!fl_ha_is_job_id(names[i])) {
            fl_warn("Ignoring the ZooKeeper node %s" ZK_JOBGRAPHS "/%.100s: not a job id",
                    ha->zc.root, names[i]);
            continue;
        }
        fl_ha_job_recovery *j = &rec->jobs[rec->njobs];
        memset(j, 0, sizeof *j);
        rc = recover_one(ha, names[i], j, err);
        if (rc < 0) {
            free(j->checkpoints);
            fl_zk_names_free(names, n);
            return rc;
        }
        if (rc == 0)
            rec->njobs++;
    }
    fl_zk_names_free(names, n);
    collect_garbage(ha, rec);
    return 0;
}

int fl_jgs_removal(fl_ha *ha, const char *job_id, fl_zk_txn *txn, char *gfile, size_t len,
                   fl_err *err)
{
    char node[160], *data = NULL, **names = NULL;
    size_t dlen;
    int n = 0;
    gfile[0] = '\0';
    snprintf(node, sizeof node, ZK_JOBGRAPHS "/%s", job_id);
    int rc = fl_zk_get(ha->zk, node, false, &data, &dlen, NULL, NULL, err);
    if (rc == 0) {
        snprintf(gfile, len, "%s", data);
        free(data);
        fl_zk_txn_delete(txn, node, -1);
    } else if (rc != FL_ZK_NONODE) {
        return rc;
    }
    snprintf(node, sizeof node, ZK_CHECKPOINTS "/%s", job_id);
    rc = fl_zk_children(ha->zk, node, false, &names, &n, err);
    if (rc == 0) {
        char child[200];
        for (int i = 0; i < n; i++) {
            snprintf(child, sizeof child, "%.150s/%.40s", node, names[i]);
            fl_zk_txn_delete(txn, child, -1);
        }
        fl_zk_txn_delete(txn, node, -1);
        fl_zk_names_free(names, n);
    } else if (rc != FL_ZK_NONODE) {
        return rc;
    }
    snprintf(node, sizeof node, ZK_COUNTERS "/%s", job_id);
    rc = fl_zk_exists(ha->zk, node, false, NULL, NULL, err);
    if (rc == 0)
        fl_zk_txn_delete(txn, node, -1);
    else if (rc != FL_ZK_NONODE)
        return rc;
    return 0;
}
