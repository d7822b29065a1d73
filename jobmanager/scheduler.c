/* scheduler.c -- see scheduler.h: the job's state machine over the ExecutionGraph. Each
 * function that changes a state is named in jobmanager/README.md's transition list. JobMaster
 * thread only.
 */
#include "scheduler.h"
#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void fl_sched_timer_in(struct event *ev, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

const char *fl_sched_tm_of(const fl_sched *s, const fl_exec *x)
{
    return x->slot < s->nslots ? s->slots[x->slot].resource_id : "?";
}

/* ---- job state -------------------------------------------------------------------- */

static void set_state(fl_sched *s, fl_job_state state)
{
    fl_job_state from = s->state;
    if (from == state)
        return;
    fl_info("Job %s (%s) switched from state %s to %s.", s->job_name, s->job_id,
            fl_job_state_name(from), fl_job_state_name(state));
    s->state = state;
    s->state_ts[state] = fl_now_ms();
    if (state == FL_JOB_RUNNING)
        s->running_since_ms = fl_mono_ms();
    if (fl_job_state_is_terminal(state)) {
        s->end_ms = fl_now_ms();
        evtimer_del(s->slot_timer);
        evtimer_del(s->restart_timer);
        evtimer_del(s->cancel_timer);
        evtimer_del(s->region_timer);
        evtimer_del(s->reactive_timer);
        evtimer_del(s->wait_timer);
        s->ops->release_slots(s->ctx);
        s->waiting_slots = false;
    }
    s->ops->job_state_changed(s->ctx, from, state);
}

/* ---- slots ------------------------------------------------------------------------ */

static void restart_regions(fl_sched *s);
static bool region_slot_lost(const fl_sched *s, int r);

static void deploy(fl_sched *s)
{
    s->deploying = true;
    s->ops->deploy(s->ctx);
}

static void request_slots(fl_sched *s)
{
    s->waiting_slots = true;
    s->replacing = false;
    s->nslots_lost = 0;
    if (s->slot_lost)
        memset(s->slot_lost, 0, ((size_t)s->eg.nslots_needed + 1) * sizeof *s->slot_lost);
    for (int vi = 0; vi < s->eg.nv; vi++)
        for (int i = 0; i < s->eg.v[vi].jv->parallelism; i++)
            fl_eg_set_state(&s->eg, &s->eg.v[vi].x[i], FL_TASK_SCHEDULED);
    s->ops->request_slots(s->ctx, s->eg.nslots_needed);
    fl_sched_timer_in(s->slot_timer, fl_conf_get_duration_ms(s->conf, "slot.request.timeout"));
    fl_sched_reactive_waiting(s, true);
}

/* Replacements for the slots of lost TaskManagers: each takes a lost one's place (the same
 * slot index: the executions keep their slots), then the regions that waited restart. */
static void on_replacements(fl_sched *s, fl_slot_grant *slots, int n)
{
    if (n != s->nslots_lost) { /* an older request's answer: the newer one follows */
        free(slots);
        return;
    }
    for (int k = 0, j = 0; k < s->nslots; k++)
        if (s->slot_lost[k]) {
            s->slots[k] = slots[j++];
            s->slot_lost[k] = false;
        }
    free(slots);
    fl_info("Job %s (%s): %d replacement slots granted.", s->job_name, s->job_id, n);
    s->nslots_lost = 0;
    s->replacing = false;
    evtimer_del(s->slot_timer);
    restart_regions(s);
}

void fl_sched_on_slots(fl_sched *s, fl_slot_grant *slots, int n)
{
    if (s->replacing && !s->waiting_slots) {
        on_replacements(s, slots, n);
        return;
    }
    if (!s->waiting_slots || n != s->eg.nslots_needed) {
        free(slots);
        return;
    }
    s->waiting_slots = false;
    evtimer_del(s->slot_timer);
    fl_sched_reactive_waiting(s, false);
    free(s->slots);
    s->slots = slots;
    s->nslots = n;
    s->slots_lost = false;
    deploy(s);
}

/* ---- failures, restarts, cancellation --------------------------------------------- */

