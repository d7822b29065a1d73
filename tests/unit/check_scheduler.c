/* check_scheduler.c -- unit tests of jobmanager/scheduler.c, the job's state machine, with
 * a recording ops table in place of the world (ResourceManager, TaskExecutors, checkpoint
 * coordinator) and a real event base for its timers: a job's life from CREATED to FINISHED;
 * region failover restarting only the failed task's region at a new attempt while the job
 * stays RUNNING; a lost TaskManager's regions restarting in replacement slots; the full
 * strategy (a lost TaskManager too); a one-region job taking the full path under `region`;
 * a restart strategy that gives up; a cancel while a region waits to restart; a second
 * region failing while the first one is being deployed; a rescale restarting the job at
 * the new parallelism without using up the restart strategy; reactive mode's parallelism
 * for a slot count, its scale-up after the stabilization timeout, its scale-down through
 * the lost TaskManager's restart, and its refusal of unaligned checkpoints; the adaptive
 * scheduler's wait for its slots and scale-up to the declared parallelism. The graph's
 * invariants (fl_eg_validate) are checked after every step.
 */
#include <check.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "jobmanager/scheduler.h"
#include "testgraph.h"
#include "testutil.h"

/* ---- the recording world ------------------------------------------------------------ */

typedef struct world {
    fl_sched s;
    struct event_base *base;
    fl_conf *conf;
    graph gr;
    int requested, released, cancels, region_cancels[16], pauses, deploys, new_attempts,
        all_running;
    fl_job_state states[32]; /* every state the job entered, in order */
    int nstates;
} world;

static void w_request(void *ctx, int n)
{
    ((world *)ctx)->requested = n;
}

static void w_release(void *ctx)
{
    ((world *)ctx)->released++;
}

static void w_cancel(void *ctx)
{
    ((world *)ctx)->cancels++;
}

static void w_cancel_region(void *ctx, int r)
{
    ((world *)ctx)->region_cancels[r]++;
}

static void w_pause(void *ctx)
{
    ((world *)ctx)->pauses++;
}

/* As deployment.c does: what awaits deployment becomes DEPLOYING. */
static void w_deploy(void *ctx)
{
    world *w = ctx;
    w->deploys++;
    for (int vi = 0; vi < w->s.eg.nv; vi++)
        for (int i = 0; i < w->s.eg.v[vi].jv->parallelism; i++) {
            fl_exec *x = &w->s.eg.v[vi].x[i];
            if (x->state == FL_TASK_CREATED || x->state == FL_TASK_SCHEDULED)
                fl_eg_set_state(&w->s.eg, x, FL_TASK_DEPLOYING);
        }
}

static void w_new_attempt(void *ctx)
{
    ((world *)ctx)->new_attempts++;
}

static void w_state(void *ctx, fl_job_state from, fl_job_state to)
{
    world *w = ctx;
    if (w->nstates < 32)
        w->states[w->nstates++] = to;
}

static void w_all_running(void *ctx)
{
    ((world *)ctx)->all_running++;
}

static void w_publish(void *ctx, bool now)
{
}

static int rescaled_from[4];

static void w_rescaled(void *ctx, const int *from)
{
    memcpy(rescaled_from, from, 2 * sizeof *from);
}

static const fl_sched_ops w_ops = {w_request,  w_release,    w_cancel, w_cancel_region,
                                   w_pause,    w_deploy,     w_new_attempt, w_state,
                                   w_all_running, w_publish, w_rescaled};

static void valid(world *w)
{
    fl_err err;
    ck_assert_msg(fl_eg_validate(&w->s.eg, &err) == 0, "%s", err.msg);
}

/* A forward-only job: source -> forward -> map, both at parallelism p (p regions), or
 * with a hash edge (one region). */
