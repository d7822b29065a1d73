/* task_executor.c -- see task_executor.h. After start, everything runs on the taskexecutor
 * thread. */
#include "task_executor.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

enum te_state { TE_DISCONNECTED, TE_CONNECTING, TE_REGISTERING, TE_REGISTERED, TE_STOPPING };

typedef struct te_slot {
    char job_id[40];
    char allocation_id[40];
} te_slot;

struct fl_te {
    fl_endpoint *ep;
    fl_rpc *rpc;
    const fl_conf *conf;
    char resource_id[128];
    char host[256];
    int rpc_port, data_port;
    char jm_host[256];
    int jm_port;
    int nslots;
    te_slot *slots;

    enum te_state state;
    fl_conn_id conn;
    char registration_id[40];
    int64_t backoff_ms, backoff_initial_ms, backoff_max_ms, ask_timeout_ms;
    int64_t hb_timeout_ms;     /* from the ResourceManager's answer */
    int64_t last_rm_heard;     /* mono ms */
    int64_t started_mono;
    bool ever_registered;
    struct event *retry_timer, *watchdog;
};

static void connect_rm(fl_te *te);

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
    connect_rm(arg);
}

static void fill_slots(fl_te *te, Fl__Pb__SlotStatus *st, Fl__Pb__SlotStatus **ptrs)
{
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
    if (!r->accepted) {
        fl_warn("ResourceManager %s:%d refused the registration: %s", te->jm_host, te->jm_port,
                r->reason);
        fl_rpc_close(te->rpc, conn);
    } else {
        te->state = TE_REGISTERED;
        snprintf(te->registration_id, sizeof te->registration_id, "%s", r->registration_id);
        te->hb_timeout_ms = r->heartbeat_timeout_ms ? (int64_t)r->heartbeat_timeout_ms : 50000;
        te->last_rm_heard = fl_mono_ms();
        te->backoff_ms = te->backoff_initial_ms;
        fl_info("Successful registration at resource manager flint://%s:%d/resourcemanager "
                "under registration id %s%s (%lld ms after start).",
                te->jm_host, te->jm_port, r->registration_id,
                te->ever_registered ? " (re-registered)" : "",
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
        if (te->state != TE_CONNECTING) { /* stale */
            fl_rpc_close(te->rpc, conn);
            return;
        }
        te->conn = conn;
        te->state = TE_REGISTERING;
        Fl__Pb__RegisterTaskManager req = FL__PB__REGISTER_TASK_MANAGER__INIT;
        Fl__Pb__SlotStatus st[te->nslots];
        Fl__Pb__SlotStatus *ptrs[te->nslots];
        fill_slots(te, st, ptrs);
        req.resource_id = te->resource_id;
        req.host = te->host;
        req.rpc_port = (uint32_t)te->rpc_port;
        req.data_port = (uint32_t)te->data_port;
        req.num_slots = (uint32_t)te->nslots;
        req.n_slots = (size_t)te->nslots;
        req.slots = ptrs;
        fl_rpc_call(te->rpc, conn, FL_RPC_REGISTER_TASK_MANAGER, &req.base, te->ask_timeout_ms,
                    te->ep, on_registration, (void *)(uintptr_t)conn);
        return;
    }
    if (te->state == TE_CONNECTING || conn == te->conn) {
        if (te->state == TE_REGISTERED)
            fl_warn("Lost connection to ResourceManager %s: %s. Trying to re-register.", peer,
                    why);
        else
            fl_debug("Could not reach ResourceManager %s: %s; retrying in %lld ms", peer, why,
                     (long long)te->backoff_ms);
        te->conn = 0;
        schedule_retry(te);
    }
}

static void connect_rm(fl_te *te)
{
    if (te->state == TE_STOPPING)
        return;
    te->state = TE_CONNECTING;
    fl_rpc_connect(te->rpc, te->jm_host, te->jm_port, te->ask_timeout_ms, te->ep, on_rm_conn);
}

static void on_heartbeat_request(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__HeartbeatRequest *h = (Fl__Pb__HeartbeatRequest *)msg->pb;
    if (te->state == TE_REGISTERED && msg->conn == te->conn &&
        strcmp(h->registration_id, te->registration_id) == 0) {
        te->last_rm_heard = fl_mono_ms();
        Fl__Pb__HeartbeatResponse resp = FL__PB__HEARTBEAT_RESPONSE__INIT;
        Fl__Pb__SlotStatus st[te->nslots];
        Fl__Pb__SlotStatus *ptrs[te->nslots];
        fill_slots(te, st, ptrs);
        resp.resource_id = te->resource_id;
        resp.registration_id = te->registration_id;
        resp.n_slots = (size_t)te->nslots;
        resp.slots = ptrs;
        fl_rpc_send(te->rpc, msg->conn, FL_RPC_HEARTBEAT_RESPONSE, &resp.base);
    }
    fl_rpc_msg_free(msg);
}

static void on_disconnect(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__Disconnect *d = (Fl__Pb__Disconnect *)msg->pb;
    if (msg->conn == te->conn && te->state != TE_STOPPING) {
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

fl_te *fl_te_new(const fl_conf *conf, fl_rpc *rpc, const fl_te_addr *addr)
{
    fl_te *te = fl_xcalloc(1, sizeof *te);
    te->ep = fl_endpoint_new("taskexecutor");
    if (!te->ep) {
        free(te);
        return NULL;
    }
    te->rpc = rpc;
    te->conf = conf;
    snprintf(te->resource_id, sizeof te->resource_id, "%s", addr->resource_id);
    snprintf(te->host, sizeof te->host, "%s", addr->host);
    te->rpc_port = addr->rpc_port;
    te->data_port = addr->data_port;
    snprintf(te->jm_host, sizeof te->jm_host, "%s",
             fl_conf_get_str(conf, "jobmanager.rpc.address"));
    te->jm_port = (int)fl_conf_get_int(conf, "jobmanager.rpc.port");
    te->nslots = (int)fl_conf_get_int(conf, "taskmanager.numberOfTaskSlots");
    te->slots = fl_xcalloc((size_t)te->nslots, sizeof *te->slots);
    te->backoff_initial_ms =
        FL_MAX(1, fl_conf_get_duration_ms(conf, "cluster.registration.initial-timeout"));
    te->backoff_max_ms = FL_MAX(te->backoff_initial_ms,
                                fl_conf_get_duration_ms(conf, "cluster.registration.max-timeout"));
    te->backoff_ms = te->backoff_initial_ms;
    te->ask_timeout_ms = fl_conf_get_duration_ms(conf, "rpc.ask-timeout");
    te->hb_timeout_ms = fl_conf_get_duration_ms(conf, "heartbeat.timeout");
    struct event_base *base = fl_endpoint_base(te->ep);
    te->retry_timer = evtimer_new(base, on_retry, te);
    te->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, te);
    fl_rpc_route(rpc, FL_RPC_HEARTBEAT_REQUEST, te->ep, on_heartbeat_request);
    fl_rpc_route(rpc, FL_RPC_DISCONNECT, te->ep, on_disconnect);
    return te;
}

static void start_mail(void *ctx, void *arg)
{
    connect_rm(ctx);
}

int fl_te_start(fl_te *te, fl_err *err)
{
    te->started_mono = fl_mono_ms();
    struct timeval tick = {0, 100 * 1000};
    event_add(te->watchdog, &tick);
    if (fl_endpoint_start(te->ep, te, err) < 0)
        return -1;
    fl_endpoint_post(te->ep, start_mail, NULL, NULL);
    return 0;
}

static void shutdown_mail(void *ctx, void *arg)
{
    fl_te *te = ctx;
    if (te->state == TE_REGISTERED) {
        Fl__Pb__Disconnect d = FL__PB__DISCONNECT__INIT;
        d.resource_id = te->resource_id;
        d.reason = "TaskManager is shutting down";
        fl_rpc_send(te->rpc, te->conn, FL_RPC_DISCONNECT, &d.base);
    }
    te->state = TE_STOPPING;
    evtimer_del(te->retry_timer);
}

void fl_te_shutdown(fl_te *te)
{
    fl_endpoint_post(te->ep, shutdown_mail, NULL, NULL);
    fl_endpoint_stop(te->ep);
}

void fl_te_free(fl_te *te)
{
    if (!te)
        return;
    fl_endpoint_stop(te->ep);
    event_free(te->retry_timer);
    event_free(te->watchdog);
    fl_endpoint_free(te->ep);
    free(te->slots);
    free(te);
}