static void cancel_tasks(fl_sched *s)
{
    s->ops->cancel_tasks(s->ctx);
    for (int vi = 0; vi < s->eg.nv; vi++)
        for (int i = 0; i < s->eg.v[vi].jv->parallelism; i++) {
            fl_exec *x = &s->eg.v[vi].x[i];
            if (x->state == FL_TASK_CREATED || x->state == FL_TASK_SCHEDULED)
                fl_eg_set_state(&s->eg, x, FL_TASK_CANCELED);
            else if (!fl_task_state_is_terminal(x->state))
                fl_eg_set_state(&s->eg, x, FL_TASK_CANCELING);
        }
    fl_sched_timer_in(s->cancel_timer, FL_SCHED_CANCEL_TIMEOUT_MS);
}

/* RESTARTING -> RUNNING: a new attempt from the latest checkpoint, in the slots it has, or
 * in new ones when a TaskManager was lost. */
static void restart_now(fl_sched *s)
{
    s->attempt++;
    s->ops->new_attempt(s->ctx);
    fl_eg_reset(&s->eg, s->attempt);
    for (int r = 0; s->rstate && r < s->eg.nregions; r++)
        s->rstate[r] = FL_REGION_RUNNING;
    s->ncanceling = 0;
    s->deploying = false;
    s->give_up = false;
    evtimer_del(s->region_timer);
    set_state(s, FL_JOB_RUNNING);
    if (s->slots_lost) {
        /* ask again: spare slots or new TaskManagers serve the job as soon as they exist */
        s->ops->release_slots(s->ctx);
        request_slots(s);
        s->ops->publish(s->ctx, true);
    } else {
        deploy(s);
    }
}

static void rescale_now(fl_sched *s);

static void on_restart_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_sched *s = arg;
    if (s->state != FL_JOB_RESTARTING)
        return;
    if (s->rescale_to) /* a rescale asked for while the job failed: restart at it */
        rescale_now(s);
    else
        restart_now(s);
}

static int setup_regions(fl_sched *s, fl_err *err);

/* The graph takes parallelism `to` (every task stopped or not yet started): the
 * ExecutionGraph and its regions are built anew. */
static void set_parallelism(fl_sched *s, const int *to)
{
    int *from = fl_xcalloc((size_t)s->eg.nv + 1, sizeof *from);
    for (int vi = 0; vi < s->eg.nv; vi++) {
        from[vi] = s->g->vertices[vi]->parallelism;
        s->g->vertices[vi]->parallelism = to[vi];
    }
    fl_eg_destroy(&s->eg);
    fl_err err;
    if (fl_eg_init(&s->eg, s->g, &err) < 0 || setup_regions(s, &err) < 0) {
        for (int vi = 0; vi < s->eg.nv; vi++) /* cannot happen: the groups did not change */
            s->g->vertices[vi]->parallelism = from[vi];
        fl_eg_destroy(&s->eg);
        fl_eg_init(&s->eg, s->g, &err);
        setup_regions(s, &err);
    }
    s->ops->rescaled(s->ctx, from);
    free(from);
}

/* RESTARTING (rescale) -> RUNNING: every task stopped; the graph takes the new parallelism
 * and the job restarts in as many slots as it needs now. */
static void rescale_now(fl_sched *s)
{
    int *to = s->rescale_to;
    s->rescale_to = NULL;
    set_parallelism(s, to);
    free(to);
    free(s->slots);
    s->slots = NULL;
    s->nslots = 0;
    s->slots_lost = true; /* ask for the slots the new parallelism needs */
    restart_now(s);
}

/* Called whenever the tasks may all have stopped: FAILING -> RESTARTING | FAILED,
 * CANCELLING -> CANCELED | FINISHED (after a stop). */
