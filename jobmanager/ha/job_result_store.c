/* job_result_store.c -- Flink's JobResultStore: how each ended job ended (FINISHED, FAILED,
 * CANCELED), as storageDir/<cluster-id>/jobresults/<job id>.result (proto/ha.proto's
 * JobResult) and the pointer /jobresults/<job id>. The result's file is written and synced
 * first; then one transaction (checking the leader's latch node) creates the pointer and
 * removes the job's graph pointer, checkpoint pointers and counter: a job is either still to
 * be run or ended, never both, whenever the leader dies. A new leader shows the results and
 * never runs those jobs again; it keeps the newest jobstore.max-capacity of them. "ha"
 * thread.
 */
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "ha_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void result_file(const fl_ha *ha, const char *job_id, char *out, size_t len)
{
    snprintf(out, len, "%s/" DIR_RESULTS "/%s.result", ha->storage, job_id);
}

int fl_jrs_record(fl_ha *ha, fl_leader_term *term, const Fl__Pb__JobResult *r, fl_err *err)
{
    char path[1200], node[128], gfile[1200];
    result_file(ha, r->job_id, path, sizeof path);
    if (fl_ha_file_write(path, MAGIC_RESULT, &r->base, err) < 0)
        return -1;
    fl_zk_txn *txn = fl_zk_txn_new();
    fl_zk_txn_check(txn, fl_leader_term_latch(term), -1);
    snprintf(node, sizeof node, ZK_RESULTS "/%s", r->job_id);
    int rc = fl_zk_exists(ha->zk, node, false, NULL, NULL, err);
    if (rc == FL_ZK_NONODE)
        fl_zk_txn_create(txn, node, path, strlen(path), 0);
    else if (rc < 0)
        goto out;
    if ((rc = fl_jgs_removal(ha, r->job_id, txn, gfile, sizeof gfile, err)) < 0)
        goto out;
    rc = fl_zk_txn_commit(ha->zk, txn, err);
    if (rc == FL_ZK_NONODE)
        fl_err_prefix(err, "this JobManager no longer leads the cluster");
    fl_err why;
    if (rc == 0 && gfile[0] && fl_fs_delete(gfile, &why) < 0)
        fl_debug("could not remove %s after job %s ended: %s", gfile, r->job_id, why.msg);
out:
    fl_zk_txn_free(txn);
    return rc;
}

static int by_end(const void *a, const void *b)
{
    const Fl__Pb__JobResult *x = *(Fl__Pb__JobResult *const *)a;
    const Fl__Pb__JobResult *y = *(Fl__Pb__JobResult *const *)b;
    return x->end_ms < y->end_ms ? 1 : x->end_ms > y->end_ms ? -1 : 0; /* newest first */
}

int fl_jrs_recover(fl_ha *ha, fl_ha_recovery *rec, fl_err *err)
{
    char **names = NULL, node[128];
    int n = 0;
    int rc = fl_zk_children(ha->zk, ZK_RESULTS, false, &names, &n, err);
    if (rc < 0)
        return rc;
    rec->results = fl_xcalloc((size_t)n + 1, sizeof *rec->results);
    for (int i = 0; i < n; i++) {
        char *ptr;
        size_t len;
        fl_err why;
        if (!fl_ha_is_job_id(names[i]))
            continue;
        snprintf(node, sizeof node, ZK_RESULTS "/%s", names[i]);
        rc = fl_zk_get(ha->zk, node, false, &ptr, &len, NULL, NULL, err);
        if (rc == FL_ZK_NONODE)
            continue;
        if (rc < 0)
            goto out;
        Fl__Pb__JobResult *r = (Fl__Pb__JobResult *)fl_ha_file_read(
            ptr, MAGIC_RESULT, &fl__pb__job_result__descriptor, &why);
        if (!r) {
            /* the pointer alone says it ended: it is never run again either way */
            fl_warn("Job %s ended under an earlier leader, but its result cannot be read: %s",
                    names[i], why.msg);
            r = fl_xcalloc(1, sizeof *r);
            fl__pb__job_result__init(r);
            r->job_id = fl_xstrdup(names[i]);
            r->name = fl_xstrdup("(unknown: its result file cannot be read)");
            r->state = fl_xstrdup("FAILED");
            r->root_cause = fl_xstrdup(why.msg);
        }
        free(ptr);
        rec->results[rec->nresults++] = r;
    }
    qsort(rec->results, (size_t)rec->nresults, sizeof *rec->results, by_end);
    rc = 0;
out:
    fl_zk_names_free(names, n);
    return rc;
}

void fl_jrs_prune(fl_ha *ha, fl_leader_term *term, fl_ha_recovery *rec)
{
    char node[128], path[1200];
    fl_err err;
    while (rec->nresults > ha->max_results) {
        Fl__Pb__JobResult *r = rec->results[--rec->nresults];
        fl_zk_txn *txn = fl_zk_txn_new();
        fl_zk_txn_check(txn, fl_leader_term_latch(term), -1);
        snprintf(node, sizeof node, ZK_RESULTS "/%s", r->job_id);
        fl_zk_txn_delete(txn, node, -1);
        int rc = fl_zk_txn_commit(ha->zk, txn, &err);
        fl_zk_txn_free(txn);
        if (rc == 0) {
            result_file(ha, r->job_id, path, sizeof path);
            if (fl_fs_delete(path, &err) < 0)
                fl_debug("could not remove %s: %s", path, err.msg);
            fl_info("Dropped the result of job %s (%s): more than %d results "
                    "(jobstore.max-capacity)", r->job_id, r->state, ha->max_results);
        } else if (rc != FL_ZK_NONODE) {
            fl_warn("Cannot drop the result of job %s: %s", r->job_id, err.msg);
        }
        fl__pb__job_result__free_unpacked(r, NULL);
        rec->results[rec->nresults] = NULL;
        if (rc != 0 && rc != FL_ZK_NONODE)
            break;
    }
}
