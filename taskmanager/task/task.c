/* task.c -- a Task: one subtask of a job vertex on its own thread (DESIGN.md §3).
 *
 * The thread builds the operator chain from the deployment descriptor (resolving the
 * bundle's functions by name), creates one result partition per vertex output and one
 * input gate per vertex input, opens the operators and runs the mailbox loop: poll the
 * source (or read the gates), flush partly filled buffers when the buffer timeout passes,
 * and sleep in poll() on the gates and the mailbox when there is nothing to do. At the end
 * of input it finishes the sinks, closes the operators and sends END_OF_PARTITION. Every
 * state change is reported to the TaskExecutor by mail.
 */
#include "job_state.h"
#include "log.h"
#include "task/task_internal.h"
#include "util.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fl_task_fail(fl_task *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, sizeof t->error, fmt, ap);
    va_end(ap);
    t->failed = true;
}

static void report(fl_task *t, int state)
{
    fl_task_report *r = fl_xcalloc(1, sizeof *r);
    r->task = t;
    r->state = state;
    if (state == FL_TASK_FAILED)
        snprintf(r->error, sizeof r->error, "%s", t->error);
    fl_endpoint_post(t->env.owner, t->env.on_report, r, free);
}

const char *fl_task_job_id(const fl_task *t) { return t->tdd->job_id; }
int fl_task_attempt(const fl_task *t) { return t->tdd->attempt; }
int fl_task_vertex(const fl_task *t) { return t->tdd->vertex->id; }
int fl_task_subtask(const fl_task *t) { return t->subtask; }
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

/* ---- set-up ----------------------------------------------------------------------- */