static void w_init(world *w, int p, bool forward, const char *strategy, int attempts)
{
    fl_err err;
    memset(w, 0, sizeof *w);
    graph_init(&w->gr);
    int a = vertex(&w->gr, p), b = vertex(&w->gr, p);
    edge(&w->gr, a, b,
         forward ? FL__PB__PARTITIONER__PART_FORWARD : FL__PB__PARTITIONER__PART_HASH);
    w->conf = fl_conf_new();
    char n[16];
    snprintf(n, sizeof n, "%d", attempts);
    ck_assert_int_eq(fl_conf_set(w->conf, "restart-strategy.type", "fixed-delay", &err), 0);
    ck_assert_int_eq(fl_conf_set(w->conf, "restart-strategy.fixed-delay.attempts", n, &err), 0);
    ck_assert_int_eq(fl_conf_set(w->conf, "restart-strategy.fixed-delay.delay", "0 ms", &err), 0);
    if (strategy)
        ck_assert_int_eq(
            fl_conf_set(w->conf, "jobmanager.execution.failover-strategy", strategy, &err), 0);
    w->base = event_base_new();
    ck_assert_msg(fl_sched_init(&w->s, &w_ops, w, &w->gr.g, w->conf, w->base, &err) == 0, "%s",
                  err.msg);
    valid(w);
}

static void w_free(world *w)
{
    fl_sched_destroy(&w->s);
    event_base_free(w->base);
    fl_conf_free(w->conf);
}

/* Runs the timers that are due (restart delays of 0 ms). */
static void w_tick(world *w)
{
    for (int k = 0; k < 3; k++)
        event_base_loop(w->base, EVLOOP_NONBLOCK);
}

static fl_slot_grant *grants(int n)
{
    fl_slot_grant *g = calloc((size_t)n + 1, sizeof *g);
    for (int k = 0; k < n; k++)
        snprintf(g[k].resource_id, sizeof g[k].resource_id, "tm-%d", k / 2); /* 2 slots each */
    return g;
}

static void report(world *w, int vi, int i, fl_task_state st)
{
    fl_sched_on_task_state(&w->s, vi, i, st, st == FL_TASK_FAILED ? "boom" : NULL);
    valid(w);
}

/* Every task that is DEPLOYING reports RUNNING; the deployment has its answers. */
static void run_deployed(world *w)
{
    fl_sched_on_deployed(&w->s);
    for (int vi = 0; vi < w->s.eg.nv; vi++)
        for (int i = 0; i < w->s.eg.v[vi].jv->parallelism; i++)
            if (fl_eg_exec(&w->s.eg, vi, i)->state == FL_TASK_DEPLOYING)
                report(w, vi, i, FL_TASK_RUNNING);
}

/* Started, slots granted, everything running. */
static void w_running(world *w)
{
    fl_sched_start(&w->s);
    ck_assert_int_eq(w->s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w->requested, w->s.eg.nslots_needed);
    valid(w);
    fl_sched_on_slots(&w->s, grants(w->s.eg.nslots_needed), w->s.eg.nslots_needed);
    ck_assert_int_eq(w->deploys, 1);
    run_deployed(w);
    ck_assert(fl_eg_all_running(&w->s.eg));
    ck_assert_int_eq(w->all_running, 1);
}

static const char *attempts(world *w)
{
    static char buf[128];
    int n = 0;
    for (int vi = 0; vi < w->s.eg.nv; vi++)
        for (int i = 0; i < w->s.eg.v[vi].jv->parallelism; i++)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%d",
                          fl_eg_exec(&w->s.eg, vi, i)->attempt);
    return buf;
}

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(created_to_finished)
{
    world w;
    w_init(&w, 2, true, NULL, 1);
    ck_assert(w.s.region_failover); /* the default: region, and the job has 2 */
    w_running(&w);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
            report(&w, vi, i, FL_TASK_FINISHED);
        }
    ck_assert_int_eq(w.s.state, FL_JOB_FINISHED);
    ck_assert_int_eq(w.nstates, 2);
    ck_assert_int_eq(w.states[1], FL_JOB_FINISHED);
    ck_assert_int_ge(w.released, 1);
    w_free(&w);
}
END_TEST

