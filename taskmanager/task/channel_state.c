/* channel_state.c -- the in-flight data of unaligned checkpoints (DESIGN.md §6; README.md
 * here). When an unaligned checkpoint starts, its barrier overtakes the data queued in
 * the task's output partitions: that data becomes output channel state. Until each input
 * channel's barrier comes, what the channel delivers (and what the barrier overtook in the
 * input queues) becomes input channel state. Both are stored with the first operator's
 * state; on restore, output channel state is sent again and input channel state processed
 * before anything new. Items: [u8 0][u32 input][elements] for input, [u8 1][u32 output]
 * [u32 subpartition][bytes] for output; elements and records are [u32 len][bytes].
 * Task thread only.
 */
#include "internal.h"

#include <string.h>

typedef struct capture_arg {
    fl_items *channel;
    uint32_t output;
    int sub;
    fl_bytes b;
} capture_arg;

/* The overtaken buffers of one subpartition become one item: records span buffers. */
static void capture_flush(capture_arg *c)
{
    if (c->b.len)
        fl_items_add(c->channel, c->b.p, c->b.len);
    c->b.len = 0;
}

static void capture_output(void *arg, int sub, const uint8_t *data, uint32_t len)
{
    capture_arg *c = arg;
    if (c->b.len && sub != c->sub)
        capture_flush(c);
    if (!c->b.len) {
        uint8_t kind = 1;
        c->sub = sub;
        fl_bytes_put(&c->b, &kind, 1);
        fl_bytes_u32(&c->b, c->output);
        fl_bytes_u32(&c->b, (uint32_t)sub);
    }
    fl_bytes_put(&c->b, data, len);
}

void fl_task_capture_output(fl_task *t, fl_items *channel, const uint8_t *barrier,
                            uint32_t len)
{
    for (int k = 0; k < t->nwriters; k++) {
        capture_arg c = {channel, (uint32_t)k, 0, {0}};
        if (fl_partition_emit_priority(t->writers[k].part, FL_EV_BARRIER, barrier, len,
                                       capture_output, &c) < 0)
            fl_fail(&t->failure, "%s", fl_partition_error(t->writers[k].part));
        capture_flush(&c);
        fl_bytes_free(&c.b);
    }
}

void fl_task_persist_input(fl_task *t, int g, const fl_input *in)
{
    if (!t->ua_job)
        return; /* the checkpoint was given up */
    fl_bytes *b = &t->ua_in[t->gate_input[g]];
    fl_bytes_u32(b, in->len);
    fl_bytes_put(b, in->data, in->len);
}

void fl_task_take_recorded_input(fl_task *t, fl_items *channel)
{
    for (int k = 0; k < 2; k++) {
        if (!t->ua_in[k].len)
            continue;
        fl_bytes b = {0};
        uint8_t kind = 0;
        fl_bytes_put(&b, &kind, 1);
        fl_bytes_u32(&b, (uint32_t)k);
        fl_bytes_put(&b, t->ua_in[k].p, t->ua_in[k].len);
        fl_items_add(channel, b.p, b.len);
        fl_bytes_free(&b);
        t->ua_in[k].len = 0;
    }
}

void fl_task_drop_recorded_input(fl_task *t)
{
    t->ua_in[0].len = t->ua_in[1].len = 0;
}

void fl_task_replay_channel_state(fl_task *t)
{
    const Fl__Pb__TaskRestore *r = t->tdd->restore;
    if (!r || !t->nops)
        return;
    fl_op *head = &t->ops[0];
    const Fl__Pb__OperatorSubtaskState *st = NULL;
    for (size_t k = 0; k < r->n_operators; k++)
        if (!strcmp(r->operators[k]->uid, head->spec->uid))
            st = r->operators[k];
    if (!st || !st->n_channel_state)
        return;
    /* first what was on its way out, then what was on its way in */
    for (int pass = 1; pass >= 0; pass--) {
        for (size_t i = 0; i < st->n_channel_state && !fl_task_should_stop(t); i++) {
            const uint8_t *p = st->channel_state[i].data, *end = p + st->channel_state[i].len;
            uint32_t idx, sub = 0;
            if (end - p < 5 || p[0] != pass)
                continue;
            memcpy(&idx, p + 1, 4);
            p += 5;
            if (pass == 1) {
                if (end - p < 4)
                    continue;
                memcpy(&sub, p, 4);
                p += 4;
                if (idx >= (uint32_t)t->nwriters || sub >= (uint32_t)t->writers[idx].nsub)
                    continue;
            }
            while (end - p >= 4) {
                uint32_t n;
                memcpy(&n, p, 4);
                if ((size_t)(end - p - 4) < n)
                    break;
                const uint8_t *elem = p + 4;
                p += 4 + n;
                if (pass == 1) {
                    if (fl_partition_emit(t->writers[idx].part, (int)sub, NULL, 0, elem, n) < 0)
                        fl_fail(&t->failure, "%s", fl_partition_error(t->writers[idx].part));
                } else if (n >= FL_ELEM_HDR && elem[0] == FL_ELEM_RECORD) {
                    fl_rec rec;
                    memcpy(&rec.ts, elem + 1, 8);
                    rec.data = elem + FL_ELEM_HDR;
                    rec.len = n - FL_ELEM_HDR;
                    if (idx == 0)
                        head->ops->process(head, &rec);
                    else if (head->ops->process2)
                        head->ops->process2(head, &rec);
                }
            }
            if (p != end) {
                fl_fail(&t->failure, "corrupt channel state in the checkpoint (%s item %zu)",
                        pass ? "output" : "input", i);
                return;
            }
        }
    }
}