static int build(fl_task *t, fl_err *err)
{
    const Fl__Pb__TaskDeploymentDescriptor *d = t->tdd;
    const Fl__Pb__JobVertex *v = d->vertex;
    t->nops = (int)v->n_chain;
    t->ops = fl_xcalloc((size_t)t->nops, sizeof *t->ops);
    for (int i = 0; i < t->nops; i++) {
        t->ops[i].index = i;
        if (fl_op_init(t, &t->ops[i], v->chain[i], err) < 0)
            return -1;
    }
    /* result partitions and their writers, one per vertex output */
    t->nwriters = (int)v->n_outputs;
    if (d->n_output_partition_ids != v->n_outputs || d->n_output_consumers != v->n_outputs) {
        fl_err_set(err, "deployment descriptor: %zu outputs but %zu partitions", v->n_outputs,
                   d->n_output_partition_ids);
        return -1;
    }
    t->writers = fl_xcalloc((size_t)t->nwriters + 1, sizeof *t->writers);
    pthread_mutex_lock(&t->parts_lock);
    t->parts = fl_xcalloc((size_t)t->nwriters + 1, sizeof *t->parts);
    pthread_mutex_unlock(&t->parts_lock);
    for (int k = 0; k < t->nwriters; k++) {
        const Fl__Pb__VertexOutput *o = v->outputs[k];
        fl_writer *w = &t->writers[k];
        w->task = t;
        w->partitioner = o->partitioner;
        w->nsub = d->output_consumers[k];
        /* keys are grouped by the consumer's key groups */
        w->max_parallelism = k < (int)d->n_output_max_parallelism ? d->output_max_parallelism[k]
                                                                  : t->max_parallelism;
        if (w->max_parallelism < 1) {
            fl_err_set(err, "output %d: bad max parallelism %d", k, w->max_parallelism);
            return -1;
        }
        w->rr = (uint32_t)t->subtask; /* start round robin at a different place per producer */
        w->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(t->subtask + 1) * 0xbf58476d1ce4e5b9ULL;
        if (w->nsub < 1) {
            fl_err_set(err, "output %d has no consumers", k);
            return -1;
        }
        if ((o->partitioner == FL__PB__PARTITIONER__PART_HASH ||
             o->partitioner == FL__PB__PARTITIONER__PART_CUSTOM) &&
            fl_keysel_init(&w->key, o->key, t->bundle, err) < 0)
            return -1;
        if (o->partitioner == FL__PB__PARTITIONER__PART_CUSTOM &&
            !(w->custom = (fl_partitioner_fn)fl_bundle_sym(t->bundle, o->partition_fn))) {
            fl_err_set(err, "partitioner '%s' not found in the bundle", o->partition_fn);
            return -1;
        }
        fl_partition *p = fl_partition_new(t->env.net, d->output_partition_ids[k], w->nsub,
                                           t->buffer_timeout_ms, &t->metrics, err);
        if (!p)
            return -1;
        pthread_mutex_lock(&t->parts_lock);
        t->parts[k] = p;
        t->nparts = k + 1;
        bool cancelled = atomic_load(&t->cancelled);
        pthread_mutex_unlock(&t->parts_lock);
        if (cancelled)
            fl_partition_fail(p, "task canceled");
        w->part = p;
    }
    /* wire each operator's outputs: chained operators and network writers */
    for (int i = 0; i < t->nops; i++) {
        fl_op *op = &t->ops[i];
        const Fl__Pb__OperatorSpec *s = v->chain[i];
        op->out.chained = fl_xcalloc(s->n_chained_outputs + 1, sizeof *op->out.chained);
        for (size_t c = 0; c < s->n_chained_outputs; c++)
            op->out.chained[op->out.nchained++] = &t->ops[s->chained_outputs[c]];
        op->out.writers = fl_xcalloc(s->n_network_outputs + 1, sizeof *op->out.writers);
        for (size_t c = 0; c < s->n_network_outputs; c++)
            op->out.writers[op->out.nwriters++] = &t->writers[s->network_outputs[c]];
        op->sides = fl_xcalloc(s->n_side_outputs + 1, sizeof *op->sides);
        for (size_t k = 0; k < s->n_side_outputs; k++) {
            const Fl__Pb__SideOutputSpec *so = s->side_outputs[k];
            fl_side *side = &op->sides[op->nsides++];
            side->tag = so->tag;
            side->out.task = t;
            side->out.chained = fl_xcalloc(so->n_chained_outputs + 1, sizeof(fl_op *));
            side->out.writers = fl_xcalloc(so->n_network_outputs + 1, sizeof(fl_writer *));
            for (size_t c = 0; c < so->n_chained_outputs; c++) {
                if (so->chained_outputs[c] <= i || so->chained_outputs[c] >= t->nops) {
                    fl_err_set(err, "deployment descriptor: bad side output of %s", s->name);
                    return -1;
                }
                side->out.chained[side->out.nchained++] = &t->ops[so->chained_outputs[c]];
            }
            for (size_t c = 0; c < so->n_network_outputs; c++) {
                if (so->network_outputs[c] < 0 || so->network_outputs[c] >= t->nwriters) {
                    fl_err_set(err, "deployment descriptor: bad side output of %s", s->name);
                    return -1;
                }
                side->out.writers[side->out.nwriters++] = &t->writers[so->network_outputs[c]];
            }
        }
    }
    /* input gates, one per vertex input */
    t->ngates = (int)d->n_gates;
    t->gates = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->gates);
    t->gate_input = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->gate_input);
    t->pfd = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->pfd);
    t->chan_wm = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->chan_wm);
    t->chan_state = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->chan_state);
    t->barrier_seen = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->barrier_seen);
    t->ua_rec = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->ua_rec);
    t->input_wm[0] = t->input_wm[1] = FL_NO_WATERMARK;
    for (int g = 0; g < t->ngates; g++) {
        const Fl__Pb__InputGateDescriptor *gd = d->gates[g];
        const Fl__Pb__ProducerTable *pt = t->ptables && t->ptables[g] ? t->ptables[g]->pb : NULL;
        int n = gd->producer_count;
        if (n < 1 || !pt || pt->vertex != gd->source_vertex || gd->first_producer < 0 ||
            (size_t)gd->first_producer + (size_t)n > pt->n_host_of || gd->input_index < 0 ||
            gd->input_index > 1 || (gd->input_index == 1 && !t->ops[0].process2)) {
            fl_err_set(err, "deployment descriptor: malformed input gate %d", g);
            return -1;
        }
        t->gate_input[g] = gd->input_index;
        t->chan_wm[g] = fl_xmalloc((size_t)n * sizeof(int64_t));
        for (int c = 0; c < n; c++)
            t->chan_wm[g][c] = FL_NO_WATERMARK;
        t->chan_state[g] = fl_xcalloc((size_t)n, 1);
        t->barrier_seen[g] = fl_xcalloc((size_t)n, 1);
        t->ua_rec[g] = fl_xcalloc((size_t)n, 1);
        char name[400];
        snprintf(name, sizeof name, "input %d of %s", g, t->name);
        t->gates[g] = fl_gate_new(t->env.net, n, name, &t->metrics);
        for (int c = 0; c < n; c++) {
            int j = gd->first_producer + c;
            const Fl__Pb__SubtaskLocation *loc = pt->hosts[pt->host_of[j]];
            bool local = strcmp(loc->resource_id, t->env.resource_id) == 0;
            char pid[256];
            fl_partition_id(pid, sizeof pid, d->job_id, d->attempt, gd->source_vertex, j,
                            gd->source_output);
            fl_gate_set_channel(t->gates[g], c, pid, gd->subpartition, local ? NULL : loc->host,
                                (int)loc->data_port);
        }
        if (fl_gate_start(t->gates[g], err) < 0)
            return -1;
    }
    return 0;
}

