/* te_registration.c -- the TaskExecutor's side of the ResourceManager: registration with
 * backoff, heartbeats and their timeout, disconnects, and with high availability the leader
 * ZooKeeper names (task_executor.h). The "taskexecutor" thread. */
#include "common/log.h"
#include "common/supervise.h"
#include "common/util.h"
#include "task_executor_internal.h"
#include "tm_metrics.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void schedule_retry(fl_te *te)
{
    if (te->state == TE_STOPPING)
        return;
    te->state = TE_DISCONNECTED;
    struct timeval tv = {te->backoff_ms / 1000, (te->backoff_ms % 1000) * 1000};
    evtimer_add(te->retry_timer, &tv);
    te->backoff_ms = FL_MIN(te->backoff_ms * 2, te->backoff_max_ms);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    fl_te_connect_rm(arg);
}

/* How long a (re-)registration waits for the tasks it cancelled to stop, so that the
 * leader it registers with finds every slot free; a task stuck longer does not keep its
 * TaskManager out of the cluster. */
#define IDLE_WAIT_MAX_MS 10000

/* The slot report, in te->slot_status (heap: a large slot count would not fit a stack). */
static void fill_slots(fl_te *te)
{
    Fl__Pb__SlotStatus *st = te->slot_status, **ptrs = te->slot_ptrs;
    for (int i = 0; i < te->nslots; i++) {
        fl__pb__slot_status__init(&st[i]);
        st[i].index = (uint32_t)i;
        st[i].job_id = te->slots[i].job_id;
        st[i].allocation_id = te->slots[i].allocation_id;
        ptrs[i] = &st[i];
    }
}

static void on_registration(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    fl_te *te = ctx;
    fl_conn_id conn = (fl_conn_id)(uintptr_t)arg;
    if (te->state != TE_REGISTERING || conn != te->conn) {
        fl_rpc_msg_free(reply);
        return;
    }
    if (!reply) {
        fl_warn("Registration at ResourceManager %s:%d failed: %s", te->jm_host, te->jm_port,
                error);
        fl_rpc_close(te->rpc, conn); /* the down event schedules the retry */
        return;
    }
    Fl__Pb__RegistrationResponse *r = (Fl__Pb__RegistrationResponse *)reply->pb;
    if (!r->accepted && r->permanent) {
        /* its configuration: no retry can help. Stop (exit status 2), saying why. */
        fl_error("ResourceManager %s:%d refused the registration for good: %s. Stopping.",
                 te->jm_host, te->jm_port, r->reason);
        te->refused = true;
        kill(getpid(), SIGTERM);
    } else if (!r->accepted) {
        fl_warn("ResourceManager %s:%d refused the registration: %s", te->jm_host, te->jm_port,
                r->reason);
        fl_rpc_close(te->rpc, conn);
    } else if (strlen(r->leader_session_id) != FL_SESSION_ID_LEN ||
               (te->expected_session[0] &&
                strcmp(r->leader_session_id, te->expected_session) != 0)) {
        fl_warn("ResourceManager %s:%d accepted us as leader session '%.40s', but ZooKeeper "
                "names session %s as the leader: not registering with it", te->jm_host,
                te->jm_port, r->leader_session_id, te->expected_session);
        fl_rpc_close(te->rpc, conn);
    } else {
        snprintf(te->leader_session, sizeof te->leader_session, "%s", r->leader_session_id);
        te->state = TE_REGISTERED;
        snprintf(te->registration_id, sizeof te->registration_id, "%s", r->registration_id);
        te->hb_timeout_ms = r->heartbeat_timeout_ms ? (int64_t)r->heartbeat_timeout_ms : 50000;
        te->last_rm_heard = fl_mono_ms();
        te->backoff_ms = te->backoff_initial_ms;
        fl_info("Successful registration at resource manager flint://%s:%d/resourcemanager "
                "under registration id %s%s, leader session %s (%lld ms after start).",
                te->jm_host, te->jm_port, r->registration_id,
                te->ever_registered ? " (re-registered)" : "", te->leader_session,
                (long long)(fl_mono_ms() - te->started_mono));
        te->ever_registered = true;
    }
    fl_rpc_msg_free(reply);
}

