/* checkpoint_storage.c -- the checkpoint coordinator's clean-up of its storage through the
 * file-system layer (local directories or S3 prefixes alike). Without rename, a checkpoint
 * is complete exactly when its _metadata exists; everything else under <dir>/<job id>/ is
 * either a retained checkpoint, one in flight, or an orphan: a failed or subsumed one whose
 * deletion failed (the store was unreachable: retried after each completed checkpoint), or
 * one a crashed JobManager was writing (found by listing when the coordinator first starts).
 * JobMaster thread only.
 */
#include "checkpoint_internal.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Orphans remembered for another try; beyond this many the oldest is only logged. */
#define MAX_ORPHANS 256

void fl_cc_drop_dir(fl_cc *cc, const char *dir)
{
    fl_err err;
    if (fl_fs_delete_tree(dir, &err) == 0)
        return;
    fl_warn("Job %s: cannot delete %s (retried after the next completed checkpoint): %s",
            cc->job_id, dir, err.msg);
    if (cc->norphans == MAX_ORPHANS) {
        fl_warn("Job %s: giving up deleting %s", cc->job_id, cc->orphans[0]);
        free(cc->orphans[0]);
        memmove(cc->orphans, cc->orphans + 1, (MAX_ORPHANS - 1) * sizeof *cc->orphans);
        cc->norphans--;
    }
    if (!cc->orphans)
        cc->orphans = fl_xcalloc(MAX_ORPHANS, sizeof *cc->orphans);
    cc->orphans[cc->norphans++] = fl_xstrdup(dir);
}

void fl_cc_retry_orphans(fl_cc *cc)
{
    int keep = 0;
    for (int i = 0; i < cc->norphans; i++) {
        fl_err err;
        if (fl_fs_delete_tree(cc->orphans[i], &err) == 0) {
            fl_info("Job %s: deleted %s, left by a failed or subsumed checkpoint", cc->job_id,
                    cc->orphans[i]);
            free(cc->orphans[i]);
        } else {
            cc->orphans[keep++] = cc->orphans[i];
        }
    }
    cc->norphans = keep;
}

void fl_cc_free_orphans(fl_cc *cc)
{
    for (int i = 0; i < cc->norphans; i++)
        free(cc->orphans[i]);
    free(cc->orphans);
    cc->orphans = NULL;
    cc->norphans = 0;
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

void fl_cc_sweep(fl_cc *cc)
{
    fl_err err;
    chk_list l = {0};
    if (fl_fs_list(cc->base, false, on_entry, &l, &err) < 0) {
        fl_debug("Job %s: cannot list %s: %s", cc->job_id, cc->base, err.msg);
        free(l.ids);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        bool known = false;
        for (completed *c = cc->done; c && !known; c = c->next)
            known = c->id == l.ids[i];
        for (pending *p = cc->pending; p && !known; p = p->next)
            known = p->id == l.ids[i];
        if (known)
            continue;
        char dir[1200], meta[1300];
        bool exists = true;
        snprintf(dir, sizeof dir, "%s/chk-%lld", cc->base, (long long)l.ids[i]);
        snprintf(meta, sizeof meta, "%s/_metadata", dir);
        if (fl_fs_stat(meta, &exists, NULL, &err) < 0 || exists)
            continue; /* complete (or unknown): never deleted on a guess */
        fl_info("Job %s: deleting %s, an incomplete checkpoint (no _metadata) of an earlier "
                "run", cc->job_id, dir);
        fl_cc_drop_dir(cc, dir);
    }
    free(l.ids);
}