/* ---- running ---------------------------------------------------------------------- */

static void flush_outputs(fl_task *t)
{
    for (int k = 0; k < t->nwriters; k++)
        fl_partition_flush(t->parts[k]);
    for (int i = 0; i < t->nops; i++)
        fl_sink_flush(&t->ops[i]);
}

/* Flushes what is due; returns ms until the next flush is due (-1: none pending). */
static int flush_due(fl_task *t)
{
    int64_t now = fl_mono_ns(), next = INT64_MAX;
    for (int k = 0; k < t->nwriters; k++) {
        int64_t d = fl_partition_flush_if_due(t->parts[k], now);
        if (d < next)
            next = d;
    }
    return next == INT64_MAX ? -1 : (int)(next / 1000000) + 1;
}

/* Periodic work: the assigners' watermarks and idleness, processing-time timers.
 * Returns ms until something is due again (for poll). */
static int time_work(fl_task *t)
{
    int64_t now = fl_now_ms(), next = INT64_MAX;
    fl_task_check_alignment(t);
    if (now >= t->next_periodic_ms) {
        for (int i = 0; i < t->nops && !fl_task_should_stop(t); i++)
            if (t->ops[i].periodic)
                t->ops[i].periodic(&t->ops[i], now);
        t->next_periodic_ms = now + (t->wm_interval_ms > 0 ? t->wm_interval_ms : 200);
    }
    next = t->next_periodic_ms;
    for (int i = 0; i < t->nops && !fl_task_should_stop(t); i++) {
        fl_op *op = &t->ops[i];
        if (!op->timers || !op->on_timer)
            continue;
        fl_op_fire_timers(op, FL_TIMER_PROCESSING, now);
        int64_t nt = fl_timers_next(op->timers, FL_TIMER_PROCESSING);
        if (nt < next)
            next = nt;
    }
    int64_t ms = next - fl_now_ms();
    return ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
}

static void run_mails(fl_task *t)
{
    if (fl_mailbox_has_mail(t->mb))
        fl_mailbox_run(t->mb, t);
}

