/* task_executor.c -- see task_executor.h. After start, everything runs on the taskexecutor
 * thread. */
#include "common/job_state.h"
#include "common/log.h"
#include "common/path.h"
#include "common/util.h"
#include "task_executor_internal.h"
#include "tm_metrics.h"

#include <stdlib.h>
#include <string.h>


/* ---- slots ------------------------------------------------------------------------ */

static void free_slot_if_unused(fl_te *te, int slot)
{
    for (te_task *x = te->tasks; x; x = x->next)
        if (x->slot == slot)
            return;
    te->slots[slot].job_id[0] = te->slots[slot].allocation_id[0] = '\0';
}

/* ---- reporting -------------------------------------------------------------------- */

static void fill_metrics(fl_task *t, Fl__Pb__TaskMetrics *m)
{
    fl_tm_fill_task_metrics(t, m);
}

/* The Prometheus reporter's scrape (this thread): the running tasks and the process. */
static void prom_fill(void *ctx, struct evbuffer *out)
{
    fl_te *te = ctx;
    int n = 0;
    for (te_task *x = te->tasks; x; x = x->next)
        n += x->task != NULL;
    fl_task **ts = fl_xcalloc((size_t)n + 1, sizeof *ts);
    n = 0;
    for (te_task *x = te->tasks; x; x = x->next)
        if (x->task)
            ts[n++] = x->task;
    fl_tm_prom_write(out, te->resource_id, te->host, te->net, te->conf, ts, n);
    free(ts);
}

static void send_state(fl_te *te, te_task *x, int state, const char *error)
{
    if (te->state != TE_REGISTERED)
        return;
    Fl__Pb__TaskStateUpdate u = FL__PB__TASK_STATE_UPDATE__INIT;
    Fl__Pb__TaskMetrics m;
    fill_metrics(x->task, &m);
    u.job_id = x->job_id;
    u.attempt = x->attempt;
    u.vertex = x->vertex;
    u.subtask = x->subtask;
    u.state = state;
    u.error = (char *)(error ? error : "");
    u.metrics = &m;
    fl_rpc_send(te->rpc, te->conn, FL_RPC_TASK_STATE_UPDATE, &u.base);
    fl_tm_task_metrics_clear(&m);
}

/* ---- producer tables ---------------------------------------------------------------- */

/* Drops the tables of job_id (NULL: all) of attempts below `below` (INT32_MAX: all). */
static void drop_ptables(fl_te *te, const char *job_id, int below)
{
    for (te_ptable **pp = &te->ptables; *pp;) {
        te_ptable *p = *pp;
        if ((!job_id || !strcmp(p->job_id, job_id)) && p->attempt < below) {
            *pp = p->next;
            fl_ptable_unref(p->t);
            free(p);
        } else {
            pp = &p->next;
        }
    }
}

static te_ptable *find_ptable(fl_te *te, const char *job_id, int attempt, int vertex)
{
    for (te_ptable *p = te->ptables; p; p = p->next)
        if (p->attempt == attempt && p->vertex == vertex && !strcmp(p->job_id, job_id))
            return p;
    return NULL;
}

/* Keeps the tables a deployment brings (older attempts of the job go); -1 with why. */
static int take_ptables(fl_te *te, const Fl__Pb__TaskDeploymentDescriptor *d, char *why,
                        size_t len)
{
    for (size_t k = 0; k < d->n_producer_tables; k++) {
        fl_ptable *t = fl_ptable_new(d->producer_tables[k].data, d->producer_tables[k].len);
        if (!t || t->pb->attempt != d->attempt) {
            fl_ptable_unref(t);
            snprintf(why, len, "malformed producer table in the deployment of %s", d->job_id);
            return -1;
        }
        drop_ptables(te, d->job_id, d->attempt);
        te_ptable *p = find_ptable(te, d->job_id, d->attempt, t->pb->vertex);
        if (!p) {
            p = fl_xcalloc(1, sizeof *p);
            snprintf(p->job_id, sizeof p->job_id, "%s", d->job_id);
            p->attempt = d->attempt;
            p->vertex = t->pb->vertex;
            p->next = te->ptables;
            te->ptables = p;
        } else {
            fl_ptable_unref(p->t);
        }
        p->t = t;
    }
    return 0;
}