START_TEST(region_failover_restarts_only_the_region)
{
    world w;
    w_init(&w, 3, true, "region", 3);
    w_running(&w);
    report(&w, 1, 1, FL_TASK_FAILED);
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w.region_cancels[1], 1);
    ck_assert_int_eq(w.region_cancels[0] + w.region_cancels[2], 0);
    ck_assert_int_eq(w.cancels, 0);
    ck_assert_int_eq(w.pauses, 1);
    ck_assert_int_eq(fl_eg_exec(&w.s.eg, 0, 1)->state, FL_TASK_CANCELING);
    ck_assert_int_eq(fl_eg_exec(&w.s.eg, 0, 0)->state, FL_TASK_RUNNING);
    ck_assert_int_eq(w.s.rstate[1], FL_REGION_CANCELING);
    report(&w, 0, 1, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.rstate[1], FL_REGION_RESTARTING);
    w_tick(&w);
    ck_assert_int_eq(w.s.rstate[1], FL_REGION_RUNNING);
    ck_assert_int_eq(w.new_attempts, 1);
    ck_assert_int_eq(w.deploys, 2);
    ck_assert_str_eq(attempts(&w), "010010");
    ck_assert_int_eq(fl_eg_count(&w.s.eg, FL_TASK_DEPLOYING), 2);
    run_deployed(&w);
    ck_assert_int_eq(w.all_running, 2); /* checkpoints resume */
    ck_assert_int_eq(w.nstates, 1);     /* never left RUNNING */
    ck_assert_int_eq(w.s.region_restarts, 1);
    /* a late report of the old attempt's task changes nothing: the JobMaster drops it by
     * attempt, the scheduler by a terminal state; a new failure of region 2 at attempt 0 */
    report(&w, 0, 2, FL_TASK_FAILED);
    report(&w, 1, 2, FL_TASK_CANCELED);
    w_tick(&w);
    run_deployed(&w);
    ck_assert_str_eq(attempts(&w), "012012");
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    w_free(&w);
}
END_TEST

START_TEST(a_second_region_waits_for_the_deployment)
{
    world w;
    w_init(&w, 3, true, "region", 5);
    w_running(&w);
    report(&w, 1, 0, FL_TASK_FAILED);
    report(&w, 0, 0, FL_TASK_CANCELED);
    w_tick(&w); /* region 0 deploys at attempt 1 ... */
    ck_assert_int_eq(w.deploys, 2);
    report(&w, 1, 2, FL_TASK_FAILED);
    report(&w, 0, 2, FL_TASK_CANCELED);
    w_tick(&w); /* ... region 2 waits for its answers: one attempt per deployment */
    ck_assert_int_eq(w.deploys, 2);
    ck_assert_int_eq(w.s.rstate[2], FL_REGION_RESTARTING);
    run_deployed(&w); /* the answers: now region 2 */
    ck_assert_int_eq(w.deploys, 3);
    ck_assert_str_eq(attempts(&w), "102102");
    run_deployed(&w);
    ck_assert(fl_eg_all_running(&w.s.eg));
    w_free(&w);
}
END_TEST

START_TEST(full_strategy_restarts_everything)
{
    world w;
    w_init(&w, 3, true, "full", 3);
    ck_assert(!w.s.region_failover);
    w_running(&w);
    report(&w, 1, 1, FL_TASK_FAILED);
    ck_assert_int_eq(w.s.state, FL_JOB_FAILING);
    ck_assert_int_eq(w.cancels, 1);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 3; i++)
            if (!(vi == 1 && i == 1))
                report(&w, vi, i, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_RESTARTING);
    w_tick(&w);
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_str_eq(attempts(&w), "111111");
    run_deployed(&w);
    ck_assert(fl_eg_all_running(&w.s.eg));
    w_free(&w);
}
END_TEST

START_TEST(one_region_takes_the_full_path)
{
    world w;
    w_init(&w, 3, false, "region", 3);
    ck_assert_int_eq(w.s.eg.nregions, 1);
    ck_assert(!w.s.region_failover);
    w_running(&w);
    report(&w, 0, 0, FL_TASK_FAILED);
    ck_assert_int_eq(w.s.state, FL_JOB_FAILING);
    w_free(&w);
}
END_TEST