static void check_terminal(fl_sched *s)
{
    if (!fl_eg_all_terminal(&s->eg))
        return;
    evtimer_del(s->cancel_timer);
    if (s->state == FL_JOB_CANCELLING) {
        set_state(s, s->stopping ? FL_JOB_FINISHED : FL_JOB_CANCELED);
    } else if (s->state == FL_JOB_RESTARTING && s->rescale_to) {
        rescale_now(s);
    } else if (s->state == FL_JOB_FAILING) {
        int64_t delay = s->give_up ? -1
                                   : fl_restart_next(s->restart, fl_mono_ms(), s->running_since_ms);
        if (delay < 0) {
            fl_info("Job %s (%s): the restart strategy %s gives up.", s->job_name, s->job_id,
                    fl_restart_describe(s->restart));
            set_state(s, FL_JOB_FAILED);
        } else {
            fl_info("Job %s (%s) restarts in %lld ms (%s).", s->job_name, s->job_id,
                    (long long)delay, fl_restart_describe(s->restart));
            set_state(s, FL_JOB_RESTARTING);
            fl_sched_timer_in(s->restart_timer, delay);
        }
    }
}

/* ---- region failover ---------------------------------------------------------------- */

static void arm_region_timer(fl_sched *s)
{
    int64_t next = -1, now = fl_mono_ms();
    for (int r = 0; r < s->eg.nregions; r++)
        if (s->rstate[r] == FL_REGION_RESTARTING && !region_slot_lost(s, r) &&
            (next < 0 || s->rdue[r] < next))
            next = s->rdue[r];
    if (next >= 0)
        fl_sched_timer_in(s->region_timer, next > now ? next - now : 0);
}

/* CANCELING -> RESTARTING once every execution of region r stopped; a restart strategy
 * that gives up fails the job. */
static void region_stopped(fl_sched *s, int r)
{
    if (s->rstate[r] != FL_REGION_CANCELING || !fl_eg_region_terminal(&s->eg, r))
        return;
    if (--s->ncanceling == 0)
        evtimer_del(s->cancel_timer);
    /* One failure is one restart of the strategy, however many regions it takes down (a
     * TaskManager lost with the slots of three regions, a crash reported by its task and
     * then by the TaskManager's loss): a region that fails while others of the same
     * incident are still failing or restarting joins it. A region of the incident that
     * fails again after its restart begins a new one. */
    bool open = false;
    for (int o = 0; o < s->eg.nregions; o++)
        open |= o != r && s->incident[o] &&
                (s->rstate[o] == FL_REGION_CANCELING || s->rstate[o] == FL_REGION_RESTARTING);
    int64_t delay;
    if (open && !s->incident[r]) {
        delay = s->incident_delay;
    } else {
        delay = fl_restart_next(s->restart, fl_mono_ms(), s->running_since_ms);
        memset(s->incident, 0, (size_t)s->eg.nregions * sizeof *s->incident);
        s->incident_delay = delay;
        s->incident_due = fl_mono_ms() + delay;
    }
    s->incident[r] = true;
    if (delay < 0) {
        fl_info("Job %s (%s): the restart strategy %s gives up.", s->job_name, s->job_id,
                fl_restart_describe(s->restart));
        s->give_up = true;
        s->rstate[r] = FL_REGION_RUNNING;
        fl_sched_fail(s, s->root_cause);
        return;
    }
    fl_info("Job %s (%s): region %d (%d tasks) restarts in %lld ms (%s).", s->job_name,
            s->job_id, r, s->eg.regions[r].n, (long long)delay, fl_restart_describe(s->restart));
    s->rstate[r] = FL_REGION_RESTARTING;
    /* the regions of one incident restart together, as one new attempt, even when their
     * failures arrived a few ms apart (a slow machine: two regions of a lost TaskManager
     * restarted at attempts 1 and 2) */
    s->rdue[r] = s->incident_due;
    arm_region_timer(s);
}

