/* simtm.c -- simulated TaskManagers: many lightweight TaskManagers in one process, speaking
 * the real RPC protocol to a real JobManager, so that the JobManager's limits can be measured
 * at sizes one machine cannot host as real processes (issue 21: 1,000 TaskManagers, 10,000
 * subtasks per vertex).
 *
 *   flint-simtm --jm HOST:PORT [--tms N] [--slots S] [--finish-after-ms T] [--report-ms R]
 *               [--not-running-at C] [--victim K]
 *
 * Each simulated TaskManager has its own RPC connection (as a real one does), registers,
 * answers heartbeats with its slot report, and accepts task deployments: a task is a no-op
 * that reports INITIALIZING and RUNNING at once, and FINISHED after T ms (never when T is
 * 0); a cancellation makes it CANCELED. A checkpoint trigger (which only the TaskManagers
 * of source tasks receive: the barriers of a real job would reach the rest) makes every
 * simulated TaskManager acknowledge it for each of its running tasks of that job and attempt
 * (all of them live in this process); at checkpoint C (--not-running-at) one task declines
 * instead, as a task that finished while the trigger was on its way does ("the task is not
 * running"). Nothing is deployed anywhere: no bundle is fetched,
 * no data flows.
 *
 * stdout, one line each: "registered N in MS ms" once all are registered, then every R ms
 * (default 1000) "stats tasks_running=.. deployed=.. heartbeats=.. hb_delay_max_ms=..
 * hb_delay_p99_ms=.." where a heartbeat's delay is how much later than the JobManager's
 * heartbeat.interval it came after the previous one (the delays are reset with each line).
 * SIGUSR1 "kills" simulated TaskManager K (default: the first that holds a task): its connection closes at once, as a
 * kill -9 would close it, and its tasks are gone; it prints "killed RID: N tasks of
 * subtasks I,J,..." (what it held), so that a test can tell which regions the failover must
 * restart and count the deployments that follow (the deployed= figure).
 * Runs until SIGTERM/SIGINT. One thread for all the TaskManagers' logic, one for their
 * heartbeats (so that a storm of deployments here does not delay them: what is measured is
 * the JobManager's punctuality), one for the RPC sockets (fl_rpc).
 */
#include "common/job_state.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

typedef struct sim_task {
    char job[40];
    int attempt, vertex, subtask, slot;
    int state;
    int64_t finish_at; /* mono ms, 0 = never */
} sim_task;

typedef struct sim_tm {
    int idx;
    fl_conn_id conn;
    char rid[64];
    char regid[40];
    bool registered;
    bool dead;            /* killed by SIGUSR1: its connection is closed */
    int64_t last_hb;      /* mono ms of the last heartbeat request */
    sim_task *tasks;
    int ntasks, cap;
    char (*slot_job)[40]; /* per slot: the job holding it, "" when free */
    char (*slot_alloc)[40];
} sim_tm;

static struct {
    char jm_host[256];
    int jm_port;
    int ntms, nslots;
    int64_t finish_after, report_ms;
    int64_t not_running_at; /* the checkpoint at which one task declines as not running */
    int victim;             /* the TaskManager SIGUSR1 kills */
    fl_rpc *rpc;
    fl_endpoint *ep;
    fl_endpoint *hb_ep;   /* heartbeats */
    pthread_mutex_t lock; /* the slot tables, read by the heartbeat thread */
    sim_tm *tms;
    int connecting;     /* the TaskManager whose connection is being opened */
    int nregistered;
    int64_t t0;
    int64_t hb_interval;
    /* heartbeat delays since the last report, ms */
    int64_t *delays;
    int ndelays, cap_delays;
    uint64_t heartbeats, deployed;
} sim;

static sim_tm *tm_of(fl_conn_id conn)
{
    /* connection ids grow: a binary search would do, but linear is plenty at these sizes */
    for (int i = 0; i < sim.ntms; i++)
        if (sim.tms[i].conn == conn)
            return &sim.tms[i];
    return NULL;
}

static void send_state(sim_tm *t, sim_task *x, int state)
{
    Fl__Pb__TaskStateUpdate u = FL__PB__TASK_STATE_UPDATE__INIT;
    u.job_id = x->job;
    u.attempt = x->attempt;
    u.vertex = x->vertex;
    u.subtask = x->subtask;
    u.state = state;
    x->state = state;
    fl_rpc_send(sim.rpc, t->conn, FL_RPC_TASK_STATE_UPDATE, &u.base);
}

