/* task.c -- a Task: one subtask of a job vertex on its own thread (DESIGN.md §3), and its
 * life cycle as the TaskExecutor drives it (task.h).
 *
 * The thread assembles the operator chain, its result partitions and input gates from the
 * deployment descriptor (assemble.c), restores the operators from a checkpoint when the
 * descriptor carries one (snapshot.c), opens them and runs the mailbox loop (loop.c) until
 * the input ends or the task is cancelled or fails. At the end of input it finishes the
 * sinks, closes the operators and sends END_OF_PARTITION. Every state change is reported
 * to the TaskExecutor by mail. Other threads only cancel (the failure slot's flag, the
 * partitions under parts_lock, a mail that wakes the thread) and read the metrics.
 */
#include "common/log.h"
#include "common/util.h"
#include "internal.h"
#include "op_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void report(fl_task *t, fl_task_state state)
{
    fl_task_report *r = fl_xcalloc(1, sizeof *r);
    r->task = t;
    r->state = state;
    if (state == FL_TASK_FAILED)
        snprintf(r->error, sizeof r->error, "%s", t->failure.error);
    fl_endpoint_post(t->env.owner, t->env.on_report, r, free);
}

const char *fl_task_job_id(const fl_task *t) { return t->tdd->job_id; }
int fl_task_attempt(const fl_task *t) { return t->tdd->attempt; }
int fl_task_vertex(const fl_task *t) { return t->tdd->vertex->id; }
int fl_task_subtask(const fl_task *t) { return t->view.subtask; }
int fl_task_slot(const fl_task *t) { return t->tdd->slot_index; }

void fl_task_metrics(const fl_task *t, uint64_t *rin, uint64_t *rout, uint64_t *bin,
                     uint64_t *bout, uint64_t *bp_ms, uint64_t *idle_ms, uint64_t *busy_ms)
{
    const fl_io_metrics *m = &t->metrics;
    *rin = FL_METRIC_GET(m, records_in);
    *rout = FL_METRIC_GET(m, records_out);
    *bin = FL_METRIC_GET(m, bytes_in);
    *bout = FL_METRIC_GET(m, bytes_out);
    *bp_ms = FL_METRIC_GET(m, backpressure_ns) / 1000000;
    *idle_ms = FL_METRIC_GET(m, idle_ns) / 1000000;
    int64_t wall = m->start_ns ? (fl_mono_ns() - m->start_ns) / 1000000 : 0;
    int64_t busy = wall - (int64_t)*bp_ms - (int64_t)*idle_ms;
    *busy_ms = busy > 0 ? (uint64_t)busy : 0;
}

const char *fl_task_job_name(const fl_task *t) { return t->tdd->job_name; }
const char *fl_task_vertex_name(const fl_task *t) { return t->tdd->vertex->name; }

void fl_task_sample_get(fl_task *t, fl_task_sample *s)
{
    fl_task_metrics(t, &s->records_in, &s->records_out, &s->bytes_in, &s->bytes_out,
                    &s->backpressure_ms, &s->idle_ms, &s->busy_ms);
    s->current_input_watermark = atomic_load_explicit(&t->metric_wm, memory_order_relaxed);
    float in = 0, out = 0;
    int64_t waiting = 0;
    pthread_mutex_lock(&t->parts_lock);
    for (int k = 0; k < t->nparts; k++)
        if (t->parts[k]) {
            out = FL_MAX(out, fl_partition_pool_usage(t->parts[k]));
            waiting = FL_MAX(waiting, fl_partition_waiting_ns(t->parts[k]));
        }
    for (int g = 0; g < t->ngates_started; g++)
        in = FL_MAX(in, fl_gate_pool_usage(t->gates[g]));
    pthread_mutex_unlock(&t->parts_lock);
    s->in_pool_usage = in;
    s->out_pool_usage = out;
    /* a producer blocked for seconds is backpressured now, not when the wait ends (Flink's
     * TimerGauge counts the running measurement too) */
    uint64_t ongoing = (uint64_t)(waiting / 1000000);
    s->backpressure_ms += ongoing;
    s->busy_ms -= FL_MIN(s->busy_ms, ongoing);
}