START_TEST(a_lost_taskmanager_restarts_its_regions_in_new_slots)
{
    world w;
    w_init(&w, 3, true, "region", 5);
    w_running(&w); /* slots 0 and 1 on tm-0, slot 2 on tm-1 */
    fl_sched_on_slots_lost(&w.s, "tm-0", "TaskManager tm-0 is gone");
    valid(&w);
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w.requested, 2); /* replacements for its 2 slots */
    ck_assert_int_eq(fl_eg_exec(&w.s.eg, 0, 0)->state, FL_TASK_FAILED);
    ck_assert_int_eq(fl_eg_exec(&w.s.eg, 1, 1)->state, FL_TASK_FAILED);
    ck_assert_int_eq(fl_eg_exec(&w.s.eg, 1, 2)->state, FL_TASK_RUNNING);
    ck_assert_int_eq(w.cancels, 0);
    w_tick(&w); /* due, but their slots are not there yet */
    ck_assert_int_eq(w.deploys, 1);
    fl_slot_grant *g = grants(2);
    snprintf(g[0].resource_id, sizeof g[0].resource_id, "tm-new");
    snprintf(g[1].resource_id, sizeof g[1].resource_id, "tm-new");
    fl_sched_on_slots(&w.s, g, 2);
    ck_assert_int_eq(w.deploys, 2);
    ck_assert_str_eq(attempts(&w), "110110");
    ck_assert_str_eq(w.s.slots[0].resource_id, "tm-new");
    ck_assert_str_eq(w.s.slots[2].resource_id, "tm-1");
    run_deployed(&w);
    ck_assert(fl_eg_all_running(&w.s.eg));
    ck_assert_int_eq(w.nstates, 1); /* never left RUNNING */
    w_free(&w);
}
END_TEST

/* A crash seen twice (its task's report, then its TaskManager's loss) that takes down two
 * regions is one failure: it uses one restart of the strategy, not three. */
START_TEST(one_failure_is_one_restart)
{
    world w;
    w_init(&w, 3, true, "region", 1);
    w_running(&w); /* slots 0 and 1 on tm-0, slot 2 on tm-1 */
    report(&w, 1, 0, FL_TASK_FAILED);
    fl_sched_on_slots_lost(&w.s, "tm-0", "TaskManager tm-0 crashed");
    valid(&w);
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING); /* the one restart allowed */
    w_tick(&w);
    fl_slot_grant *g = grants(2);
    snprintf(g[0].resource_id, sizeof g[0].resource_id, "tm-new");
    snprintf(g[1].resource_id, sizeof g[1].resource_id, "tm-new");
    fl_sched_on_slots(&w.s, g, 2);
    run_deployed(&w);
    ck_assert(fl_eg_all_running(&w.s.eg));
    ck_assert_int_eq(w.nstates, 1); /* never left RUNNING */
    /* a new failure, after the restart: none left */
    report(&w, 1, 2, FL_TASK_FAILED);
    report(&w, 0, 2, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_FAILING);
    w_free(&w);
}
END_TEST

START_TEST(a_lost_taskmanager_under_full)
{
    world w;
    w_init(&w, 3, true, "full", 3);
    w_running(&w);
    fl_sched_on_slots_lost(&w.s, "tm-0", "TaskManager tm-0 is gone");
    valid(&w);
    ck_assert_int_eq(w.s.state, FL_JOB_FAILING);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 3; i++)
            if (!fl_task_state_is_terminal(fl_eg_exec(&w.s.eg, vi, i)->state))
                report(&w, vi, i, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_RESTARTING);
    w_tick(&w);
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert(w.s.waiting_slots); /* every slot asked for anew */
    w_free(&w);
}
END_TEST

START_TEST(restart_strategy_gives_up)
{
    world w;
    w_init(&w, 2, true, "region", 1);
    w_running(&w);
    report(&w, 1, 0, FL_TASK_FAILED);
    report(&w, 0, 0, FL_TASK_CANCELED);
    w_tick(&w);
    run_deployed(&w);
    report(&w, 1, 1, FL_TASK_FAILED); /* the second failure: no restart left */
    report(&w, 0, 1, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_FAILING);
    report(&w, 0, 0, FL_TASK_CANCELED);
    report(&w, 1, 0, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_FAILED);
    ck_assert_ptr_nonnull(strstr(w.s.root_cause, "boom"));
    w_free(&w);
}
END_TEST