/* RUNNING -> CANCELING: region r's tasks are cancelled; the others run on. */
static void fail_region(fl_sched *s, int r, const char *cause)
{
    if (s->rstate[r] != FL_REGION_RUNNING) { /* a second failure in a failing region */
        region_stopped(s, r);
        return;
    }
    snprintf(s->root_cause, sizeof s->root_cause, "%.2000s", cause);
    fl_warn("Job %s (%s): region %d of %d (%d tasks) fails: %s", s->job_name, s->job_id, r,
            s->eg.nregions, s->eg.regions[r].n, cause);
    s->rstate[r] = FL_REGION_CANCELING;
    if (s->ncanceling++ == 0)
        fl_sched_timer_in(s->cancel_timer, FL_SCHED_CANCEL_TIMEOUT_MS);
    s->ops->pause_checkpoints(s->ctx);
    s->ops->cancel_region(s->ctx, r);
    const fl_region *rg = &s->eg.regions[r];
    for (int k = 0; k < rg->n; k++) {
        fl_exec *x = rg->x[k];
        if (x->state == FL_TASK_CREATED || x->state == FL_TASK_SCHEDULED)
            fl_eg_set_state(&s->eg, x, FL_TASK_CANCELED);
        else if (!fl_task_state_is_terminal(x->state))
            fl_eg_set_state(&s->eg, x, FL_TASK_CANCELING);
    }
    region_stopped(s, r);
    s->ops->publish(s->ctx, false);
}

/* Whether an execution of region r has its slot on a lost TaskManager (no replacement
 * yet). */
static bool region_slot_lost(const fl_sched *s, int r)
{
    const fl_region *rg = &s->eg.regions[r];
    for (int k = 0; s->nslots_lost > 0 && k < rg->n; k++)
        if (rg->x[k]->slot < s->nslots && s->slot_lost[rg->x[k]->slot])
            return true;
    return false;
}

/* RESTARTING -> RUNNING for every region whose delay has passed and whose slots are there:
 * one new attempt for all of them, from the latest completed checkpoint. Waits while a
 * deployment is under way (fl_sched_on_deployed calls again). */
static void restart_regions(fl_sched *s)
{
    if (s->state != FL_JOB_RUNNING || s->deploying)
        return;
    int64_t now = fl_mono_ms();
    int n = 0, tasks = 0;
    for (int r = 0; r < s->eg.nregions; r++)
        if (s->rstate[r] == FL_REGION_RESTARTING && s->rdue[r] <= now &&
            !region_slot_lost(s, r)) {
            if (n++ == 0) {
                s->attempt++;
                s->ops->new_attempt(s->ctx);
            }
            fl_eg_reset_region(&s->eg, r, s->attempt);
            s->rstate[r] = FL_REGION_RUNNING;
            s->region_restarts++;
            tasks += s->eg.regions[r].n;
        }
    if (n > 0) {
        fl_info("Job %s (%s): restarting %d region(s), %d tasks, attempt %d.", s->job_name,
                s->job_id, n, tasks, s->attempt);
        deploy(s);
    }
    arm_region_timer(s);
}

static void on_region_timer(evutil_socket_t fd, short what, void *arg)
{
    restart_regions(arg);
}

void fl_sched_on_deployed(fl_sched *s)
{
    s->deploying = false;
    if (s->region_failover)
        restart_regions(s);
}

void fl_sched_fail(fl_sched *s, const char *cause)
{
    if (s->state != FL_JOB_RUNNING)
        return;
    if (cause != s->root_cause) {
        snprintf(s->root_cause, sizeof s->root_cause, "%s", cause);
        if (!s->task_failing) /* a job-wide failure: a task's is recorded with its task */
            fl_exc_history_add(&s->hist, fl_now_ms(), cause, NULL, NULL, NULL);
    }
    fl_warn("Job %s (%s) failed: %s", s->job_name, s->job_id, cause);
    evtimer_del(s->region_timer);
    s->ncanceling = 0;
    set_state(s, FL_JOB_FAILING);
    if (s->waiting_slots || s->replacing) {
        s->waiting_slots = s->replacing = false;
        evtimer_del(s->slot_timer);
        s->ops->release_slots(s->ctx);
        s->slots_lost = true;
    }
    cancel_tasks(s);
    check_terminal(s);
}

