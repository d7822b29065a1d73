/* ha_listener.c -- the HA services' mails to their listener (the Dispatcher): granted,
 * suspended, revoked, who leads, posted from the "ha" thread to the listener's endpoint,
 * and the recovery data a grant carries (see ha.h). Calls nothing of the HA services but
 * the terms (leader_term.c).
 */
#include "common/util.h"
#include "ha_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- recovery data ---------------------------------------------------------------------- */

void fl_ha_recovery_free(fl_ha_recovery *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->njobs; i++) {
        if (r->jobs[i].stored)
            fl__pb__stored_job_graph__free_unpacked(r->jobs[i].stored, NULL);
        free(r->jobs[i].checkpoints);
    }
    free(r->jobs);
    for (int i = 0; i < r->nresults; i++)
        fl__pb__job_result__free_unpacked(r->results[i], NULL);
    free(r->results);
    free(r);
}

/* ---- the listener ----------------------------------------------------------------------- */

enum { TELL_GRANTED, TELL_SUSPENDED, TELL_REVOKED, TELL_LEADER };

typedef struct tell_mail {
    int kind;
    fl_ha_listener l;
    fl_leader_term *term;
    fl_ha_recovery *rec;
    bool flag;
    bool has_leader;
    fl_leader_info leader;
    char why[300];
} tell_mail;

static void drop_tell(void *arg)
{
    tell_mail *m = arg;
    fl_leader_term_unref(m->term);
    fl_ha_recovery_free(m->rec);
    free(m);
}

static void run_tell(void *ctx, void *arg)
{
    tell_mail *m = arg;
    switch (m->kind) {
    case TELL_GRANTED:
        m->l.granted(ctx, m->term, m->rec);
        m->term = NULL;
        m->rec = NULL;
        break;
    case TELL_SUSPENDED:
        m->l.suspended(ctx, m->term, m->flag);
        m->term = NULL;
        break;
    case TELL_REVOKED:
        m->l.revoked(ctx, m->term, m->why);
        m->term = NULL;
        break;
    default:
        m->l.leader(ctx, m->has_leader ? &m->leader : NULL);
        break;
    }
    drop_tell(m);
}

static void tell(fl_ha *ha, tell_mail *m)
{
    if (!ha->has_listener) {
        drop_tell(m);
        return;
    }
    m->l = ha->l;
    fl_endpoint_post(ha->lep, run_tell, m, drop_tell);
}

void fl_ha_tell_granted(fl_ha *ha, fl_leader_term *term, fl_ha_recovery *rec)
{
    tell_mail *m = fl_xcalloc(1, sizeof *m);
    m->kind = TELL_GRANTED;
    m->term = term;
    m->rec = rec;
    tell(ha, m);
}

void fl_ha_tell_suspended(fl_ha *ha, fl_leader_term *term, bool suspended)
{
    tell_mail *m = fl_xcalloc(1, sizeof *m);
    m->kind = TELL_SUSPENDED;
    m->term = term;
    m->flag = suspended;
    tell(ha, m);
}

void fl_ha_tell_revoked(fl_ha *ha, fl_leader_term *term, const char *why)
{
    tell_mail *m = fl_xcalloc(1, sizeof *m);
    m->kind = TELL_REVOKED;
    m->term = term;
    snprintf(m->why, sizeof m->why, "%s", why);
    tell(ha, m);
}

void fl_ha_tell_leader(fl_ha *ha, const fl_leader_info *leader)
{
    tell_mail *m = fl_xcalloc(1, sizeof *m);
    m->kind = TELL_LEADER;
    m->has_leader = leader != NULL;
    if (leader)
        m->leader = *leader;
    tell(ha, m);
}