START_TEST(cancel_while_a_region_restarts)
{
    world w;
    w_init(&w, 2, true, "region", 3);
    w_running(&w);
    report(&w, 1, 0, FL_TASK_FAILED);
    report(&w, 0, 0, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.rstate[0], FL_REGION_RESTARTING);
    fl_sched_cancel(&w.s);
    ck_assert_int_eq(w.s.state, FL_JOB_CANCELLING);
    report(&w, 0, 1, FL_TASK_CANCELED);
    report(&w, 1, 1, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_CANCELED);
    w_tick(&w); /* the region's timer is gone with the job */
    ck_assert_int_eq(w.new_attempts, 0);
    w_free(&w);
}
END_TEST

START_TEST(rescale_restarts_at_the_new_parallelism)
{
    world w;
    w_init(&w, 2, false, "region", 1);
    w_running(&w);
    ck_assert_int_eq(w.s.eg.nslots_needed, 2);
    int par[2] = {4, 3};
    ck_assert_int_eq(fl_sched_rescale(&w.s, par), 0);
    ck_assert_int_eq(w.s.state, FL_JOB_RESTARTING);
    ck_assert_int_eq(w.cancels, 1);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(w.s.state, FL_JOB_RESTARTING);
            report(&w, vi, i, FL_TASK_CANCELED);
        }
    /* a new attempt at 4 and 3, in 4 slots asked for anew; no restart counted */
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w.gr.v[0].parallelism, 4);
    ck_assert_int_eq(w.gr.v[1].parallelism, 3);
    ck_assert_int_eq(rescaled_from[0], 2);
    ck_assert_int_eq(w.s.eg.ntasks, 7);
    ck_assert_int_eq(w.s.eg.nslots_needed, 4);
    ck_assert_int_eq(w.requested, 4);
    ck_assert_int_eq(w.new_attempts, 1);
    valid(&w);
    fl_sched_on_slots(&w.s, grants(4), 4);
    run_deployed(&w);
    ck_assert(fl_eg_all_running(&w.s.eg));
    /* the restart strategy (1 attempt) was not used up by the rescale */
    report(&w, 0, 3, FL_TASK_FAILED);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < w.gr.v[vi].parallelism; i++)
            if (!fl_task_state_is_terminal(fl_eg_exec(&w.s.eg, vi, i)->state))
                report(&w, vi, i, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_RESTARTING);
    ck_assert_int_eq(fl_sched_rescale(&w.s, par), -1); /* not RUNNING */
    w_free(&w);
}
END_TEST

/* ---- reactive mode (scheduler_reactive.c) ------------------------------------------- */

START_TEST(reactive_target_fits_the_slots)
{
    graph gr;
    graph_init(&gr);
    int a = vertex(&gr, 1), b = vertex(&gr, 1), c = vertex(&gr, 1);
    edge(&gr, a, b, FL__PB__PARTITIONER__PART_HASH);
    edge(&gr, b, c, FL__PB__PARTITIONER__PART_FORWARD);
    fl_exec_graph eg;
    fl_err err;
    int par[3];
    ck_assert_int_eq(fl_eg_init(&eg, &gr.g, &err), 0);
    ck_assert_int_eq(fl_sched_reactive_target(&eg, 0, NULL, par), -1); /* no slots: wait */
    ck_assert_int_eq(fl_sched_reactive_target(&eg, 3, NULL, par), 0);
    ck_assert(par[0] == 3 && par[1] == 3 && par[2] == 3); /* one pipeline per slot */
    gr.v[a].max_parallelism = 1;
    ck_assert_int_eq(fl_sched_reactive_target(&eg, 300, NULL, par), 0);
    ck_assert(par[0] == 1 && par[1] == 128 && par[2] == 128); /* capped by max parallelism */
    gr.v[c].max_parallelism = 2; /* the forward edge pulls b down to c */
    ck_assert_int_eq(fl_sched_reactive_target(&eg, 5, NULL, par), 0);
    ck_assert(par[0] == 1 && par[1] == 2 && par[2] == 2);
    fl_eg_destroy(&eg);
    gr.v[c].max_parallelism = 128;
    gr.v[c].slot_sharing_group = "other"; /* two groups: p + p slots */
    ck_assert_int_eq(fl_eg_init(&eg, &gr.g, &err), 0);
    ck_assert_int_eq(fl_sched_reactive_target(&eg, 1, NULL, par), -1);
    ck_assert_int_eq(fl_sched_reactive_target(&eg, 5, NULL, par), 0);
    ck_assert(par[0] == 1 && par[1] == 2 && par[2] == 2);
    fl_eg_destroy(&eg);
}
END_TEST