static void free_tables(fl_ptable **tables, size_t n)
{
    for (size_t g = 0; g < n; g++)
        fl_ptable_unref(tables[g]);
    free(tables);
}

static void remove_task(fl_te *te, te_task *x)
{
    for (te_task **pp = &te->tasks; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    fl_task_free(x->task); /* joins: the task posted its last report already */
    fl_rpc_msg_free(x->msg);
    if (x->tables)
        free_tables(x->tables, (size_t)x->ntables);
    bool job_here = false;
    for (te_task *y = te->tasks; y && !job_here; y = y->next)
        job_here = !strcmp(y->job_id, x->job_id);
    if (!job_here)
        drop_ptables(te, x->job_id, INT32_MAX); /* the job is done here */
    if (x->bundle)
        fl_bundle_cache_release(x->bundle);
    int slot = x->slot;
    free(x);
    free_slot_if_unused(te, slot);
    if (!te->tasks && te->idle_wait_since && te->state == TE_DISCONNECTED) {
        evtimer_del(te->retry_timer); /* every cancelled task stopped: register now */
        fl_te_connect_rm(te);
    }
}

/* A task's report (mail from its thread). */
static void on_task_report(void *ctx, void *arg)
{
    fl_te *te = ctx;
    fl_task_report *r = arg;
    te_task *x;
    for (x = te->tasks; x && x->task != r->task; x = x->next)
        ;
    if (x)
        send_state(te, x, r->state, r->error);
    if (r->crashed && te->state == TE_REGISTERED) {
        /* the process dies in a moment (common/crash.h): its slots go now, so that a
         * restart of the job is not deployed to them. The crashing task's thread is not
         * joined (remove_task): it never returns. */
        fl_warn("Leaving the ResourceManager: %s", r->error);
        Fl__Pb__Disconnect d = FL__PB__DISCONNECT__INIT;
        d.resource_id = te->resource_id;
        d.reason = r->error;
        fl_rpc_send(te->rpc, te->conn, FL_RPC_DISCONNECT, &d.base);
        te->state = TE_STOPPING;
        evtimer_del(te->retry_timer);
    } else if (x && fl_task_state_is_terminal(r->state)) {
        remove_task(te, x);
    }
    free(r);
}

static void on_metrics_tick(evutil_socket_t fd, short what, void *arg)
{
    fl_te *te = arg;
    if (te->state != TE_REGISTERED)
        return;
    /* one report per job attempt with its running tasks */
    for (te_task *x = te->tasks; x; x = x->next) {
        bool first = true;
        for (te_task *y = te->tasks; y != x; y = y->next)
            if (!strcmp(y->job_id, x->job_id) && y->attempt == x->attempt)
                first = false;
        if (!first)
            continue;
        int n = 0;
        for (te_task *y = x; y; y = y->next)
            n += !strcmp(y->job_id, x->job_id) && y->attempt == x->attempt && y->task;
        if (!n)
            continue;
        /* once a second per job attempt: the heap, not a stack array sized by the job */
        Fl__Pb__TaskMetricsReport rep = FL__PB__TASK_METRICS_REPORT__INIT;
        int32_t *vs = fl_xcalloc((size_t)n, sizeof *vs), *ss = fl_xcalloc((size_t)n, sizeof *ss);
        Fl__Pb__TaskMetrics *ms = fl_xcalloc((size_t)n, sizeof *ms);
        Fl__Pb__TaskMetrics **mp = fl_xcalloc((size_t)n, sizeof *mp);
        Fl__Pb__LatencyHistogram *lh = fl_xcalloc((size_t)n * FL_TASK_LATENCY_SOURCES, sizeof *lh);
        Fl__Pb__LatencyHistogram **lp = fl_xcalloc((size_t)n * FL_TASK_LATENCY_SOURCES, sizeof *lp);
        int k = 0;
        for (te_task *y = x; y; y = y->next)
            if (!strcmp(y->job_id, x->job_id) && y->attempt == x->attempt && y->task) {
                vs[k] = y->vertex;
                ss[k] = y->subtask;
                fill_metrics(y->task, &ms[k]);
                fl_tm_fill_task_latency(y->task, &ms[k], &lh[k * FL_TASK_LATENCY_SOURCES],
                                        &lp[k * FL_TASK_LATENCY_SOURCES]);
                mp[k] = &ms[k];
                k++;
            }
        rep.job_id = x->job_id;
        rep.attempt = x->attempt;
        rep.n_vertex = rep.n_subtask = rep.n_metrics = (size_t)n;
        rep.vertex = vs;
        rep.subtask = ss;
        rep.metrics = mp;
        fl_rpc_send(te->rpc, te->conn, FL_RPC_TASK_METRICS_REPORT, &rep.base);
        for (int i = 0; i < k; i++)
            fl_tm_task_metrics_clear(&ms[i]);
        free(vs);
        free(ss);
        free(ms);
        free(mp);
        free(lh);
        free(lp);
    }
}

/* ---- bundles and task start ------------------------------------------------------- */

/* A task's checkpoint acknowledgement (mail from the I/O thread): relay it. */
static void on_ckpt_ack(void *ctx, void *arg)
{
    fl_te *te = ctx;
    fl_ckpt_ack *a = arg;
    Fl__Pb__AcknowledgeCheckpoint *m = fl__pb__acknowledge_checkpoint__unpack(NULL, a->len, a->msg);
    if (m && te->state == TE_REGISTERED)
        fl_rpc_send(te->rpc, te->conn, FL_RPC_ACKNOWLEDGE_CHECKPOINT, &m->base);
    if (m)
        fl__pb__acknowledge_checkpoint__free_unpacked(m, NULL);
    fl_ckpt_ack_free(a);
}

static te_task *find_task(fl_te *te, const char *job, int attempt, int vertex, int subtask)
{
    for (te_task *x = te->tasks; x; x = x->next)
        if (x->task && !strcmp(x->job_id, job) && x->attempt == attempt &&
            x->vertex == vertex && x->subtask == subtask)
            return x;
    return NULL;
}

static void on_trigger_checkpoint(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__TriggerCheckpoint *t = (Fl__Pb__TriggerCheckpoint *)msg->pb;
    fl_ckpt_request r = {0};
    char why[200] = "";
    if (!fl_te_from_leader(te, msg, t->leader_session_id)) {
        fl_rpc_msg_free(msg);
        return;
    }
    r.id = t->checkpoint_id;
    r.ts = t->timestamp;
    r.savepoint = t->savepoint;
    r.exactly_once = t->exactly_once;
    r.unaligned = t->unaligned;
    r.drain = t->drain;
    /* never truncated: a shortened path is another directory */
    if (strlen(t->dir) >= FL_CKPT_DIR_MAX || strlen(t->shared_dir) >= FL_CKPT_DIR_MAX ||
        r.id <= 0)
        snprintf(why, sizeof why, "invalid checkpoint %lld or directory paths (at most %d "
                                  "bytes each, got %zu and %zu)", (long long)r.id,
                 FL_CKPT_DIR_MAX - 1, strlen(t->dir), strlen(t->shared_dir));
    snprintf(r.dir, sizeof r.dir, "%s", t->dir);
    snprintf(r.shared_dir, sizeof r.shared_dir, "%s", t->shared_dir);
    size_t n = FL_MIN(t->n_vertex, t->n_subtask);
    for (size_t i = 0; i < n; i++) {
        te_task *x = why[0] ? NULL
                            : find_task(te, t->job_id, t->attempt, t->vertex[i], t->subtask[i]);
        if (x) {
            fl_task_trigger_checkpoint(x->task, &r);
        } else {
            /* not running here (any more): decline so the checkpoint is not left waiting */
            Fl__Pb__AcknowledgeCheckpoint a = FL__PB__ACKNOWLEDGE_CHECKPOINT__INIT;
            a.job_id = t->job_id;
            a.attempt = t->attempt;
            a.checkpoint_id = t->checkpoint_id;
            a.vertex = t->vertex[i];
            a.subtask = t->subtask[i];
            a.declined = true;
            a.reason = why[0] ? why : "the task is not running";
            a.task_not_running = !why[0];
            fl_rpc_send(te->rpc, msg->conn, FL_RPC_ACKNOWLEDGE_CHECKPOINT, &a.base);
        }
    }
    fl_rpc_msg_free(msg);
}

static void on_notify_checkpoint(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__NotifyCheckpoint *n = (Fl__Pb__NotifyCheckpoint *)msg->pb;
    if (!fl_te_from_leader(te, msg, n->leader_session_id)) {
        fl_rpc_msg_free(msg);
        return;
    }
    for (te_task *x = te->tasks; x; x = x->next)
        if (x->task && !strcmp(x->job_id, n->job_id) && x->attempt == n->attempt)
            fl_task_notify_checkpoint(x->task, n->checkpoint_id, n->aborted);
    fl_rpc_msg_free(msg);
}

static void start_task(fl_te *te, te_task *x)
{
    fl_task_env env = {te->net, te->resource_id, te->ep, on_task_report,
                       te->io, on_ckpt_ack, te->tmp_dir};
    fl_rpc_msg *msg = x->msg;
    x->msg = NULL;
    x->task = fl_task_new(&env, msg, &x->bundle->bundle, x->tables);
    x->tables = NULL; /* the task's now */
    fl_err err;
    if (fl_task_start(x->task, &err) < 0) {
        send_state(te, x, FL_TASK_FAILED, err.msg);
        remove_task(te, x);
    }
}

/* Starts (or fails) every task waiting for bundle b. */
static void bundle_settled(fl_te *te, fl_bundle_entry *b)
{
    te_task *x = te->tasks, *next;
    for (; x; x = next) {
        next = x->next;
        if (x->bundle != b || x->task)
            continue;
        if (b->state == FL_BUNDLE_READY) {
            start_task(te, x);
        } else {
            send_state(te, x, FL_TASK_FAILED, b->error);
            remove_task(te, x);
        }
    }
}

static void on_blob(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    fl_te *te = ctx;
    fl_bundle_entry *b = arg;
    Fl__Pb__BlobResponse *r = reply ? (Fl__Pb__BlobResponse *)reply->pb : NULL;
    if (!r || !r->found) {
        b->state = FL_BUNDLE_FAILED;
        snprintf(b->error, sizeof b->error, "Cannot fetch the job bundle %.16s from the "
                                            "JobManager: %s",
                 b->hex, r ? "not found" : error);
    } else {
        fl_bundle_cache_store(te->bundles, b, r->data.data, r->data.len);
    }
    fl_rpc_msg_free(reply);
    bundle_settled(te, b);
}

static void reply_ack(fl_te *te, const fl_rpc_msg *req, bool ok, const char *error)
{
    Fl__Pb__Ack ack = FL__PB__ACK__INIT;
    ack.ok = ok;
    ack.error = (char *)(error ? error : "");
    fl_rpc_reply(te->rpc, req, FL_RPC_ACK, &ack.base);
}

static void on_submit_task(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__TaskDeploymentDescriptor *d = ((Fl__Pb__SubmitTask *)msg->pb)->tdd;
    char why[300];
    if (!fl_te_from_leader(te, msg, ((Fl__Pb__SubmitTask *)msg->pb)->leader_session_id)) {
        reply_ack(te, msg, false, "not the leader this TaskManager is registered with");
        fl_rpc_msg_free(msg);
        return;
    }
    if (!d || !d->vertex || d->bundle_sha256.len != 32 || !d->job_id[0] ||
        strlen(d->job_id) >= sizeof te->slots[0].job_id ||
        strlen(d->allocation_id) >= sizeof te->slots[0].allocation_id || d->subtask < 0 ||
        d->subtask >= d->vertex->parallelism || d->vertex->max_parallelism < 1 ||
        d->vertex->parallelism > d->vertex->max_parallelism) {
        reply_ack(te, msg, false, "malformed task deployment descriptor");
        fl_rpc_msg_free(msg);
        return;
    }
    /* the producer tables first: later deployments here rely on them even if this fails */
    if (take_ptables(te, d, why, sizeof why) < 0) {
        reply_ack(te, msg, false, why);
        fl_rpc_msg_free(msg);
        return;
    }
    fl_ptable **tables = fl_xcalloc(d->n_gates + 1, sizeof *tables);
    for (size_t g = 0; g < d->n_gates; g++) {
        te_ptable *p = find_ptable(te, d->job_id, d->attempt, d->gates[g]->source_vertex);
        if (!p) {
            free_tables(tables, g);
            snprintf(why, sizeof why, "no producer table of vertex %d for input %zu",
                     d->gates[g]->source_vertex, g);
            reply_ack(te, msg, false, why);
            fl_rpc_msg_free(msg);
            return;
        }
        fl_ptable_ref(p->t);
        tables[g] = p->t;
    }
    if (d->slot_index < 0 || d->slot_index >= te->nslots) {
        snprintf(why, sizeof why, "TaskManager %s has no slot %d", te->resource_id,
                 d->slot_index);
        free_tables(tables, d->n_gates);
        reply_ack(te, msg, false, why);
        fl_rpc_msg_free(msg);
        return;
    }
    te_slot *slot = &te->slots[d->slot_index];
    if (slot->job_id[0] && (strcmp(slot->job_id, d->job_id) ||
                            strcmp(slot->allocation_id, d->allocation_id))) {
        snprintf(why, sizeof why, "slot %d of TaskManager %s belongs to job %s",
                 d->slot_index, te->resource_id, slot->job_id);
        free_tables(tables, d->n_gates);
        reply_ack(te, msg, false, why);
        fl_rpc_msg_free(msg);
        return;
    }
    snprintf(slot->job_id, sizeof slot->job_id, "%s", d->job_id);
    snprintf(slot->allocation_id, sizeof slot->allocation_id, "%s", d->allocation_id);
    te_task *x = fl_xcalloc(1, sizeof *x);
    snprintf(x->job_id, sizeof x->job_id, "%s", d->job_id);
    x->attempt = d->attempt;
    x->vertex = d->vertex->id;
    x->subtask = d->subtask;
    x->slot = d->slot_index;
    x->msg = msg;
    x->tables = tables;
    x->ntables = (int)d->n_gates;
    x->bundle = fl_bundle_cache_get(te->bundles, d->bundle_sha256.data);
    x->bundle->refs++;
    if (x->bundle->state == FL_BUNDLE_FAILED) {
        /* the tasks that waited for it have failed: this deployment tries again (a fetch
         * that timed out, or a signature this one may carry) */
        x->bundle->state = FL_BUNDLE_FETCHING;
    }
    if (x->bundle->state == FL_BUNDLE_FETCHING) {
        fl_bundle_entry *nb = x->bundle;
        snprintf(nb->name, sizeof nb->name, "%s", d->bundle_name);
        nb->siglen = d->bundle_signature.len; /* a wrong length is refused, naming it */
        if (nb->siglen) /* unsigned: data is NULL */
            memcpy(nb->sig, d->bundle_signature.data, FL_MIN(nb->siglen, sizeof nb->sig));
    }
    x->next = te->tasks;
    te->tasks = x;
    reply_ack(te, msg, true, NULL);
    fl_bundle_entry *b = x->bundle;
    if (b->state == FL_BUNDLE_READY) {
        start_task(te, x);
    } else {
        /* fetching: in the cache already (another job used it), being fetched, or not */
        bool fetching = false;
        for (te_task *y = te->tasks; y; y = y->next)
            fetching |= y != x && y->bundle == b && !y->task;
        if (fetching)
            return;
        if (fl_bundle_cache_load_stored(te->bundles, b)) {
            bundle_settled(te, b);
            return;
        }
        Fl__Pb__BlobRequest req = FL__PB__BLOB_REQUEST__INIT;
        req.sha256.data = b->sha;
        req.sha256.len = 32;
        fl_rpc_call(te->rpc, te->conn, FL_RPC_BLOB_REQUEST, &req.base, te->ask_timeout_ms, te->ep,
                    on_blob, b);
    }
}

static void cancel_tasks_of(fl_te *te, const char *job_id, int attempt, const char *why)
{
    te_task *x = te->tasks, *next;
    for (; x; x = next) {
        next = x->next;
        if (job_id && (strcmp(x->job_id, job_id) || (attempt >= 0 && x->attempt != attempt)))
            continue;
        if (x->task) {
            fl_task_cancel(x->task); /* it reports CANCELED when it has stopped */
        } else {
            send_state(te, x, FL_TASK_CANCELED, NULL);
            remove_task(te, x);
        }
    }
    /* partitions nobody will consume any more */
    char prefix[64];
    if (job_id && attempt >= 0)
        snprintf(prefix, sizeof prefix, "%s/%d/", job_id, attempt);
    else
        snprintf(prefix, sizeof prefix, "%s", job_id ? job_id : "");
    fl_netenv_release_partitions(te->net, prefix, why);
}

void fl_te_cancel_all_tasks(fl_te *te, const char *why)
{
    if (te->tasks)
        fl_warn("Cancelling all tasks: %s", why);
    cancel_tasks_of(te, NULL, -1, why);
    drop_ptables(te, NULL, INT32_MAX);
}

/* Region failover: only the named tasks of the attempt, and only their partitions (other
 * regions' tasks of the same attempt run on). */
static void cancel_some_tasks(fl_te *te, const Fl__Pb__CancelJobTasks *c)
{
    size_t n = FL_MIN(c->n_vertex, c->n_subtask);
    for (size_t k = 0; k < n; k++) {
        te_task *x = find_task(te, c->job_id, c->attempt, c->vertex[k], c->subtask[k]);
        if (x) {
            fl_task_cancel(x->task); /* it reports CANCELED when it has stopped */
        } else {
            for (x = te->tasks; x; x = x->next) /* deployed, its bundle still coming */
                if (!x->task && !strcmp(x->job_id, c->job_id) && x->attempt == c->attempt &&
                    x->vertex == c->vertex[k] && x->subtask == c->subtask[k])
                    break;
            if (x) {
                send_state(te, x, FL_TASK_CANCELED, NULL);
                remove_task(te, x);
            }
        }
        char prefix[96];
        snprintf(prefix, sizeof prefix, "%s/%d/%d/%d/", c->job_id, c->attempt, c->vertex[k],
                 c->subtask[k]);
        fl_netenv_release_partitions(te->net, prefix, "region cancelled");
    }
}

static void on_log_request(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    fl_tm_answer_log_request(te->rpc, te->conf, msg);
}

static void on_cancel_job_tasks(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__CancelJobTasks *c = (Fl__Pb__CancelJobTasks *)msg->pb;
    if (c->n_vertex > 0 && fl_te_from_leader(te, msg, c->leader_session_id)) {
        cancel_some_tasks(te, c);
    } else if (fl_te_from_leader(te, msg, c->leader_session_id)) {
        cancel_tasks_of(te, c->job_id, c->attempt, "job cancelled");
        drop_ptables(te, c->job_id, c->attempt == INT32_MAX ? INT32_MAX : c->attempt + 1);
    }
    fl_rpc_msg_free(msg);
}

fl_te *fl_te_new(const fl_conf *conf, fl_rpc *rpc, fl_netenv *net, const fl_te_addr *addr)
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
    te->slot_status = fl_xcalloc((size_t)te->nslots, sizeof *te->slot_status);
    te->slot_ptrs = fl_xcalloc((size_t)te->nslots, sizeof *te->slot_ptrs);
    te->backoff_initial_ms =
        FL_MAX(1, fl_conf_get_duration_ms(conf, "cluster.registration.initial-timeout"));
    te->backoff_max_ms = FL_MAX(te->backoff_initial_ms,
                                fl_conf_get_duration_ms(conf, "cluster.registration.max-timeout"));
    te->backoff_ms = te->backoff_initial_ms;
    te->ask_timeout_ms = fl_conf_get_duration_ms(conf, "rpc.ask-timeout");
    te->hb_timeout_ms = fl_conf_get_duration_ms(conf, "heartbeat.timeout");
    fl_err rerr;
    if (fl_te_registration_init(te, &rerr) < 0) {
        fl_error("%s", rerr.msg);
        free(te->slots);
        free(te->slot_status);
        free(te->slot_ptrs);
        fl_endpoint_free(te->ep);
        free(te);
        return NULL;
    }
    te->metrics_timer = event_new(fl_endpoint_base(te->ep), -1, EV_PERSIST, on_metrics_tick, te);
    te->net = net;
    te->bundles = fl_bundle_cache_new(conf, te->resource_id);
    fl_rpc_route(rpc, FL_RPC_SUBMIT_TASK, te->ep, on_submit_task);
    fl_rpc_route(rpc, FL_RPC_CANCEL_JOB_TASKS, te->ep, on_cancel_job_tasks);
    fl_rpc_route(rpc, FL_RPC_TRIGGER_CHECKPOINT, te->ep, on_trigger_checkpoint);
    fl_rpc_route(rpc, FL_RPC_NOTIFY_CHECKPOINT, te->ep, on_notify_checkpoint);
    fl_rpc_route(rpc, FL_RPC_LOG_REQUEST, te->ep, on_log_request);
    te->io = fl_endpoint_new("snapshot-io");
    /* a checkpoint's asynchronous part (writing, uploading) yields the cores to the tasks:
     * it delays a checkpoint, not the records */
    fl_endpoint_set_nice(te->io, 10);
    snprintf(te->tmp_dir, sizeof te->tmp_dir, "%s", fl_conf_get_str(conf, "io.tmp.dirs"));
    return te;
}