void fl_sched_task_failed(fl_sched *s, int vi, int i, const char *cause)
{
    fl_exec *x = fl_eg_exec(&s->eg, vi, i);
    if (!x || fl_task_state_is_terminal(x->state))
        return;
    fl_eg_set_state(&s->eg, x, FL_TASK_FAILED);
    x->end_ms = fl_now_ms();
    const Fl__Pb__JobVertex *jv = s->eg.v[vi].jv;
    char where[2400];
    snprintf(where, sizeof where, "%.1900s (from %s (%d/%d) on TaskManager %s)", cause,
             jv->name, i + 1, jv->parallelism, fl_sched_tm_of(s, x));
    if (s->state == FL_JOB_RUNNING) { /* the failure that fails its region or the job */
        char task[600], loc[300];
        snprintf(task, sizeof task, "%.500s (%d/%d)", jv->name, i + 1, jv->parallelism);
        const fl_slot_grant *g = x->slot < s->nslots ? &s->slots[x->slot] : NULL;
        if (g)
            snprintf(loc, sizeof loc, "%.256s:%d", g->host, g->data_port);
        fl_exc_history_add(&s->hist, x->end_ms, cause, task, g ? loc : NULL,
                           g ? g->resource_id : NULL);
    }
    if (s->state != FL_JOB_RUNNING)
        check_terminal(s);
    else if (s->region_failover && !s->slots_lost && !s->waiting_slots)
        fail_region(s, x->region, where);
    else {
        s->task_failing = true;
        fl_sched_fail(s, where);
        s->task_failing = false;
    }
}

static void on_slot_timeout(evutil_socket_t fd, short what, void *arg)
{
    fl_sched *s = arg;
    if (!s->waiting_slots && !s->replacing)
        return;
    char cause[512];
    snprintf(cause, sizeof cause,
             "NoResourceAvailableException: Could not acquire the minimum required resources: "
             "the job needs %d slots and did not get them within %lld ms "
             "(slot.request.timeout).",
             s->replacing ? s->nslots_lost : s->eg.nslots_needed,
             (long long)fl_conf_get_duration_ms(s->conf, "slot.request.timeout"));
    fl_sched_fail(s, cause);
}

static void on_cancel_timeout(evutil_socket_t fd, short what, void *arg)
{
    fl_sched *s = arg;
    fl_warn("Job %s (%s): tasks did not stop within %d ms; considering them gone", s->job_name,
            s->job_id, FL_SCHED_CANCEL_TIMEOUT_MS);
    if (s->state == FL_JOB_RUNNING) {
        /* a failed region's tasks: restart the whole job in slots asked for anew */
        for (int vi = 0; vi < s->eg.nv; vi++)
            for (int i = 0; i < s->eg.v[vi].jv->parallelism; i++)
                if (s->eg.v[vi].x[i].state == FL_TASK_CANCELING)
                    fl_eg_set_state(&s->eg, &s->eg.v[vi].x[i], FL_TASK_CANCELED);
        s->slots_lost = true;
        fl_sched_fail(s, "the tasks of a failed region did not stop within 30 s");
        return;
    }
    for (int vi = 0; vi < s->eg.nv; vi++)
        for (int i = 0; i < s->eg.v[vi].jv->parallelism; i++)
            if (!fl_task_state_is_terminal(s->eg.v[vi].x[i].state))
                fl_eg_set_state(&s->eg, &s->eg.v[vi].x[i], FL_TASK_CANCELED);
    s->slots_lost = true;
    check_terminal(s);
}

/* Region failover of a lost TaskManager: its executions are gone (it reports nothing
 * more), their regions fail, and replacements for its slots are asked for; the regions
 * restart once they are granted (restart_regions waits for them). */