/* Sleeps until a gate or the mailbox has something, at most timeout_ms (-1: no limit). */
static void wait_input(fl_task *t, int timeout_ms)
{
    struct pollfd *pfd = t->pfd;
    int n = 0;
    pfd[n++] = (struct pollfd){fl_mailbox_fd(t->mb), POLLIN, 0};
    for (int g = 0; g < t->ngates; g++)
        if (!fl_gate_is_finished(t->gates[g]))
            pfd[n++] = (struct pollfd){fl_gate_fd(t->gates[g]), POLLIN, 0};
    int64_t t0 = fl_mono_ns();
    poll(pfd, (nfds_t)n, timeout_ms);
    FL_METRIC_ADD(&t->metrics, idle_ns, (uint64_t)(fl_mono_ns() - t0));
}

/* The source gate, a test hook (testing.source.gate-file): while the file exists the source
 * emits at most gate-rate records/s and does not finish at the end of its input; it stays
 * idle, handling mail (checkpoints, cancellation), until the file is gone. A fault test
 * thereby holds its job running until the fault is in, on a machine of any speed. The file
 * is looked at every 20 ms at most, and only when the key is set. */
typedef struct source_gate {
    const char *file;   /* NULL: no gate */
    int64_t rate;       /* records/s while closed, 0 = unthrottled */
    int64_t t0_ns;      /* the throttle's start */
    int64_t checked_ms; /* when the file was last looked at */
    bool closed;
} source_gate;

static bool gate_closed(source_gate *g)
{
    if (!g->file || !g->closed)
        return false;
    int64_t now = fl_mono_ms();
    if (now - g->checked_ms >= 20) {
        g->checked_ms = now;
        g->closed = access(g->file, F_OK) == 0;
        if (!g->closed)
            fl_info("source gate %s removed: the sources run free", g->file);
    }
    return g->closed;
}

/* ms to wait before the source may emit more under the gate's rate (0: go on). */
static int gate_throttle_ms(source_gate *g, const fl_op *src)
{
    if (!g->rate || !gate_closed(g))
        return 0;
    int64_t elapsed_ns = fl_mono_ns() - g->t0_ns;
    int64_t ahead = (int64_t)src->out.emitted - elapsed_ns / 1000 * g->rate / 1000000;
    if (ahead <= 0)
        return 0;
    int64_t ms = ahead * 1000 / g->rate + 1;
    return ms > 10 ? 10 : (int)ms;
}

static void run_source(fl_task *t)
{
    fl_op *src = &t->ops[0];
    unsigned calls = 0;
    source_gate gate = {0};
    gate.file = fl_conf_get_str(t->conf, "testing.source.gate-file");
    if (gate.file && *gate.file) {
        gate.rate = fl_conf_get_int(t->conf, "testing.source.gate-rate");
        gate.t0_ns = fl_mono_ns();
        gate.checked_ms = INT64_MIN / 2;
        gate.closed = true;
        gate_closed(&gate);
    } else {
        gate.file = NULL;
    }
    bool ended = false;
    while (!fl_task_should_stop(t)) {
        int hold = gate_throttle_ms(&gate, src);
        if (hold > 0 || (ended && gate_closed(&gate))) {
            flush_outputs(t);
            int due = time_work(t);
            if (hold <= 0)
                hold = 10;
            wait_input(t, due < hold ? due : hold);
            run_mails(t);
            continue;
        }
        if (ended)
            break;
        int st = src->source(src);
        if (st == FL_SOURCE_END) {
            if (gate_closed(&gate)) {
                ended = true; /* held at its end while the gate is closed */
                continue;
            }
            break;
        }
        if (st == FL_SOURCE_IDLE) {
            flush_outputs(t);
            int due = time_work(t);
            wait_input(t, due < 10 ? due : 10);
        } else if ((++calls & 15) == 0) {
            flush_due(t);
            time_work(t);
        }
        run_mails(t);
    }
    /* a bounded input ends: the end of time, so that every window and timer fires */
    if (fl_task_should_stop(t))
        return;
    fl_op_advance_watermark(src, FL_WATERMARK_MAX);
    if (!t->checkpointing)
        return;
    /* With checkpoints, a finished source waits for a checkpoint that covers everything it
     * emitted to complete, so that two-phase-commit sinks commit all of it exactly once. */
    flush_outputs(t);
    t->final_checkpoint = -1; /* the next checkpoint taken is the final one */
    while (!fl_task_should_stop(t) &&
           !(t->final_checkpoint > 0 && t->completed >= t->final_checkpoint)) {
        wait_input(t, time_work(t));
        run_mails(t);
    }
}