static void w_reactive(world *w, const char *stabilization)
{
    fl_err err;
    ck_assert_int_eq(fl_conf_set(w->conf, "jobmanager.adaptive-scheduler."
                                 "resource-stabilization-timeout", stabilization, &err), 0);
    w->s.reactive = true;
}

START_TEST(reactive_scales_up_once_the_cluster_is_stable)
{
    world w;
    w_init(&w, 2, false, "region", 1);
    w_reactive(&w, "10 s");
    w_running(&w);
    fl_sched_cluster_slots(&w.s, 3);
    w_tick(&w);
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING); /* waits for the cluster to settle */
    ck_assert_int_eq(w.cancels, 0);
    ck_assert(evtimer_pending(w.s.reactive_timer, NULL));
    fl_sched_cluster_slots(&w.s, 2); /* back: nothing to do */
    ck_assert(!evtimer_pending(w.s.reactive_timer, NULL));
    fl_sched_cluster_slots(&w.s, 3);
    fl_sched_cluster_slots(&w.s, 4);
    fl_sched_on_reactive_timer(-1, 0, &w.s); /* the timeout passed with 4 slots */
    ck_assert_int_eq(w.s.state, FL_JOB_RESTARTING);
    ck_assert_int_eq(w.cancels, 1);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 2; i++)
            report(&w, vi, i, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w.gr.v[0].parallelism, 4);
    ck_assert_int_eq(w.gr.v[1].parallelism, 4);
    ck_assert_int_eq(w.requested, 4);
    ck_assert_str_eq(w.s.rescale_why, "reactive mode: the cluster has 4 slots");
    valid(&w);
    w_free(&w);
}
END_TEST

START_TEST(reactive_scales_down_when_a_taskmanager_is_lost)
{
    world w;
    w_init(&w, 4, false, "region", 5);
    w_reactive(&w, "10 s");
    w_running(&w); /* tm-0 holds slots 0, 1; tm-1 slots 2, 3 */
    fl_sched_on_slots_lost(&w.s, "tm-1", "heartbeat timeout");
    ck_assert_int_eq(w.s.state, FL_JOB_FAILING); /* one region: the full path */
    fl_sched_cluster_slots(&w.s, 2); /* fewer slots: at once, no timer */
    ck_assert(!evtimer_pending(w.s.reactive_timer, NULL));
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 4; i++)
            if (!fl_task_state_is_terminal(fl_eg_exec(&w.s.eg, vi, i)->state))
                report(&w, vi, i, FL_TASK_CANCELED);
    ck_assert_int_eq(w.s.state, FL_JOB_RESTARTING);
    w_tick(&w); /* the restart delay (0 ms): it comes up at 2, asking for 2 slots */
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w.gr.v[0].parallelism, 2);
    ck_assert_int_eq(w.gr.v[1].parallelism, 2);
    ck_assert_int_eq(w.requested, 2);
    ck_assert_int_eq(rescaled_from[0], 4);
    valid(&w);
    fl_sched_on_slots(&w.s, grants(2), 2);
    run_deployed(&w);
    ck_assert(fl_eg_all_running(&w.s.eg));
    w_free(&w);
}
END_TEST

