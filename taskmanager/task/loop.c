/* loop.c -- a task's mailbox loop (DESIGN.md §3, Flink's MailboxProcessor): poll the
 * source, or read the input gates and hand each record to the head of the chain and each
 * event to its handler (watermarks and idleness per channel, barriers to the aligner, the
 * ends of partitions); between batches, flush partly filled buffers when the buffer
 * timeout passes, run the periodic and processing-time work, run the mails (checkpoint
 * triggers and notifications, cancellation), and sleep in poll() on the gates and the
 * mailbox when there is nothing to do. Task thread only.
 */
#include "common/log.h"
#include "common/util.h"
#include "internal.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

static void flush_outputs(fl_task *t)
{
    for (int k = 0; k < t->nwriters; k++)
        fl_partition_flush(t->parts[k]);
    for (int i = 0; i < t->nops; i++)
        if (t->ops[i].ops->flush)
            t->ops[i].ops->flush(&t->ops[i]);
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
    int64_t now = fl_view_now_ms(&t->view), next = INT64_MAX;
    fl_aligner_check_timeout(&t->aligner, fl_mono_ns());
    if (now >= t->next_periodic_ms) {
        for (int i = 0; i < t->nops && !fl_task_should_stop(t); i++)
            if (t->ops[i].ops->periodic)
                t->ops[i].ops->periodic(&t->ops[i], now);
        t->next_periodic_ms = now + (t->view.wm_interval_ms > 0 ? t->view.wm_interval_ms : 200);
    }
    next = t->next_periodic_ms;
    if (t->ngates == 0 && t->latency_interval_ms > 0) /* a source: its latency markers */
        fl_task_latency_emit_due(t);
    for (int i = 0; i < t->nops && !fl_task_should_stop(t); i++) {
        fl_op *op = &t->ops[i];
        if (!op->timers || !op->ops->on_timer)
            continue;
        /* a processing-time timer fires once the clock has passed its time, as Flink's
         * (ProcessingTimeServiceUtil): an element that arrives in the timer's own
         * millisecond still belongs to the window the timer ends, so firing at `now` would
         * let it open that window again and fire it twice */
        fl_op_fire_timers(op, FL_TIMER_PROCESSING, now - 1);
        int64_t nt = fl_timers_next(op->timers, FL_TIMER_PROCESSING);
        if (nt != INT64_MAX && nt + 1 < next)
            next = nt + 1;
    }
    int64_t ms = next - fl_view_now_ms(&t->view);
    return ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
}

void fl_task_run_mails(fl_task *t)
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

/* Flink's output availability: a task does not start a record while an output has no free
 * buffer (it would block inside the record, deaf to its mailbox: a checkpoint trigger, a
 * cancellation, an unaligned barrier would wait until a batch of buffers came back, which
 * behind a slow consumer takes seconds). One relaxed load per output. */
static inline bool outputs_full(const fl_task *t)
{
    for (int k = 0; k < t->nparts; k++)
        if (FL_UNLIKELY(!fl_partition_has_free(t->parts[k])))
            return true;
    return false;
}

/* Waits until the full output has buffers again, mail came, or a priority event (an
 * unaligned barrier) reached one of the gates; then takes those events and runs the mail.
 * The wait is backpressure. */
static void handle_event(fl_task *t, int g, const fl_input *in);

static void await_outputs(fl_task *t)
{
    flush_due(t); /* what waits in partly filled buffers goes out on time all the same */
    struct pollfd fds[7];
    int n = 0;
    fds[n++] = (struct pollfd){fl_mailbox_fd(t->mb), POLLIN, 0};
    for (int g = 0; g < t->ngates && n < (int)FL_ARRAY_LEN(fds); g++)
        if (!fl_gate_is_finished(t->gates[g]))
            fds[n++] = (struct pollfd){fl_gate_priority_fd(t->gates[g]), POLLIN, 0};
    for (int k = 0; k < t->nparts; k++)
        if (!fl_partition_has_free(t->parts[k])) {
            /* bounded: the gates past the 6th have no descriptor here */
            int timeout = t->ngates + 1 > n ? 10 : 1000;
            FL_METRIC_ADD(&t->metrics, backpressure_ns,
                          fl_partition_await(t->parts[k], fds, n, timeout));
            break;
        }
    fl_input in;
    for (int g = 0; g < t->ngates; g++)
        while (!fl_task_should_stop(t) && fl_gate_read_priority(t->gates[g], &in) == 1)
            handle_event(t, g, &in);
    fl_task_run_mails(t);
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

void fl_task_run_source(fl_task *t)
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
            fl_task_run_mails(t);
            continue;
        }
        if (ended)
            break;
        if (FL_UNLIKELY(outputs_full(t))) {
            await_outputs(t);
            continue;
        }
        int st = src->ops->poll(src);
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
        fl_task_run_mails(t);
    }
    /* a bounded input ends: the end of time, so that every window and timer fires */
    if (fl_task_should_stop(t))
        return;
    fl_op_advance_watermark(src, FL_WATERMARK_MAX);
    if (!t->view.checkpointing)
        return;
    /* With checkpoints, a finished source waits for a checkpoint that covers everything it
     * emitted to complete, so that two-phase-commit sinks commit all of it exactly once. */
    flush_outputs(t);
    t->final_checkpoint = -1; /* the next checkpoint taken is the final one */
    while (!fl_task_should_stop(t) &&
           !(t->final_checkpoint > 0 && t->completed >= t->final_checkpoint)) {
        wait_input(t, time_work(t));
        fl_task_run_mails(t);
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
            const fl_in_chan *ch = &t->chans[g][c];
            if (ch->status == FL_CHAN_FINISHED)
                continue;
            all_finished = false;
            if (ch->status == FL_CHAN_IDLE)
                continue;
            any = true;
            if (ch->wm < min)
                min = ch->wm;
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
    if (!head->ops->process2) {
        atomic_store_explicit(&t->metric_wm, wm, memory_order_relaxed);
        fl_op_advance_watermark(head, wm);
        return;
    }
    /* two inputs: the minimum of both, ignoring an input that is entirely idle */
    head->input_wm[k] = wm;
    int64_t other, combined = wm;
    if (input_watermark(t, 1 - k, &other))
        combined = head->input_wm[1 - k] < combined ? head->input_wm[1 - k] : combined;
    atomic_store_explicit(&t->metric_wm, combined, memory_order_relaxed);
    fl_op_advance_watermark(head, combined);
}