/* The watermark of input k: the minimum over its channels that are neither idle nor
 * finished (a finished channel sent everything it ever will). All idle: none. */
static bool input_watermark(fl_task *t, int k, int64_t *wm)
{
    int64_t min = INT64_MAX;
    bool any = false, all_finished = true;
    for (int g = 0; g < t->ngates; g++) {
        if (t->gate_input[g] != k)
            continue;
        for (int c = 0; c < fl_gate_channels(t->gates[g]); c++) {
            if (t->chan_state[g][c] == 2)
                continue;
            all_finished = false;
            if (t->chan_state[g][c] == 1)
                continue;
            any = true;
            if (t->chan_wm[g][c] < min)
                min = t->chan_wm[g][c];
        }
    }
    if (all_finished) {
        *wm = FL_WATERMARK_MAX;
        return true;
    }
    *wm = min;
    return any;
}

/* Recomputes input k's watermark after a channel changed; hands an advance to the head. */
static void update_watermark(fl_task *t, int k)
{
    int64_t wm;
    fl_op *head = &t->ops[0];
    bool active = input_watermark(t, k, &wm);
    if (!active || wm <= t->input_wm[k])
        return;
    t->input_wm[k] = wm;
    if (!head->process2) {
        fl_op_advance_watermark(head, wm);
        return;
    }
    /* two inputs: the minimum of both, ignoring an input that is entirely idle */
    head->input_wm[k] = wm;
    int64_t other, combined = wm;
    if (input_watermark(t, 1 - k, &other))
        combined = head->input_wm[1 - k] < combined ? head->input_wm[1 - k] : combined;
    fl_op_advance_watermark(head, combined);
}

static void handle_event(fl_task *t, int g, const fl_input *in)
{
    int c = in->channel;
    int k = t->gate_input[g];
    switch (in->event_type) {
    case FL_EV_WATERMARK: {
        int64_t wm;
        if (in->len != sizeof wm)
            break;
        memcpy(&wm, in->data, sizeof wm);
        if (wm > t->chan_wm[g][c])
            t->chan_wm[g][c] = wm;
        if (t->chan_state[g][c] == 1)
            t->chan_state[g][c] = 0;
        update_watermark(t, k);
        break;
    }
    case FL_EV_WATERMARK_STATUS:
        if (in->len != 1 || t->chan_state[g][c] == 2)
            break;
        t->chan_state[g][c] = in->data[0] ? 1 : 0;
        update_watermark(t, k);
        break;
    case FL_EV_END_OF_PARTITION:
        t->chan_state[g][c] = 2;
        update_watermark(t, k);
        fl_task_on_channel_end(t, g, c);
        break;
    case FL_EV_BARRIER:
        fl_task_on_barrier(t, g, c, in->data, in->len);
        break;
    }
}