START_TEST(reactive_leaves_unaligned_checkpoints_alone)
{
    world w;
    fl_err err;
    w_init(&w, 2, false, "region", 1);
    w_reactive(&w, "0 ms");
    ck_assert_int_eq(fl_conf_set(w.conf, "execution.checkpointing.unaligned.enabled", "true",
                                 &err), 0);
    w_running(&w);
    fl_sched_cluster_slots(&w.s, 1);
    fl_sched_cluster_slots(&w.s, 8);
    w_tick(&w);
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w.cancels, 0);
    ck_assert(w.s.reactive_refused);
    w_free(&w);
}
END_TEST

START_TEST(adaptive_waits_then_runs_with_fewer_and_scales_up_to_the_declared)
{
    world w;
    fl_err err;
    w_init(&w, 4, false, "region", 1);
    w_reactive(&w, "10 s");
    ck_assert_int_eq(fl_conf_set(w.conf, "jobmanager.adaptive-scheduler.resource-wait-timeout",
                                 "10 s", &err), 0);
    w.s.declared = calloc(3, sizeof *w.s.declared);
    w.s.declared[0] = w.s.declared[1] = 4;
    fl_sched_cluster_slots(&w.s, 2); /* CREATED: it starts at what it declared */
    fl_sched_start(&w.s);
    ck_assert_int_eq(w.requested, 4);
    ck_assert(evtimer_pending(w.s.wait_timer, NULL));
    fl_sched_cluster_slots(&w.s, 3); /* fewer than declared: no rescale before the timeout */
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w.gr.v[1].parallelism, 4);
    fl_sched_on_wait_timer(-1, 0, &w.s); /* resource-wait-timeout: run with the 3 there are */
    ck_assert_int_eq(w.s.state, FL_JOB_RUNNING);
    ck_assert_int_eq(w.gr.v[1].parallelism, 3);
    ck_assert_int_eq(w.requested, 3);
    fl_sched_on_slots(&w.s, grants(3), 3);
    ck_assert(!evtimer_pending(w.s.wait_timer, NULL));
    run_deployed(&w);
    fl_sched_cluster_slots(&w.s, 8); /* up to the declared 4, not 8 */
    fl_sched_on_reactive_timer(-1, 0, &w.s);
    ck_assert_int_eq(w.s.state, FL_JOB_RESTARTING);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 3; i++)
            report(&w, vi, i, FL_TASK_CANCELED);
    ck_assert_int_eq(w.gr.v[0].parallelism, 4);
    ck_assert_int_eq(w.gr.v[1].parallelism, 4);
    ck_assert_str_eq(w.s.rescale_why, "adaptive scheduler: the cluster has 8 slots");
    valid(&w);
    w_free(&w);
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("scheduler");
    TCase *tc = tcase_create("transitions");
    tcase_add_test(tc, created_to_finished);
    tcase_add_test(tc, region_failover_restarts_only_the_region);
    tcase_add_test(tc, a_second_region_waits_for_the_deployment);
    tcase_add_test(tc, full_strategy_restarts_everything);
    tcase_add_test(tc, one_region_takes_the_full_path);
    tcase_add_test(tc, a_lost_taskmanager_restarts_its_regions_in_new_slots);
    tcase_add_test(tc, one_failure_is_one_restart);
    tcase_add_test(tc, a_lost_taskmanager_under_full);
    tcase_add_test(tc, restart_strategy_gives_up);
    tcase_add_test(tc, cancel_while_a_region_restarts);
    tcase_add_test(tc, rescale_restarts_at_the_new_parallelism);
    tcase_add_test(tc, reactive_target_fits_the_slots);
    tcase_add_test(tc, reactive_scales_up_once_the_cluster_is_stable);
    tcase_add_test(tc, reactive_scales_down_when_a_taskmanager_is_lost);
    tcase_add_test(tc, reactive_leaves_unaligned_checkpoints_alone);
    tcase_add_test(tc, adaptive_waits_then_runs_with_fewer_and_scales_up_to_the_declared);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(sched_suite());
}