static void lose_slots(fl_sched *s, const char *resource_id, const char *why)
{
    int newly = 0;
    for (int k = 0; k < s->nslots; k++)
        if (!s->slot_lost[k] && strcmp(s->slots[k].resource_id, resource_id) == 0) {
            s->slot_lost[k] = true;
            newly++;
        }
    if (newly == 0)
        return;
    s->nslots_lost += newly;
    fl_warn("Job %s (%s): TaskManager %s with %d of the job's slots is gone (%s); asking "
            "for %d replacement slots", s->job_name, s->job_id, resource_id, newly, why,
            s->nslots_lost);
    /* one failure, one entry in the exception history: a loss that joins an open incident
     * (its crash was reported by the task first) has its entry already */
    bool open = false;
    for (int o = 0; o < s->eg.nregions && s->rstate; o++)
        open |= s->incident[o] &&
                (s->rstate[o] == FL_REGION_CANCELING || s->rstate[o] == FL_REGION_RESTARTING);
    bool recorded = open;
    for (int pass = 0; pass < 2; pass++) /* first all of them gone, then their regions fail */
        for (int vi = 0; vi < s->eg.nv; vi++)
            for (int i = 0; i < s->eg.v[vi].jv->parallelism; i++) {
                fl_exec *x = &s->eg.v[vi].x[i];
                if (x->slot >= s->nslots || !s->slot_lost[x->slot] ||
                    strcmp(s->slots[x->slot].resource_id, resource_id))
                    continue;
                if (pass == 0 && !fl_task_state_is_terminal(x->state)) {
                    fl_eg_set_state(&s->eg, x, x->state == FL_TASK_CANCELING ? FL_TASK_CANCELED
                                                                             : FL_TASK_FAILED);
                    x->end_ms = fl_now_ms();
                } else if (pass == 1 && s->state == FL_JOB_RUNNING) {
                    const Fl__Pb__JobVertex *jv = s->eg.v[vi].jv;
                    char where[2400];
                    snprintf(where, sizeof where, "%.1900s (from %s (%d/%d) on TaskManager %s)",
                             why, jv->name, i + 1, jv->parallelism, resource_id);
                    if (!recorded) {
                        /* as a task's own failure report records it (fl_sched_task_failed):
                         * a crashed TaskManager's loss may come before that report */
                        char task[600], loc[300];
                        const fl_slot_grant *g = &s->slots[x->slot];
                        snprintf(task, sizeof task, "%.500s (%d/%d)", jv->name, i + 1,
                                 jv->parallelism);
                        snprintf(loc, sizeof loc, "%.256s:%d", g->host, g->data_port);
                        fl_exc_history_add(&s->hist, x->end_ms, why, task, loc, resource_id);
                        recorded = true;
                    }
                    fail_region(s, x->region, where);
                }
            }
    if (s->state != FL_JOB_RUNNING)
        return; /* a restart strategy that gave up: the full path took over */
    s->replacing = true;
    s->ops->request_slots(s->ctx, s->nslots_lost); /* replaces a waiting one */
    fl_sched_timer_in(s->slot_timer, fl_conf_get_duration_ms(s->conf, "slot.request.timeout"));
}

void fl_sched_on_slots_lost(fl_sched *s, const char *resource_id, const char *why)
{
    bool ours = false;
    for (int k = 0; k < s->nslots; k++)
        ours |= strcmp(s->slots[k].resource_id, resource_id) == 0;
    if (!ours)
        return;
    if (s->region_failover && s->state == FL_JOB_RUNNING && !s->waiting_slots &&
        !s->slots_lost) {
        lose_slots(s, resource_id, why);
        s->ops->publish(s->ctx, false);
        return;
    }
    s->slots_lost = true;
    /* tasks there are gone with their TaskManager */
    bool failed_now = false;
    for (int vi = 0; vi < s->eg.nv; vi++)
        for (int i = 0; i < s->eg.v[vi].jv->parallelism; i++) {
            fl_exec *x = &s->eg.v[vi].x[i];
            if (x->slot >= s->nslots || strcmp(s->slots[x->slot].resource_id, resource_id))
                continue;
            if (fl_task_state_is_terminal(x->state))
                continue;
            if (!failed_now && s->state == FL_JOB_RUNNING) {
                failed_now = true;
                fl_sched_task_failed(s, vi, i, why);
            } else {
                fl_eg_set_state(&s->eg, x, x->state == FL_TASK_CANCELING ? FL_TASK_CANCELED
                                                                         : FL_TASK_FAILED);
            }
        }
    check_terminal(s);
    s->ops->publish(s->ctx, false);
}