static void free_slot_if_unused(sim_tm *t, int slot)
{
    for (int i = 0; i < t->ntasks; i++)
        if (t->tasks[i].slot == slot && !fl_task_state_is_terminal(t->tasks[i].state))
            return;
    pthread_mutex_lock(&sim.lock);
    t->slot_job[slot][0] = t->slot_alloc[slot][0] = '\0';
    pthread_mutex_unlock(&sim.lock);
}

/* Drops terminal tasks (their slots were freed when they ended). */
static void compact(sim_tm *t)
{
    int k = 0;
    for (int i = 0; i < t->ntasks; i++)
        if (!fl_task_state_is_terminal(t->tasks[i].state))
            t->tasks[k++] = t->tasks[i];
    t->ntasks = k;
}

/* ---- registration and heartbeats --------------------------------------------------- */

static void connect_next(void);

static void on_registration(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    sim_tm *t = &sim.tms[(intptr_t)arg];
    Fl__Pb__RegistrationResponse *r = reply ? (Fl__Pb__RegistrationResponse *)reply->pb : NULL;
    if (!r || !r->accepted) {
        fprintf(stderr, "simtm: %s not registered: %s\n", t->rid, r ? r->reason : error);
        exit(2);
    }
    snprintf(t->regid, sizeof t->regid, "%s", r->registration_id);
    if (!sim.hb_interval)
        sim.hb_interval = (int64_t)r->heartbeat_interval_ms;
    pthread_mutex_lock(&sim.lock);
    t->registered = true;
    t->last_hb = fl_mono_ms();
    pthread_mutex_unlock(&sim.lock);
    if (++sim.nregistered == sim.ntms) {
        printf("registered %d in %lld ms\n", sim.ntms, (long long)(fl_mono_ms() - sim.t0));
        fflush(stdout);
    }
    fl_rpc_msg_free(reply);
}

static void fill_slots(sim_tm *t, Fl__Pb__SlotStatus *st, Fl__Pb__SlotStatus **ptrs)
{
    for (int i = 0; i < sim.nslots; i++) {
        fl__pb__slot_status__init(&st[i]);
        st[i].index = (uint32_t)i;
        st[i].job_id = t->slot_job[i];
        st[i].allocation_id = t->slot_alloc[i];
        ptrs[i] = &st[i];
    }
}

/* The connections open one after the other (a connection's callback does not say which
 * connect it answers); the registrations then go out together: a registration storm. */
