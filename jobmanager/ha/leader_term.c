/* leader_term.c -- see ha.h: a leader's term (its session id, its latch node, whether it is
 * active, suspended or revoked), shared by reference between the "ha" thread, the
 * Dispatcher and the JobMasters: its state is atomic, everything else never changes.
 * Calls nothing of the HA services.
 */
#include "common/util.h"
#include "ha_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- terms ------------------------------------------------------------------------------ */

struct fl_leader_term {
    atomic_int refs;
    atomic_int state;
    char session[FL_SESSION_ID_LEN + 1];
    char latch[512];
};

fl_leader_term *fl_leader_term_new(const char *latch)
{
    fl_leader_term *t = fl_xcalloc(1, sizeof *t);
    atomic_init(&t->refs, 1);
    atomic_init(&t->state, FL_TERM_ACTIVE);
    fl_random_hex(t->session, FL_SESSION_ID_LEN / 2);
    snprintf(t->latch, sizeof t->latch, "%s", latch ? latch : "");
    return t;
}

fl_leader_term *fl_leader_term_ref(fl_leader_term *t)
{
    if (t)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void fl_leader_term_unref(fl_leader_term *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

const char *fl_leader_term_session(const fl_leader_term *t)
{
    return t->session;
}

const char *fl_leader_term_latch(const fl_leader_term *t)
{
    return t->latch;
}

int fl_leader_term_state(const fl_leader_term *t)
{
    return atomic_load(&((fl_leader_term *)t)->state);
}

bool fl_leader_term_is_active(const fl_leader_term *t)
{
    return fl_leader_term_state(t) == FL_TERM_ACTIVE;
}

void fl_leader_term_set_state(fl_leader_term *t, int state)
{
    atomic_store(&t->state, state);
}