int fl_task_op_metrics(fl_task *t, uint64_t *in, uint64_t *out, int max)
{
    int n = atomic_load_explicit(&t->ops_ready, memory_order_acquire);
    if (n > max)
        n = max;
    memset(in, 0, (size_t)n * sizeof *in);
    /* an operator's records in are what the outputs feeding it emitted (chained calls):
     * added up here, once a second, rather than counted again per record */
    if (n > 0)
        in[0] = FL_METRIC_GET(&t->metrics, records_in);
    for (int i = 0; i < n; i++) {
        const fl_op *op = &t->ops[i];
        uint64_t main = atomic_load_explicit(&op->out.emitted, memory_order_relaxed);
        out[i] = main;
        for (int c = 0; c < op->out.nchained; c++)
            if (op->out.chained[c]->index < n)
                in[op->out.chained[c]->index] += main;
        for (int s = 0; s < op->nsides; s++) {
            const fl_out *so = &op->sides[s].out;
            uint64_t e = atomic_load_explicit(&so->emitted, memory_order_relaxed);
            out[i] += e;
            for (int c = 0; c < so->nchained; c++)
                if (so->chained[c]->index < n)
                    in[so->chained[c]->index] += e;
        }
    }
    return n;
}

int fl_task_nops(const fl_task *t)
{
    return (int)t->tdd->vertex->n_chain;
}

const char *fl_task_op_name(const fl_task *t, int i)
{
    return t->tdd->vertex->chain[i]->name;
}

static void mail_cancel(void *ctx, void *arg)
{
    /* the flag is already set; this mail only woke the thread */
}

static void *task_main(void *arg)
{
    fl_task *t = arg;
    fl_err err;
    char tname[16];
    snprintf(tname, sizeof tname, "task-%d.%d", t->tdd->vertex->id, t->view.subtask);
    fl_log_set_thread_name(tname);
    pthread_setname_np(pthread_self(), tname); /* top -H, perf */
    fl_net_task_thread(t->buffer_timeout_ms);
    t->metrics.start_ns = fl_mono_ns();
    report(t, FL_TASK_INITIALIZING);
    fl_task_crash_begin(t);
    if (fl_task_assemble(t, &err) < 0 || fl_task_restore(t, &err) < 0) {
        fl_fail(&t->failure, "%s", err.msg);
        goto out;
    }
    atomic_store_explicit(&t->ops_ready, t->nops, memory_order_release);
    /* open from the end of the chain, so an operator's successors are ready before it */
    for (int i = t->nops - 1; i >= 0 && !fl_task_should_stop(t); i--) {
        t->crash.op = i;
        fl_op_open(&t->ops[i]);
    }
    t->crash.op = -1;
    if (fl_task_should_stop(t))
        goto out;
    report(t, FL_TASK_RUNNING);
    fl_info("%s switched from INITIALIZING to RUNNING.", t->name);
    fl_task_replay_channel_state(t);
    if (t->ngates == 0)
        fl_task_run_source(t);
    else
        fl_task_run_inputs(t);
    if (fl_task_should_stop(t)) {
        /* completions the JobManager sent before the cancel (the savepoint of a stop
         * among them): two-phase-commit sinks commit what those checkpoints cover */
        fl_task_run_mails(t);
        goto out;
    }
    /* end of input: sinks commit, operators close, consumers get END_OF_PARTITION */
    for (int i = 0; i < t->nops && !t->failure.failed; i++)
        if (t->ops[i].ops->finish) {
            t->crash.op = i;
            t->ops[i].ops->finish(&t->ops[i]);
        }
    for (int i = 0; i < t->nops; i++) {
        t->crash.op = i;
        fl_op_close(&t->ops[i]);
    }
    t->crash.op = -1;
    for (int k = 0; k < t->nwriters && !t->failure.failed; k++)
        if (fl_partition_finish(t->parts[k]) < 0)
            fl_fail(&t->failure, "%s", fl_partition_error(t->parts[k]));
out:;
    fl_task_state state = atomic_load(&t->failure.cancelled) ? FL_TASK_CANCELED
                        : t->failure.failed                  ? FL_TASK_FAILED
                                                             : FL_TASK_FINISHED;
    if (state != FL_TASK_FINISHED) {
        /* the user's close functions run after a failure or cancel too (Flink closes its
         * rich functions then): what their open allocated is freed */
        for (int i = 0; i < t->nops; i++)
            fl_op_close(&t->ops[i]);
        for (int k = 0; k < t->nparts; k++)
            if (t->parts[k])
                fl_partition_fail(t->parts[k], state == FL_TASK_CANCELED ? "task canceled"
                                                                          : t->failure.error);
    }
    if (state == FL_TASK_FAILED)
        fl_warn("%s switched to FAILED: %s", t->name, t->failure.error);
    else
        fl_info("%s switched to %s.", t->name, fl_task_state_name(state));
    fl_task_crash_end(t);
    report(t, state);
    return NULL;
}

/* ---- producer tables -------------------------------------------------------------- */