void fl_sched_on_task_state(fl_sched *s, int vi, int i, fl_task_state state,
                            const char *error)
{
    fl_exec *x = fl_eg_exec(&s->eg, vi, i);
    if (!x || state < 0 || state >= FL_TASK_NSTATES || fl_task_state_is_terminal(x->state))
        return; /* a late report of a task we already gave up on */
    if (state == FL_TASK_FAILED) {
        fl_sched_task_failed(s, vi, i, error && error[0] ? error : "task failed");
        return;
    }
    fl_eg_set_state(&s->eg, x, state);
    if (fl_task_state_is_terminal(state))
        x->end_ms = fl_now_ms();
    if (s->state == FL_JOB_RUNNING && s->rstate && s->rstate[x->region] == FL_REGION_CANCELING) {
        region_stopped(s, x->region);
        s->ops->publish(s->ctx, false);
        return;
    }
    if (s->state == FL_JOB_RUNNING && state == FL_TASK_RUNNING && fl_eg_all_running(&s->eg))
        s->ops->all_running(s->ctx);
    if (s->state == FL_JOB_RUNNING) {
        if (fl_eg_all_finished(&s->eg)) {
            set_state(s, FL_JOB_FINISHED);
            return;
        }
    } else {
        check_terminal(s);
    }
    s->ops->publish(s->ctx, false);
}

void fl_sched_cancel(fl_sched *s)
{
    switch (s->state) {
    case FL_JOB_RUNNING:
    case FL_JOB_FAILING:
        fl_info("Cancelling job %s (%s).", s->job_name, s->job_id);
        set_state(s, FL_JOB_CANCELLING);
        if (s->waiting_slots) {
            s->waiting_slots = false;
            s->ops->release_slots(s->ctx);
        }
        cancel_tasks(s);
        check_terminal(s);
        break;
    case FL_JOB_RESTARTING:
        if (s->rescale_to && !fl_eg_all_terminal(&s->eg)) { /* tasks of a rescale stopping */
            free(s->rescale_to);
            s->rescale_to = NULL;
            set_state(s, FL_JOB_CANCELLING);
            check_terminal(s);
            break;
        }
        set_state(s, FL_JOB_CANCELED);
        break;
    case FL_JOB_CREATED:
        set_state(s, FL_JOB_CANCELED);
        break;
    default:
        break;
    }
}

void fl_sched_stop(fl_sched *s, bool finished)
{
    if (s->state != FL_JOB_RUNNING)
        return;
    s->stopping = finished;
    set_state(s, FL_JOB_CANCELLING);
    cancel_tasks(s);
    check_terminal(s);
}

/* ---- life cycle ------------------------------------------------------------------- */

void fl_sched_start(fl_sched *s)
{
    set_state(s, FL_JOB_RUNNING);
    request_slots(s);
    s->ops->publish(s->ctx, true);
}

void fl_sched_fail_to_start(fl_sched *s, const char *cause)
{
    snprintf(s->root_cause, sizeof s->root_cause, "%s", cause);
    set_state(s, FL_JOB_FAILED);
}

/* The per-region and per-slot arrays for the graph as it is now. */
static int setup_regions(fl_sched *s, fl_err *err)
{
    (void)err;
    free(s->rstate);
    free(s->rdue);
    free(s->incident);
    free(s->slot_lost);
    free(s->rescale_to);
    s->region_failover = !strcmp(s->failover_strategy, "region") && s->eg.nregions > 1;
    s->rstate = fl_xcalloc((size_t)s->eg.nregions + 1, sizeof *s->rstate);
    s->rdue = fl_xcalloc((size_t)s->eg.nregions + 1, sizeof *s->rdue);
    s->incident = fl_xcalloc((size_t)s->eg.nregions + 1, sizeof *s->incident);
    s->slot_lost = fl_xcalloc((size_t)s->eg.nslots_needed + 1, sizeof *s->slot_lost);
    s->ncanceling = s->nslots_lost = 0;
    s->replacing = false;
    return 0;
}