static void on_rm_conn(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
{
    fl_te *te = ctx;
    if (te->state == TE_STOPPING)
        return;
    if (up) {
        if (te->state != TE_CONNECTING || te->retarget) { /* stale, or the leader changed */
            fl_rpc_close(te->rpc, conn);
            return;
        }
        te->conn = conn;
        te->state = TE_REGISTERING;
        /* no slot report: the tasks of the previous JobManager stopped before this
         * registration (connect_rm waits for them), a new leader redeploys what it
         * recovers, and a registration must stay small (rpc.server.handshake.max-frame-size) */
        Fl__Pb__RegisterTaskManager req = FL__PB__REGISTER_TASK_MANAGER__INIT;
        req.resource_id = te->resource_id;
        req.host = te->host;
        req.rpc_port = (uint32_t)te->rpc_port;
        req.data_port = (uint32_t)te->data_port;
        req.num_slots = (uint32_t)te->nslots;
        if (!te->ever_registered && fl_supervise_crash_report())
            req.crash_report = (char *)fl_supervise_crash_report();
        fl_rpc_call(te->rpc, conn, FL_RPC_REGISTER_TASK_MANAGER, &req.base, te->ask_timeout_ms,
                    te->ep, on_registration, (void *)(uintptr_t)conn);
        return;
    }
    if (te->state == TE_CONNECTING || conn == te->conn) {
        if (te->state == TE_REGISTERED) {
            fl_warn("Lost connection to ResourceManager %s: %s. Trying to re-register.", peer,
                    why);
            fl_te_cancel_all_tasks(te, "the JobManager is gone");
        }
        else
            fl_debug("Could not reach ResourceManager %s: %s; retrying in %lld ms", peer, why,
                     (long long)te->backoff_ms);
        te->conn = 0;
        te->leader_session[0] = '\0';
        if (te->retarget) { /* straight to the new leader */
            te->retarget = false;
            te->backoff_ms = te->backoff_initial_ms;
            te->state = TE_DISCONNECTED;
            fl_te_connect_rm(te);
        } else {
            schedule_retry(te);
        }
    }
}

void fl_te_connect_rm(fl_te *te)
{
    if (te->state == TE_STOPPING)
        return;
    te->state = TE_DISCONNECTED;
    if (te->lr && !te->have_leader)
        return; /* on_leader connects once ZooKeeper names one */
    if (te->tasks) {
        /* the tasks cancelled when the JobManager went are still stopping: the next leader
         * should find their slots free (remove_task comes back here) */
        int64_t now = fl_mono_ms();
        if (!te->idle_wait_since)
            te->idle_wait_since = now;
        if (now - te->idle_wait_since < IDLE_WAIT_MAX_MS) {
            struct timeval tv = {0, 200 * 1000};
            evtimer_add(te->retry_timer, &tv);
            return;
        }
        int n = 0;
        for (te_task *x = te->tasks; x; x = x->next)
            n++;
        fl_warn("%d task(s) did not stop within %d ms of their cancellation; registering "
                "anyway", n, IDLE_WAIT_MAX_MS);
    }
    te->idle_wait_since = 0;
    te->state = TE_CONNECTING;
    fl_rpc_connect(te->rpc, te->jm_host, te->jm_port, te->ask_timeout_ms, te->ep, on_rm_conn);
}

static void on_heartbeat_request(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__HeartbeatRequest *h = (Fl__Pb__HeartbeatRequest *)msg->pb;
    if (te->state == TE_REGISTERED && msg->conn == te->conn &&
        strcmp(h->registration_id, te->registration_id) == 0 &&
        strcmp(h->leader_session_id, te->leader_session) == 0) {
        te->last_rm_heard = fl_mono_ms();
        Fl__Pb__HeartbeatResponse resp = FL__PB__HEARTBEAT_RESPONSE__INIT;
        Fl__Pb__MetricsTaskManager pm;
        fl_tm_fill_process_metrics(te->net, te->conf, &pm);
        resp.metrics = &pm;
        fill_slots(te);
        resp.resource_id = te->resource_id;
        resp.registration_id = te->registration_id;
        resp.n_slots = (size_t)te->nslots;
        resp.slots = te->slot_ptrs;
        fl_rpc_send(te->rpc, msg->conn, FL_RPC_HEARTBEAT_RESPONSE, &resp.base);
    }
    fl_rpc_msg_free(msg);
}

static void on_disconnect(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__Disconnect *d = (Fl__Pb__Disconnect *)msg->pb;
    if (msg->conn == te->conn && te->state != TE_STOPPING &&
        (te->state != TE_REGISTERED || !strcmp(d->leader_session_id, te->leader_session))) {
        fl_warn("ResourceManager %s disconnected us: %s. Registering again.", msg->peer,
                d->reason);
        fl_rpc_close(te->rpc, msg->conn);
    }
    fl_rpc_msg_free(msg);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    fl_te *te = arg;
    if (te->state != TE_REGISTERED)
        return;
    int64_t silent = fl_mono_ms() - te->last_rm_heard;
    if (silent > te->hb_timeout_ms) {
        fl_warn("The heartbeat of ResourceManager flint://%s:%d/resourcemanager timed out "
                "(%lld ms); re-registering.",
                te->jm_host, te->jm_port, (long long)silent);
        fl_rpc_close(te->rpc, te->conn);
    }
}

/* True when msg came on the connection of the JobManager we registered with and carries
 * its leader session id (the fencing token): commands from anyone else, or from a leader
 * that another has replaced, are refused (the RPC service closes accepted connections that
 * send them; this is the second and third line). */
bool fl_te_from_leader(fl_te *te, const fl_rpc_msg *msg, const char *token)
{
    if (te->state == TE_REGISTERED && msg->conn == te->conn &&
        strcmp(token, te->leader_session) == 0)
        return true;
    if (te->state == TE_REGISTERED && msg->conn == te->conn)
        fl_warn_every(10, "Refusing %s from %s: it carries leader session '%.40s', not %s "
                      "(a leader that was replaced)", fl_rpc_type_name(msg->type), msg->peer,
                      token, te->leader_session);
    else
        fl_warn_every(10, "Refusing %s from %s: not the JobManager this TaskManager is "
                      "registered with", fl_rpc_type_name(msg->type), msg->peer);
    return false;
}

/* The leader ZooKeeper names (high availability): register with it when it is another. */
static void on_leader(void *ctx, const fl_leader_info *li)
{
    fl_te *te = ctx;
    if (!li || te->state == TE_STOPPING)
        return; /* between two leaders: stay with the one we have until the next appears */
    if (te->have_leader && !strcmp(li->session_id, te->expected_session) &&
        !strcmp(li->rpc_host, te->jm_host) && li->rpc_port == te->jm_port)
        return;
    bool had = te->have_leader;
    te->have_leader = true;
    snprintf(te->expected_session, sizeof te->expected_session, "%s", li->session_id);
    snprintf(te->jm_host, sizeof te->jm_host, "%s", li->rpc_host);
    te->jm_port = li->rpc_port;
    fl_info("%s leader: flint://%s:%d (leader session %s)%s", had ? "New" : "Found the",
            te->jm_host, te->jm_port, te->expected_session,
            te->state == TE_REGISTERED ? "; leaving the old one" : "");
    te->backoff_ms = te->backoff_initial_ms;
    switch (te->state) {
    case TE_DISCONNECTED:
        evtimer_del(te->retry_timer);
        fl_te_connect_rm(te);
        break;
    case TE_CONNECTING:
        te->retarget = true; /* its answer, whatever it is, leads to the new one */
        break;
    default: /* registering or registered with the old one: its down event goes on */
        te->retarget = true;
        fl_rpc_close(te->rpc, te->conn);
        break;
    }
}

int fl_te_registration_init(fl_te *te, fl_err *err)
{
    struct event_base *base = fl_endpoint_base(te->ep);
    if (fl_ha_enabled(te->conf)) {
        te->lr = fl_leader_retrieval_new(te->conf, te->ep, on_leader, err);
        if (!te->lr)
            return -1;
        te->jm_host[0] = '\0';
        te->jm_port = 0;
    }
    te->retry_timer = evtimer_new(base, on_retry, te);
    te->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, te);
    fl_rpc_route(te->rpc, FL_RPC_HEARTBEAT_REQUEST, te->ep, on_heartbeat_request);
    fl_rpc_route(te->rpc, FL_RPC_DISCONNECT, te->ep, on_disconnect);
    return 0;
}