static void start_mail(void *ctx, void *arg)
{
    fl_te_connect_rm(ctx);
}

int fl_te_start(fl_te *te, fl_err *err)
{
    if (fl_bundle_cache_load_keys(te->bundles, te->conf, err) < 0)
        return -1;
    te->started_mono = fl_mono_ms();
    struct timeval tick = {0, 100 * 1000};
    event_add(te->watchdog, &tick);
    int64_t mi = FL_MAX(50, fl_conf_get_duration_ms(te->conf, "metrics.report-interval"));
    struct timeval mtv = {mi / 1000, (mi % 1000) * 1000};
    event_add(te->metrics_timer, &mtv);
    fl_err perr;
    if (fl_prom_reporter_start(fl_endpoint_base(te->ep), te->conf,
                               fl_conf_get_str(te->conf, "taskmanager.bind-host"), prom_fill, te,
                               &te->prom, &perr) < 0)
        fl_error("No Prometheus reporter: %s", perr.msg); /* as Flink: the TaskManager runs on */
    if (fl_endpoint_start(te->io, te, err) < 0 || fl_endpoint_start(te->ep, te, err) < 0)
        return -1;
    fl_endpoint_post(te->ep, start_mail, NULL, NULL);
    if (te->lr && fl_leader_retrieval_start(te->lr, err) < 0)
        return -1;
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
    fl_te_cancel_all_tasks(te, "the TaskManager is shutting down");
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
    fl_endpoint_stop(te->io);
    fl_leader_retrieval_free(te->lr); /* its mails to our stopped thread are dropped */
    /* tasks were cancelled at shutdown; wait for their threads */
    while (te->tasks) {
        te_task *x = te->tasks;
        if (x->task)
            fl_task_cancel(x->task);
        remove_task(te, x);
    }
    fl_bundle_cache_free(te->bundles);
    event_free(te->retry_timer);
    event_free(te->watchdog);
    event_free(te->metrics_timer);
    fl_prom_reporter_free(te->prom);
    fl_endpoint_free(te->ep);
    fl_endpoint_free(te->io);
    drop_ptables(te, NULL, INT32_MAX);
    free(te->slots);
    free(te->slot_status);
    free(te->slot_ptrs);
    free(te);
}

bool fl_te_refused(const fl_te *te)
{
    return te->refused;
}