static void on_conn(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
{
    if (!up) {
        sim_tm *t = tm_of(conn);
        if (t && t->dead)
            return;
        if (t || sim.connecting < sim.ntms) {
            fprintf(stderr, "simtm: connection to the JobManager %s lost: %s\n", peer, why);
            exit(2);
        }
        return;
    }
    sim_tm *t = &sim.tms[sim.connecting++];
    pthread_mutex_lock(&sim.lock);
    t->conn = conn;
    pthread_mutex_unlock(&sim.lock);
    Fl__Pb__RegisterTaskManager req = FL__PB__REGISTER_TASK_MANAGER__INIT;
    req.resource_id = t->rid;
    req.host = "127.0.0.1";
    req.rpc_port = (uint32_t)(20000 + t->idx % 40000);
    req.data_port = (uint32_t)(20000 + t->idx % 40000);
    req.num_slots = (uint32_t)sim.nslots;
    fl_rpc_call(sim.rpc, conn, FL_RPC_REGISTER_TASK_MANAGER, &req.base, 60000, sim.ep,
                on_registration, (void *)(intptr_t)t->idx);
    connect_next();
}

static void connect_next(void)
{
    if (sim.connecting < sim.ntms)
        fl_rpc_connect(sim.rpc, sim.jm_host, sim.jm_port, 10000, sim.ep, on_conn);
}

static void on_heartbeat(void *ctx, fl_rpc_msg *msg)
{
    pthread_mutex_lock(&sim.lock);
    sim_tm *t = tm_of(msg->conn);
    if (t && t->registered) {
        int64_t now = fl_mono_ms(), late = now - t->last_hb - sim.hb_interval;
        t->last_hb = now;
        if (sim.ndelays == sim.cap_delays) {
            sim.cap_delays = sim.cap_delays ? sim.cap_delays * 2 : 1024;
            sim.delays = fl_xrealloc(sim.delays, (size_t)sim.cap_delays * sizeof *sim.delays);
        }
        sim.delays[sim.ndelays++] = late > 0 ? late : 0;
        sim.heartbeats++;
        Fl__Pb__HeartbeatResponse resp = FL__PB__HEARTBEAT_RESPONSE__INIT;
        Fl__Pb__SlotStatus *st = fl_xcalloc((size_t)sim.nslots, sizeof *st);
        Fl__Pb__SlotStatus **ptrs = fl_xcalloc((size_t)sim.nslots, sizeof *ptrs);
        fill_slots(t, st, ptrs);
        resp.resource_id = t->rid;
        resp.registration_id = t->regid;
        resp.n_slots = (size_t)sim.nslots;
        resp.slots = ptrs;
        fl_rpc_send(sim.rpc, msg->conn, FL_RPC_HEARTBEAT_RESPONSE, &resp.base);
        free(st);
        free(ptrs);
    }
    pthread_mutex_unlock(&sim.lock);
    fl_rpc_msg_free(msg);
}

static void on_disconnect(void *ctx, fl_rpc_msg *msg)
{
    Fl__Pb__Disconnect *d = (Fl__Pb__Disconnect *)msg->pb;
    fprintf(stderr, "simtm: the JobManager disconnected %s: %s\n", d->resource_id, d->reason);
    exit(2);
}

/* ---- tasks ------------------------------------------------------------------------- */

static void reply_ack(const fl_rpc_msg *req, bool ok, const char *error)
{
    Fl__Pb__Ack ack = FL__PB__ACK__INIT;
    ack.ok = ok;
    ack.error = (char *)(error ? error : "");
    fl_rpc_reply(sim.rpc, req, FL_RPC_ACK, &ack.base);
}

static void on_submit(void *ctx, fl_rpc_msg *msg)
{
    sim_tm *t = tm_of(msg->conn);
    Fl__Pb__TaskDeploymentDescriptor *d = ((Fl__Pb__SubmitTask *)msg->pb)->tdd;
    if (!t || !d || !d->vertex || d->slot_index < 0 || d->slot_index >= sim.nslots) {
        reply_ack(msg, false, "simtm: bad deployment");
        fl_rpc_msg_free(msg);
        return;
    }
    reply_ack(msg, true, NULL);
    pthread_mutex_lock(&sim.lock);
    snprintf(t->slot_job[d->slot_index], sizeof t->slot_job[0], "%s", d->job_id);
    snprintf(t->slot_alloc[d->slot_index], sizeof t->slot_alloc[0], "%s", d->allocation_id);
    pthread_mutex_unlock(&sim.lock);
    if (t->ntasks == t->cap) {
        compact(t);
        if (t->ntasks == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 8;
            t->tasks = fl_xrealloc(t->tasks, (size_t)t->cap * sizeof *t->tasks);
        }
    }
    sim_task *x = &t->tasks[t->ntasks++];
    memset(x, 0, sizeof *x);
    snprintf(x->job, sizeof x->job, "%s", d->job_id);
    x->attempt = d->attempt;
    x->vertex = d->vertex->id;
    x->subtask = d->subtask;
    x->slot = d->slot_index;
    x->finish_at = sim.finish_after > 0 ? fl_mono_ms() + sim.finish_after : 0;
    sim.deployed++;
    send_state(t, x, FL_TASK_INITIALIZING);
    send_state(t, x, FL_TASK_RUNNING);
    fl_rpc_msg_free(msg);
}

static void on_cancel(void *ctx, fl_rpc_msg *msg)
{
    sim_tm *t = tm_of(msg->conn);
    Fl__Pb__CancelJobTasks *c = (Fl__Pb__CancelJobTasks *)msg->pb;
    for (int i = 0; t && i < t->ntasks; i++) {
        sim_task *x = &t->tasks[i];
        if (!strcmp(x->job, c->job_id) && !fl_task_state_is_terminal(x->state)) {
            send_state(t, x, FL_TASK_CANCELED);
            free_slot_if_unused(t, x->slot);
        }
    }
    fl_rpc_msg_free(msg);
}

/* Every simulated TaskManager acknowledges for its running tasks of the job and attempt. */
static void on_trigger(void *ctx, fl_rpc_msg *msg)
{
    Fl__Pb__TriggerCheckpoint *tr = (Fl__Pb__TriggerCheckpoint *)msg->pb;
    /* every TaskManager with a source task gets the trigger: acknowledge once per checkpoint */
    static char last_job[40];
    static int64_t last_id = -1;
    static int last_attempt = -1;
    if (!strcmp(last_job, tr->job_id) && last_attempt == tr->attempt &&
        tr->checkpoint_id <= last_id) {
        fl_rpc_msg_free(msg);
        return;
    }
    snprintf(last_job, sizeof last_job, "%s", tr->job_id);
    last_attempt = tr->attempt;
    last_id = tr->checkpoint_id;
    bool declined = false;
    for (int k = 0; k < sim.ntms; k++) {
        sim_tm *t = &sim.tms[k];
        for (int i = 0; !t->dead && i < t->ntasks; i++) {
            sim_task *x = &t->tasks[i];
            if (x->state != FL_TASK_RUNNING || strcmp(x->job, tr->job_id) ||
                x->attempt != tr->attempt)
                continue;
            Fl__Pb__AcknowledgeCheckpoint a = FL__PB__ACKNOWLEDGE_CHECKPOINT__INIT;
            a.job_id = x->job;
            a.attempt = x->attempt;
            a.checkpoint_id = tr->checkpoint_id;
            a.vertex = x->vertex;
            a.subtask = x->subtask;
            if (tr->checkpoint_id == sim.not_running_at && !declined) {
                declined = true;
                a.declined = true;
                a.task_not_running = true;
                a.reason = "the task is not running";
            }
            fl_rpc_send(sim.rpc, t->conn, FL_RPC_ACKNOWLEDGE_CHECKPOINT, &a.base);
        }
    }
    fl_rpc_msg_free(msg);
}

static void on_notify(void *ctx, fl_rpc_msg *msg)
{
    fl_rpc_msg_free(msg);
}

/* SIGUSR1: the victim's connection closes as a kill -9 would close it; its tasks are gone. */
static void kill_victim(void *ctx, void *arg)
{
    sim_tm *t = NULL;
    for (int k = 0; sim.victim < 0 && !t && k < sim.ntms; k++)
        for (int i = 0; !t && i < sim.tms[k].ntasks; i++)
            if (!sim.tms[k].dead && !fl_task_state_is_terminal(sim.tms[k].tasks[i].state))
                t = &sim.tms[k];
    if (sim.victim >= 0)
        t = &sim.tms[sim.victim];
    if (!t || t->dead || !t->registered) {
        printf("killed none: no TaskManager to kill\n");
        fflush(stdout);
        return;
    }
    char list[4096];
    size_t len = 0;
    int n = 0;
    list[0] = '\0';
    for (int i = 0; i < t->ntasks; i++) {
        sim_task *x = &t->tasks[i];
        if (fl_task_state_is_terminal(x->state))
            continue;
        n++;
        if (len < sizeof list - 16)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%d", len ? "," : "",
                                    x->subtask);
    }
    pthread_mutex_lock(&sim.lock);
    t->dead = true;
    t->ntasks = 0;
    pthread_mutex_unlock(&sim.lock);
    fl_rpc_close(sim.rpc, t->conn);
    printf("killed %s: %d tasks of subtasks %s deployed=%llu\n", t->rid, n, list,
           (unsigned long long)sim.deployed);
    fflush(stdout);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = fl_mono_ms();
    int running = 0;
    for (int k = 0; k < sim.ntms; k++) {
        sim_tm *t = &sim.tms[k];
        for (int i = 0; !t->dead && i < t->ntasks; i++) {
            sim_task *x = &t->tasks[i];
            if (x->state == FL_TASK_RUNNING && x->finish_at && now >= x->finish_at) {
                send_state(t, x, FL_TASK_FINISHED);
                free_slot_if_unused(t, x->slot);
            }
            running += x->state == FL_TASK_RUNNING;
        }
    }
    static int64_t last_report;
    if (now - last_report >= sim.report_ms) {
        last_report = now;
        pthread_mutex_lock(&sim.lock);
        int64_t max = 0, p99 = 0;
        if (sim.ndelays) {
            qsort(sim.delays, (size_t)sim.ndelays, sizeof *sim.delays, cmp_i64);
            max = sim.delays[sim.ndelays - 1];
            p99 = sim.delays[(int)((int64_t)(sim.ndelays - 1) * 99 / 100)];
        }
        printf("stats tasks_running=%d deployed=%llu heartbeats=%llu hb_delay_max_ms=%lld "
               "hb_delay_p99_ms=%lld\n",
               running, (unsigned long long)sim.deployed, (unsigned long long)sim.heartbeats,
               (long long)max, (long long)p99);
        fflush(stdout);
        sim.ndelays = 0;
        pthread_mutex_unlock(&sim.lock);
    }
}

