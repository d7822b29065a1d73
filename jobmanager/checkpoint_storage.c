/* checkpoint_storage.c -- the checkpoint coordinator's clean-up of its storage through the
 * file-system layer (local directories or S3 prefixes alike). Without rename, a checkpoint
 * is complete exactly when its _metadata exists; everything else under <dir>/<job id>/ is
 * either a retained checkpoint, one in flight, or an orphan: a failed or subsumed one whose
 * deletion failed (the store was unreachable), whose prefix a task of an ended attempt
 * wrote to after it was deleted, or that a crashed JobManager was writing. Orphans are
 * found by listing: after a failure, at the next completed checkpoints (which a late write
 * of the ended attempt precedes), and when the coordinator first starts.
 * JobMaster thread only.
 */
#include "checkpoint_internal.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Completed checkpoints after a failure that sweep the job's directory: a task of the
 * ended attempt may still store a file of an aborted checkpoint after its prefix was
 * deleted (an object store needs no directory to put into), and a sweep must come after
 * that. */
#define SWEEPS 2

void fl_cc_drop_dir(fl_cc *cc, const char *dir)
{
    fl_err err;
    if (fl_fs_delete_tree(dir, &err) == 0)
        return;
    fl_warn("Job %s: cannot delete %s (tried again after the next completed checkpoint): %s",
            cc->job_id, dir, err.msg);
    cc->sweeps_due = SWEEPS;
}

void fl_cc_sweep_soon(fl_cc *cc)
{
    cc->sweeps_due = SWEEPS;
}

typedef struct chk_list {
    int64_t *ids;
    size_t n, cap;
} chk_list;

static int on_entry(void *arg, const char *name, bool is_dir, uint64_t size)
{
    chk_list *l = arg;
    char *end;
    if (!is_dir || strncmp(name, "chk-", 4) != 0)
        return 0;
    long long id = strtoll(name + 4, &end, 10);
    if (*end || id <= 0)
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->ids = fl_xrealloc(l->ids, l->cap * sizeof *l->ids);
    }
    l->ids[l->n++] = id;
    return 0;
}

void fl_cc_sweep(fl_cc *cc, int64_t below)
{
    fl_err err;
    chk_list l = {0};
    if (fl_fs_list(cc->base, false, on_entry, &l, &err) < 0) {
        fl_debug("Job %s: cannot list %s: %s", cc->job_id, cc->base, err.msg);
        free(l.ids);
        return;
    }
    int failed = 0;
    for (size_t i = 0; i < l.n; i++) {
        bool known = false;
        for (completed *c = cc->done; c && !known; c = c->next)
            known = c->id == l.ids[i];
        for (pending *p = cc->pending; p && !known; p = p->next)
            known = p->id == l.ids[i];
        if (known || (below && l.ids[i] >= below))
            continue;
        char dir[1200], meta[1300];
        bool exists = true;
        snprintf(dir, sizeof dir, "%s/chk-%lld", cc->base, (long long)l.ids[i]);
        if (!below) { /* at start: only what certainly never completed */
            snprintf(meta, sizeof meta, "%s/_metadata", dir);
            if (fl_fs_stat(meta, &exists, NULL, &err) < 0 || exists)
                continue;
        }
        fl_info("Job %s: deleting %s, left by a failed or subsumed checkpoint", cc->job_id,
                dir);
        if (fl_fs_delete_tree(dir, &err) < 0) {
            fl_warn("Job %s: cannot delete %s: %s", cc->job_id, dir, err.msg);
            failed++;
        }
    }
    free(l.ids);
    if (failed)
        cc->sweeps_due = SWEEPS;
}
