/* checkpoint_store.c -- Flink's CompletedCheckpointStore and CheckpointIDCounter in
 * ZooKeeper. A completed checkpoint is the node /checkpoints/<job id>/<id, 19 digits>
 * naming its directory, whose _metadata (magic, version, CRC) the coordinator wrote and
 * synced before asking (checkpoint_restore.c); the newest num-retained are kept, and a
 * new one and the removal of those it subsumes are one transaction. The counter
 * /checkpoint-counter/<job id> holds the next id and is only ever raised, with a versioned
 * write: ids grow across leaders, so a deposed leader's directories are never a new
 * leader's. Every write checks the leader's latch node in the same transaction. "ha" thread.
 */
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "ha_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ckpt_node(const char *job_id, int64_t id, char *out, size_t len)
{
    snprintf(out, len, ZK_CHECKPOINTS "/%s/%019" PRId64, job_id, id);
}

/* A child name of /checkpoints/<job>: its id, or -1. */
static int64_t parse_id(const char *name)
{
    if (strlen(name) != 19 || strspn(name, "0123456789") != 19)
        return -1;
    return (int64_t)strtoll(name, NULL, 10);
}

static int by_id(const void *a, const void *b)
{
    int64_t x = ((const fl_ha_checkpoint *)a)->id, y = ((const fl_ha_checkpoint *)b)->id;
    return x < y ? -1 : x > y;
}

int fl_cks_list(fl_ha *ha, const char *job_id, fl_ha_checkpoint **out, int *n, fl_err *err)
{
    char node[160], child[200], **names = NULL;
    int nn = 0;
    *out = NULL;
    *n = 0;
    snprintf(node, sizeof node, ZK_CHECKPOINTS "/%s", job_id);
    int rc = fl_zk_children(ha->zk, node, false, &names, &nn, err);
    if (rc == FL_ZK_NONODE)
        return 0;
    if (rc < 0)
        return rc;
    fl_ha_checkpoint *c = fl_xcalloc((size_t)nn + 1, sizeof *c);
    int k = 0;
    for (int i = 0; i < nn; i++) {
        int64_t id = parse_id(names[i]);
        char *data;
        size_t len;
        if (id <= 0) {
            fl_warn("Job %s: ignoring the ZooKeeper node %s%s/%.40s: not a checkpoint id",
                    job_id, ha->zc.root, node, names[i]);
            continue;
        }
        snprintf(child, sizeof child, "%s/%s", node, names[i]);
        rc = fl_zk_get(ha->zk, child, false, &data, &len, NULL, NULL, err);
        if (rc == FL_ZK_NONODE)
            continue;
        if (rc < 0) {
            free(c);
            fl_zk_names_free(names, nn);
            return rc;
        }
        /* an absolute local path, or an s3:// one (state.checkpoints.dir on S3) */
        if (len == 0 || len >= sizeof c[k].dir || strlen(data) != len ||
            (data[0] != '/' && !fl_fs_is_remote(data))) {
            fl_warn("Job %s: the ZooKeeper node %s%s does not name a checkpoint directory; "
                    "ignoring checkpoint %" PRId64, job_id, ha->zc.root, child, id);
            free(data);
            continue;
        }
        c[k].id = id;
        snprintf(c[k].dir, sizeof c[k].dir, "%s", data);
        k++;
        free(data);
    }
    fl_zk_names_free(names, nn);
    qsort(c, (size_t)k, sizeof *c, by_id);
    *out = c;
    *n = k;
    return 0;
}

int fl_cks_next_id(fl_ha *ha, fl_leader_term *term, const char *job_id, int64_t floor,
                   int64_t *id, fl_err *err)
{
    char node[160], val[32];
    snprintf(node, sizeof node, ZK_COUNTERS "/%s", job_id);
    for (int attempt = 0; attempt < 16; attempt++) {
        char *data = NULL;
        size_t len;
        int version = -1;
        int rc = fl_zk_get(ha->zk, node, false, &data, &len, &version, NULL, err);
        if (rc < 0 && rc != FL_ZK_NONODE)
            return rc;
        int64_t v = floor > 0 ? floor : 1;
        if (rc == 0) {
            char *end;
            long long x = strtoll(data, &end, 10);
            if (len == 0 || *end || x < 1) {
                fl_warn("Job %s: the checkpoint counter %s%s holds '%.40s'; continuing from %"
                        PRId64, job_id, ha->zc.root, node, data, v);
            } else if (x > v) {
                v = x;
            }
            free(data);
        }
        snprintf(val, sizeof val, "%" PRId64, v + 1);
        fl_zk_txn *txn = fl_zk_txn_new();
        fl_zk_txn_check(txn, fl_leader_term_latch(term), -1);
        if (version < 0)
            fl_zk_txn_create(txn, node, val, strlen(val), 0);
        else
            fl_zk_txn_set(txn, node, val, strlen(val), version);
        rc = fl_zk_txn_commit(ha->zk, txn, err);
        fl_zk_txn_free(txn);
        if (rc == FL_ZK_BADVERSION || rc == FL_ZK_EXISTS)
            continue; /* changed meanwhile: read it again */
        if (rc == FL_ZK_NONODE)
            fl_err_prefix(err, "this JobManager no longer leads the cluster");
        if (rc < 0)
            return rc;
        *id = v;
        return 0;
    }
    fl_err_set(err, "the checkpoint counter %s%s keeps changing", ha->zc.root, node);
    return -1;
}

int fl_cks_record(fl_ha *ha, fl_leader_term *term, const char *job_id, int64_t id,
                  const char *dir, bool savepoint, const int64_t *drop, int ndrop, fl_err *err)
{
    char node[160], child[200], **names = NULL;
    int n = 0, rc;
    fl_zk_txn *txn = fl_zk_txn_new();
    fl_zk_txn_check(txn, fl_leader_term_latch(term), -1);
    if (!savepoint) {
        /* what is there already: a retry after a lost connection may find its own work */
        snprintf(node, sizeof node, ZK_CHECKPOINTS "/%s", job_id);
        rc = fl_zk_children(ha->zk, node, false, &names, &n, err);
        if (rc == FL_ZK_NONODE)
            fl_zk_txn_create(txn, node, NULL, 0, 0);
        else if (rc < 0)
            goto out;
        ckpt_node(job_id, id, child, sizeof child);
        bool have = false;
        for (int i = 0; i < n; i++)
            have |= parse_id(names[i]) == id;
        if (!have)
            fl_zk_txn_create(txn, child, dir, strlen(dir), 0);
        for (int d = 0; d < ndrop; d++)
            for (int i = 0; i < n; i++)
                if (parse_id(names[i]) == drop[d]) {
                    ckpt_node(job_id, drop[d], child, sizeof child);
                    fl_zk_txn_delete(txn, child, -1);
                }
    }
    rc = fl_zk_txn_commit(ha->zk, txn, err);
    if (rc == FL_ZK_NONODE)
        fl_err_prefix(err, "this JobManager no longer leads the cluster");
out:
    fl_zk_names_free(names, n);
    fl_zk_txn_free(txn);
    return rc;
}