static void handle_record(fl_task *t, fl_op *head, const fl_input *in, int g)
{
    int input = t->gate_input[g];
    if (FL_UNLIKELY(fl_task_should_persist(t, g, in)))
        fl_task_persist_input(t, g, in);
    if (FL_UNLIKELY(in->len < FL_ELEM_HDR || in->data[0] != FL_ELEM_RECORD)) {
        fl_task_fail(t, "corrupt stream element (%u bytes, tag %d) on input channel %d",
                     in->len, in->len ? in->data[0] : -1, in->channel);
        return;
    }
    fl_rec r;
    memcpy(&r.ts, in->data + 1, 8);
    r.data = in->data + FL_ELEM_HDR;
    r.len = in->len - FL_ELEM_HDR;
    if (input == 0)
        head->process(head, &r);
    else
        head->process2(head, &r);
}

static void run_inputs(fl_task *t)
{
    fl_op *head = &t->ops[0];
    int cur = 0;
    fl_input in;
    while (!fl_task_should_stop(t)) {
        bool got = false, all_done = true;
        for (int k = 0; k < t->ngates; k++) {
            int gi = (cur + k) % t->ngates;
            fl_gate *g = t->gates[gi];
            if (fl_gate_is_finished(g))
                continue;
            all_done = false;
            for (int batch = 0; batch < 4096; batch++) {
                int r = fl_gate_read(g, &in);
                if (r == 0)
                    break;
                if (r < 0) {
                    fl_task_fail(t, "%s", fl_gate_error(g));
                    return;
                }
                got = true;
                if (FL_LIKELY(in.kind == FL_IN_RECORD))
                    handle_record(t, head, &in, gi);
                else
                    handle_event(t, gi, &in);
                if (FL_UNLIKELY(fl_task_should_stop(t)))
                    return;
            }
        }
        cur++;
        if (all_done)
            return;
        int due = flush_due(t);
        int tdue = time_work(t);
        if (due < 0 || tdue < due)
            due = tdue;
        run_mails(t);
        if (!got) {
            flush_outputs(t);
            wait_input(t, due);
        }
    }
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
    snprintf(tname, sizeof tname, "task-%d.%d", t->tdd->vertex->id, t->subtask);
    fl_log_set_thread_name(tname);
    t->metrics.start_ns = fl_mono_ns();
    report(t, FL_TASK_INITIALIZING);
    if (build(t, &err) < 0 || fl_task_restore(t, &err) < 0) {
        fl_task_fail(t, "%s", err.msg);
        goto out;
    }
    /* open from the end of the chain, so an operator's successors are ready before it */
    for (int i = t->nops - 1; i >= 0 && !fl_task_should_stop(t); i--)
        if (t->ops[i].open_fn)
            t->ops[i].open_fn(&t->ops[i].ctx);
    if (fl_task_should_stop(t))
        goto out;
    report(t, FL_TASK_RUNNING);
    fl_info("%s switched from INITIALIZING to RUNNING.", t->name);
    fl_task_replay_channel_state(t);
    if (t->ngates == 0)
        run_source(t);
    else
        run_inputs(t);
    if (fl_task_should_stop(t)) {
        /* completions the JobManager sent before the cancel (the savepoint of a stop
         * among them): two-phase-commit sinks commit what those checkpoints cover */
        run_mails(t);
        goto out;
    }
    /* end of input: sinks commit, operators close, consumers get END_OF_PARTITION */
    for (int i = 0; i < t->nops && !t->failed; i++)
        if (t->ops[i].finish)
            t->ops[i].finish(&t->ops[i]);
    for (int i = 0; i < t->nops; i++)
        if (t->ops[i].close_fn)
            t->ops[i].close_fn(&t->ops[i].ctx);
    for (int k = 0; k < t->nwriters && !t->failed; k++)
        if (fl_partition_finish(t->parts[k]) < 0)
            fl_task_fail(t, "%s", fl_partition_error(t->parts[k]));
out:;
    int state = atomic_load(&t->cancelled) ? FL_TASK_CANCELED
              : t->failed                  ? FL_TASK_FAILED
                                           : FL_TASK_FINISHED;
    if (state != FL_TASK_FINISHED) {
        for (int k = 0; k < t->nparts; k++)
            if (t->parts[k])
                fl_partition_fail(t->parts[k], state == FL_TASK_CANCELED ? "task canceled"
                                                                          : t->error);
    }
    if (state == FL_TASK_FAILED)
        fl_warn("%s switched to FAILED: %s", t->name, t->error);
    else
        fl_info("%s switched to %s.", t->name, fl_task_state_name(state));
    report(t, state);
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------- */

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
    fl_task *t = fl_xcalloc(1, sizeof *t);
    t->ptables = tables;
    t->env = *env;
    t->msg = msg;
    t->tdd = ((Fl__Pb__SubmitTask *)msg->pb)->tdd;
    t->bundle = bundle;
    t->subtask = t->tdd->subtask;
    t->parallelism = t->tdd->vertex->parallelism;
    t->max_parallelism = t->tdd->vertex->max_parallelism;
    t->buffer_timeout_ms = t->tdd->buffer_timeout_ms;
    /* the job's configuration (sent whole by the JobMaster; bad values were refused at
     * submission, unknown keys pass silently here) */
    t->conf = fl_conf_new();
    for (size_t i = 0; i < t->tdd->n_config; i++)
        if (fl_conf_key_find(t->tdd->config[i]->key))
            fl_conf_set(t->conf, t->tdd->config[i]->key, t->tdd->config[i]->value, NULL);
    t->wm_interval_ms = fl_conf_get_duration_ms(t->conf, "pipeline.auto-watermark-interval");
    t->checkpointing = fl_conf_contains(t->conf, "execution.checkpointing.interval");
    t->unaligned = fl_conf_get_bool(t->conf, "execution.checkpointing.unaligned.enabled");
    t->aligned_timeout_ms =
        t->unaligned ? fl_conf_get_duration_ms(t->conf, "execution.checkpointing.aligned-checkpoint-timeout")
                     : 0;
    snprintf(t->name, sizeof t->name, "%s (%d/%d)", t->tdd->vertex->name, t->subtask + 1,
             t->parallelism);
    t->mb = fl_mailbox_new();
    atomic_init(&t->cancelled, false);
    pthread_mutex_init(&t->parts_lock, NULL);
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
    atomic_store(&t->cancelled, true);
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
    for (int i = 0; i < t->nops; i++) {
        fl_op *op = &t->ops[i];
        if (op->release)
            op->release(op);
        fl_op_free_states(op);
        fl_kbackend_free(op->ctx.kb);
        fl_kbackend_free(op->bcast_kb);
        fl_timers_free(op->timers);
        free(op->out.chained);
        free(op->out.writers);
        free(op->capture.cap);
        for (int k = 0; k < op->nsides; k++) {
            free(op->sides[k].out.chained);
            free(op->sides[k].out.writers);
        }
        free(op->sides);
    }
    free(t->ops);
    for (int g = 0; g < t->ngates; g++) {
        fl_gate_free(t->gates[g]);
        if (t->chan_wm)
            free(t->chan_wm[g]);
        if (t->chan_state)
            free(t->chan_state[g]);
        if (t->barrier_seen)
            free(t->barrier_seen[g]);
        if (t->ua_rec)
            free(t->ua_rec[g]);
    }
    free(t->barrier_seen);
    free(t->ua_rec);
    fl_task_checkpoint_free(t);
    free(t->gates);
    free(t->gate_input);
    free(t->pfd);
    for (size_t g = 0; t->ptables && g < t->tdd->n_gates; g++)
        fl_ptable_unref(t->ptables[g]);
    free(t->ptables);
    free(t->chan_wm);
    free(t->chan_state);
    for (int k = 0; k < t->nparts; k++)
        fl_partition_release(t->parts[k]);
    free(t->parts);
    free(t->writers);
    pthread_mutex_destroy(&t->parts_lock);
    fl_conf_free(t->conf);
    fl_mailbox_free(t->mb);
    fl_rpc_msg_free(t->msg);
    free(t);
}