fl_ptable *fl_ptable_new(const uint8_t *data, size_t len)
{
    Fl__Pb__ProducerTable *pb = fl__pb__producer_table__unpack(NULL, len, data);
    if (!pb)
        return NULL;
    for (size_t j = 0; j < pb->n_host_of; j++)
        if (pb->host_of[j] < 0 || (size_t)pb->host_of[j] >= pb->n_hosts) {
            fl__pb__producer_table__free_unpacked(pb, NULL);
            return NULL;
        }
    fl_ptable *t = fl_xcalloc(1, sizeof *t);
    atomic_init(&t->refs, 1);
    t->pb = pb;
    return t;
}

void fl_ptable_ref(fl_ptable *t)
{
    atomic_fetch_add(&t->refs, 1);
}

void fl_ptable_unref(fl_ptable *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1) {
        fl__pb__producer_table__free_unpacked(t->pb, NULL);
        free(t);
    }
}

fl_task *fl_task_new(const fl_task_env *env, fl_rpc_msg *msg, const fl_bundle *bundle,
                     fl_ptable **tables)
{
    fl_task_install_api();
    fl_task *t = fl_xcalloc(1, sizeof *t);
    t->ptables = tables;
    t->env = *env;
    t->msg = msg;
    t->tdd = ((Fl__Pb__SubmitTask *)msg->pb)->tdd;
    t->bundle = bundle;
    t->buffer_timeout_ms = t->tdd->buffer_timeout_ms;
    /* the job's configuration (sent whole by the JobMaster; bad values were refused at
     * submission, unknown keys pass silently here) */
    t->conf = fl_conf_new();
    for (size_t i = 0; i < t->tdd->n_config; i++)
        if (fl_conf_key_find(t->tdd->config[i]->key))
            fl_conf_set(t->conf, t->tdd->config[i]->key, t->tdd->config[i]->value, NULL);
    snprintf(t->name, sizeof t->name, "%s (%d/%d)", t->tdd->vertex->name, t->tdd->subtask + 1,
             t->tdd->vertex->parallelism);
    atomic_init(&t->failure.cancelled, false);
    atomic_init(&t->metric_wm, INT64_MIN);
    t->view = (fl_task_view){
        .job_id = t->tdd->job_id,
        .vertex = t->tdd->vertex->id,
        .subtask = t->tdd->subtask,
        .parallelism = t->tdd->vertex->parallelism,
        .max_parallelism = t->tdd->vertex->max_parallelism,
        .attempt = t->tdd->attempt,
        .name = t->name,
        .conf = t->conf,
        .bundle = bundle,
        .wm_interval_ms = fl_conf_get_duration_ms(t->conf, "pipeline.auto-watermark-interval"),
        .checkpointing = fl_conf_contains(t->conf, "execution.checkpointing.interval"),
        .failover = t->tdd->restore && t->tdd->restore->failover,
        .failure = &t->failure,
    };
    t->mb = fl_mailbox_new();
    pthread_mutex_init(&t->parts_lock, NULL);
    fl_task_latency_init(t);
    return t;
}

int fl_task_start(fl_task *t, fl_err *err)
{
    int rc = pthread_create(&t->thread, NULL, task_main, t);
    if (rc) {
        fl_err_set(err, "cannot start a thread for %s: %s", t->name, strerror(rc));
        return -1;
    }
    t->started = true;
    return 0;
}

void fl_task_cancel(fl_task *t)
{
    atomic_store(&t->failure.cancelled, true);
    fl_mailbox_post(t->mb, mail_cancel, NULL, NULL);
    /* a task blocked for output buffers wakes up failed; its gates are woken by the mail */
    pthread_mutex_lock(&t->parts_lock);
    for (int k = 0; k < t->nparts; k++)
        fl_partition_fail(t->parts[k], "task canceled");
    pthread_mutex_unlock(&t->parts_lock);
}

void fl_task_free(fl_task *t)
{
    if (!t)
        return;
    if (t->started)
        pthread_join(t->thread, NULL);
    for (int i = 0; i < t->nops; i++)
        fl_op_release(&t->ops[i]);
    free(t->ops);
    for (int g = 0; g < t->ngates; g++) {
        fl_gate_free(t->gates[g]);
        if (t->chans)
            free(t->chans[g]);
    }
    fl_aligner_free(&t->aligner);
    fl_task_checkpoint_free(t);
    free(t->gates);
    free(t->gate_input);
    free(t->pfd);
    for (size_t g = 0; t->ptables && g < t->tdd->n_gates; g++)
        fl_ptable_unref(t->ptables[g]);
    free(t->ptables);
    free(t->chans);
    for (int k = 0; k < t->nparts; k++)
        fl_partition_release(t->parts[k]);
    free(t->parts);
    free(t->writers);
    pthread_mutex_destroy(&t->parts_lock);
    fl_task_latency_destroy(t);
    fl_conf_free(t->conf);
    fl_mailbox_free(t->mb);
    fl_rpc_msg_free(t->msg);
    free(t);
}