static void handle_event(fl_task *t, int g, const fl_input *in)
{
    int c = in->channel;
    int k = t->gate_input[g];
    fl_in_chan *ch = &t->chans[g][c];
    switch (in->event_type) {
    case FL_EV_WATERMARK: {
        int64_t wm;
        if (in->len != sizeof wm)
            break;
        memcpy(&wm, in->data, sizeof wm);
        if (wm > ch->wm)
            ch->wm = wm;
        if (ch->status == FL_CHAN_IDLE)
            ch->status = FL_CHAN_ACTIVE;
        update_watermark(t, k);
        break;
    }
    case FL_EV_WATERMARK_STATUS:
        if (in->len != 1 || ch->status == FL_CHAN_FINISHED)
            break;
        ch->status = in->data[0] ? FL_CHAN_IDLE : FL_CHAN_ACTIVE;
        update_watermark(t, k);
        break;
    case FL_EV_END_OF_PARTITION:
        ch->status = FL_CHAN_FINISHED;
        update_watermark(t, k);
        fl_aligner_on_end(&t->aligner, g, c);
        break;
    case FL_EV_LATENCY_MARKER:
        fl_task_latency_on_marker(t, in->data, in->len);
        break;
    case FL_EV_BARRIER:
        if (fl_aligner_on_barrier(&t->aligner, g, c, in->data, in->len) < 0)
            fl_fail(&t->failure, "corrupt checkpoint barrier on input channel %d", c);
        break;
    }
}

static void handle_record(fl_task *t, fl_op *head, const fl_input *in, int g)
{
    int input = t->gate_input[g];
    if (FL_UNLIKELY(fl_task_should_persist(t, g, in)))
        fl_task_persist_input(t, g, in);
    if (FL_UNLIKELY(in->len < FL_ELEM_HDR || in->data[0] != FL_ELEM_RECORD)) {
        fl_fail(&t->failure, "corrupt stream element (%u bytes, tag %d) on input channel %d",
                in->len, in->len ? in->data[0] : -1, in->channel);
        return;
    }
    fl_rec r;
    memcpy(&r.ts, in->data + 1, 8);
    r.data = in->data + FL_ELEM_HDR;
    r.len = in->len - FL_ELEM_HDR;
    if (input == 0)
        head->ops->process(head, &r);
    else
        head->ops->process2(head, &r);
}

void fl_task_run_inputs(fl_task *t)
{
    fl_op *head = &t->ops[0];
    int cur = 0;
    fl_input in;
    while (!fl_task_should_stop(t)) {
        bool got = false, all_done = true, full = false;
        for (int k = 0; k < t->ngates && !full; k++) {
            int gi = (cur + k) % t->ngates;
            fl_gate *g = t->gates[gi];
            if (fl_gate_is_finished(g))
                continue;
            all_done = false;
            for (int batch = 0; batch < 4096; batch++) {
                if (FL_UNLIKELY(outputs_full(t))) {
                    full = true;
                    break;
                }
                int r = fl_gate_read(g, &in);
                if (r == 0)
                    break;
                if (r < 0) {
                    fl_fail(&t->failure, "%s", fl_gate_error(g));
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
        if (full) {
            await_outputs(t);
            continue;
        }
        int due = flush_due(t);
        int tdue = time_work(t);
        if (due < 0 || tdue < due)
            due = tdue;
        fl_task_run_mails(t);
        if (!got) {
            flush_outputs(t);
            wait_input(t, due);
        }
    }
}