int fl_sched_rescale(fl_sched *s, const int *parallelism)
{
    if (s->state != FL_JOB_RUNNING)
        return -1;
    if (s->declared) /* adaptive: the new requirements are what it scales up to */
        memcpy(s->declared, parallelism, (size_t)s->eg.nv * sizeof *s->declared);
    return fl_sched_rescale_for(s, parallelism, "resource requirements changed");
}

int fl_sched_rescale_for(fl_sched *s, const int *parallelism, const char *why)
{
    if (s->state == FL_JOB_CREATED) { /* nothing runs yet: start at it */
        snprintf(s->rescale_why, sizeof s->rescale_why, "%s", why);
        set_parallelism(s, parallelism);
        return 0;
    }
    if (s->state != FL_JOB_RUNNING && s->state != FL_JOB_RESTARTING &&
        s->state != FL_JOB_FAILING)
        return -1;
    if (!s->rescale_to)
        s->rescale_to = fl_xcalloc((size_t)s->eg.nv + 1, sizeof *s->rescale_to);
    memcpy(s->rescale_to, parallelism, (size_t)s->eg.nv * sizeof *s->rescale_to);
    snprintf(s->rescale_why, sizeof s->rescale_why, "%s", why);
    if (s->state != FL_JOB_RUNNING) {
        /* failing, or its tasks already stopping for a rescale: the restart takes it */
        fl_info("Job %s (%s) will restart at the new parallelism (%s).", s->job_name,
                s->job_id, why);
        return 0;
    }
    fl_info("Job %s (%s) rescales (%s): the tasks stop, then it restores its latest "
            "completed checkpoint at the new parallelism.", s->job_name, s->job_id, why);
    evtimer_del(s->region_timer);
    set_state(s, FL_JOB_RESTARTING);
    if (s->waiting_slots || s->replacing) {
        s->waiting_slots = s->replacing = false;
        evtimer_del(s->slot_timer);
        s->ops->release_slots(s->ctx);
    }
    cancel_tasks(s);
    check_terminal(s);
    return 0;
}

int fl_sched_init(fl_sched *s, const fl_sched_ops *ops, void *ctx, Fl__Pb__JobGraph *g,
                  const fl_conf *job_conf, struct event_base *base, fl_err *err)
{
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->ctx = ctx;
    s->job_name = g->name;
    s->job_id = g->job_id;
    s->conf = job_conf;
    if (fl_eg_init(&s->eg, g, err) < 0) {
        fl_eg_destroy(&s->eg);
        return -1;
    }
    s->restart = fl_restart_new(job_conf);
    fl_exc_history_init(&s->hist, (int)fl_conf_get_int(job_conf, "web.exception-history-size"));
    const char *fs = fl_conf_get_str(job_conf, "jobmanager.execution.failover-strategy");
    s->failover_strategy = fs && !strcmp(fs, "full") ? "full" : "region";
    s->g = g;
    setup_regions(s, err);
    s->region_timer = evtimer_new(base, on_region_timer, s);
    s->slot_timer = evtimer_new(base, on_slot_timeout, s);
    s->restart_timer = evtimer_new(base, on_restart_timer, s);
    s->cancel_timer = evtimer_new(base, on_cancel_timeout, s);
    fl_sched_reactive_init(s, base);
    s->state = FL_JOB_CREATED;
    s->created_ms = s->state_ts[FL_JOB_CREATED] = fl_now_ms();
    return 0;
}

void fl_sched_destroy(fl_sched *s)
{
    if (s->slot_timer) {
        event_free(s->slot_timer);
        event_free(s->restart_timer);
        event_free(s->cancel_timer);
        event_free(s->region_timer);
        event_free(s->reactive_timer);
        event_free(s->wait_timer);
    }
    free(s->declared);
    free(s->rescale_to);
    free(s->rstate);
    free(s->rdue);
    free(s->incident);
    free(s->slot_lost);
    fl_restart_free(s->restart);
    fl_exc_history_destroy(&s->hist);
    free(s->slots);
    fl_eg_destroy(&s->eg);
    memset(s, 0, sizeof *s);
}