static void start(void *ctx, void *arg)
{
    sim.t0 = fl_mono_ms();
    connect_next();
}

int main(int argc, char **argv)
{
    fl_err err;
    sim.ntms = 100;
    sim.nslots = 1;
    sim.report_ms = 1000;
    sim.victim = -1;
    const char *jm = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--jm"))
            jm = argv[i + 1];
        else if (!strcmp(argv[i], "--tms"))
            sim.ntms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--slots"))
            sim.nslots = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--finish-after-ms"))
            sim.finish_after = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--report-ms"))
            sim.report_ms = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--not-running-at"))
            sim.not_running_at = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--victim"))
            sim.victim = atoi(argv[i + 1]);
    }
    if (!jm || sim.ntms < 1 || sim.nslots < 1 || sim.victim < -1 || sim.victim >= sim.ntms ||
        fl_parse_host_port(jm, sim.jm_host, sizeof sim.jm_host, &sim.jm_port, &err) < 0) {
        fprintf(stderr, "usage: flint-simtm --jm HOST:PORT [--tms N] [--slots S] "
                        "[--finish-after-ms T] [--report-ms R] [--not-running-at C] "
                        "[--victim K]\n");
        return 1;
    }
    fl_log_init(FL_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set; /* only fl_daemon_wait takes them: block them before any thread starts */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sim.tms = fl_xcalloc((size_t)sim.ntms, sizeof *sim.tms);
    for (int i = 0; i < sim.ntms; i++) {
        sim_tm *t = &sim.tms[i];
        t->idx = i;
        snprintf(t->rid, sizeof t->rid, "sim-%d-%d", (int)getpid(), i);
        t->slot_job = fl_xcalloc((size_t)sim.nslots, sizeof *t->slot_job);
        t->slot_alloc = fl_xcalloc((size_t)sim.nslots, sizeof *t->slot_alloc);
    }
    sim.rpc = fl_rpc_new("rpc", 256u << 20);
    sim.ep = fl_endpoint_new("simtm");
    sim.hb_ep = fl_endpoint_new("heartbeats");
    pthread_mutex_init(&sim.lock, NULL);
    fl_rpc_route(sim.rpc, FL_RPC_HEARTBEAT_REQUEST, sim.hb_ep, on_heartbeat);
    fl_rpc_route(sim.rpc, FL_RPC_DISCONNECT, sim.ep, on_disconnect);
    fl_rpc_route(sim.rpc, FL_RPC_SUBMIT_TASK, sim.ep, on_submit);
    fl_rpc_route(sim.rpc, FL_RPC_CANCEL_JOB_TASKS, sim.ep, on_cancel);
    fl_rpc_route(sim.rpc, FL_RPC_TRIGGER_CHECKPOINT, sim.ep, on_trigger);
    fl_rpc_route(sim.rpc, FL_RPC_NOTIFY_CHECKPOINT, sim.ep, on_notify);
    struct event *tick = event_new(fl_endpoint_base(sim.ep), -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 50 * 1000};
    event_add(tick, &tv);
    if (fl_rpc_start(sim.rpc, &err) < 0 || fl_endpoint_start(sim.ep, NULL, &err) < 0 ||
        fl_endpoint_start(sim.hb_ep, NULL, &err) < 0) {
        fprintf(stderr, "simtm: %s\n", err.msg);
        return 1;
    }
    fl_endpoint_post(sim.ep, start, NULL, NULL);
    int sig;
    while (sigwait(&set, &sig) == 0 && sig == SIGUSR1)
        fl_endpoint_post(sim.ep, kill_victim, NULL, NULL);
    fl_rpc_stop(sim.rpc);
    fl_endpoint_stop(sim.ep);
    fl_endpoint_stop(sim.hb_ep);
    return 0;
}
