/* barrier.c -- barrier alignment (barrier.h; the protocol in README.md) and the barrier's
 * encoding in the network stream. Task thread only.
 *
 * In EXACTLY_ONCE mode a channel that delivered barrier n is held until barrier n came
 * on every channel still open (a channel that ends counts as arrived); in AT_LEAST_ONCE
 * mode the barriers are only counted. Then the snapshot is taken and the barrier
 * forwarded. A newer barrier overtaking an unfinished alignment gives the older one up
 * (declined). An unaligned barrier, or an alignment older than aligned-checkpoint-timeout,
 * starts an unaligned checkpoint at once: held channels go on, and what the channels whose
 * barrier has not come yet deliver until it comes is recorded as channel state.
 */
#include "barrier.h"
#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void fl_aligner_init(fl_aligner *a, const fl_aligner_ops *ops, void *arg, const char *name,
                     int ngates, const int *nchannels, int64_t timeout_ms)
{
    memset(a, 0, sizeof *a);
    a->ops = ops;
    a->arg = arg;
    a->name = name;
    a->ngates = ngates;
    a->timeout_ms = timeout_ms;
    a->nchannels = fl_xcalloc((size_t)ngates + 1, sizeof *a->nchannels);
    a->chan = fl_xcalloc((size_t)ngates + 1, sizeof *a->chan);
    for (int g = 0; g < ngates; g++) {
        a->nchannels[g] = nchannels[g];
        a->chan[g] = fl_xcalloc((size_t)nchannels[g] + 1, sizeof *a->chan[g]);
    }
}

void fl_aligner_free(fl_aligner *a)
{
    for (int g = 0; g < a->ngates; g++)
        free(a->chan[g]);
    free(a->chan);
    free(a->nchannels);
    a->chan = NULL;
    a->nchannels = NULL;
    a->ngates = 0;
}

/* The checkpoint under way is over (taken or given up): held channels go on, every
 * channel waits for the next barrier. */
static void release(fl_aligner *a)
{
    for (int g = 0; g < a->ngates; g++)
        for (int c = 0; c < a->nchannels[g]; c++) {
            fl_align_chan *s = &a->chan[g][c];
            if (*s == FL_ALIGN_BLOCKED)
                a->ops->unblock(a->arg, g, c);
            if (*s != FL_ALIGN_FINISHED)
                *s = FL_ALIGN_WAITING;
        }
    a->id = 0;
}

/* Channels still open: the barrier can only come from those. */
static int open_channels(const fl_aligner *a)
{
    int n = 0;
    for (int g = 0; g < a->ngates; g++)
        for (int c = 0; c < a->nchannels[g]; c++)
            n += a->chan[g][c] != FL_ALIGN_FINISHED;
    return n;
}

static void maybe_complete(fl_aligner *a)
{
    if (a->id && a->received >= a->total) {
        fl_ckpt_request r = a->req;
        release(a);
        a->last = FL_MAX(a->last, r.id);
        a->ops->checkpoint(a->arg, &r);
    }
}

static void finish_unaligned(fl_aligner *a)
{
    a->ops->finish_unaligned(a->arg);
    a->unaligned_id = 0;
    a->recording = 0;
    release(a);
}

/* Starts an unaligned checkpoint: the channels that delivered its barrier (or ended) are
 * done, the others record. An older one still recording is given up by the task. */
static void start_unaligned(fl_aligner *a, const fl_ckpt_request *r)
{
    fl_ckpt_request ur = *r;
    ur.unaligned = true;
    a->last = FL_MAX(a->last, r->id);
    a->unaligned_id = 0;
    a->recording = 0;
    if (!a->ops->start_unaligned(a->arg, &ur)) {
        release(a);
        return;
    }
    for (int g = 0; g < a->ngates; g++)
        for (int c = 0; c < a->nchannels[g]; c++) {
            fl_align_chan *s = &a->chan[g][c];
            if (*s == FL_ALIGN_WAITING) {
                *s = FL_ALIGN_RECORDING;
                a->recording++;
            } else if (*s == FL_ALIGN_BLOCKED) {
                a->ops->unblock(a->arg, g, c);
                *s = FL_ALIGN_ARRIVED;
            }
        }
    a->id = a->unaligned_id = r->id;
    if (!a->recording)
        finish_unaligned(a);
}

/* A recording channel's barrier (or end) came. */
static void recorded(fl_aligner *a, fl_align_chan *s, fl_align_chan next)
{
    if (*s == FL_ALIGN_RECORDING) {
        *s = next;
        if (--a->recording == 0)
            finish_unaligned(a);
    } else {
        if (next == FL_ALIGN_FINISHED)
            *s = next;
    }
}

int fl_aligner_on_barrier(fl_aligner *a, int g, int c, const uint8_t *payload, uint32_t len)
{
    fl_ckpt_request r;
    fl_align_chan *s = &a->chan[g][c];
    if (!fl_barrier_decode(payload, len, &r))
        return -1;
    if (a->unaligned_id && r.id == a->unaligned_id) {
        recorded(a, s, FL_ALIGN_ARRIVED); /* its data before the barrier is all kept */
        return 0;
    }
    if (r.id <= a->last)
        return 0; /* an older checkpoint, already taken or given up */
    if (r.unaligned) {
        if (a->unaligned_id) { /* an older one still recording: every channel starts over */
            a->unaligned_id = 0;
            a->recording = 0;
            release(a);
        }
        *s = FL_ALIGN_ARRIVED;
        start_unaligned(a, &r);
        return 0;
    }
    if (a->id && r.id > a->id) {
        /* a newer barrier (a savepoint's is aligned) overtook an unfinished alignment or
         * recording: give the older checkpoint up */
        a->ops->decline(a->arg, a->id, "a newer checkpoint barrier arrived during alignment");
        a->last = a->id;
        a->unaligned_id = 0;
        a->recording = 0;
        release(a);
    }
    if (!a->id) {
        a->id = r.id;
        a->req = r;
        a->received = 0;
        a->total = open_channels(a);
        a->start_ns = fl_mono_ns();
    }
    if (*s == FL_ALIGN_WAITING || *s == FL_ALIGN_RECORDING) {
        a->received++;
        *s = r.exactly_once ? FL_ALIGN_BLOCKED : FL_ALIGN_ARRIVED;
        if (r.exactly_once)
            a->ops->block(a->arg, g, c);
    }
    maybe_complete(a);
    return 0;
}

void fl_aligner_on_end(fl_aligner *a, int g, int c)
{
    fl_align_chan *s = &a->chan[g][c];
    if (a->unaligned_id) {
        recorded(a, s, FL_ALIGN_FINISHED);
        return;
    }
    bool counted = *s == FL_ALIGN_WAITING && a->id;
    *s = FL_ALIGN_FINISHED; /* nothing more will come from it: aligned */
    if (counted) {
        a->received++;
        maybe_complete(a);
    }
}

void fl_aligner_trigger(fl_aligner *a, const fl_ckpt_request *r)
{
    if (r->unaligned) {
        start_unaligned(a, r);
        return;
    }
    a->last = FL_MAX(a->last, r->id);
    a->ops->checkpoint(a->arg, r);
}

void fl_aligner_check_timeout(fl_aligner *a, int64_t now_ns)
{
    if (a->id && !a->unaligned_id && a->timeout_ms > 0 && a->start_ns &&
        now_ns - a->start_ns > a->timeout_ms * 1000000) {
        fl_info("%s: alignment of checkpoint %lld exceeded %lld ms; continuing unaligned",
                a->name, (long long)a->id, (long long)a->timeout_ms);
        fl_ckpt_request r = a->req;
        start_unaligned(a, &r);
    }
}

/* ---- the barrier in the stream ---------------------------------------------------- */

uint32_t fl_barrier_encode(const fl_ckpt_request *r, uint8_t *out, size_t cap)
{
    uint8_t *p = out;
    uint8_t flags = (uint8_t)((r->savepoint ? 1 : 0) | (r->exactly_once ? 2 : 0) |
                              (r->unaligned ? 4 : 0));
    size_t l1 = strnlen(r->dir, sizeof r->dir), l2 = strnlen(r->shared_dir, sizeof r->shared_dir);
    if (21 + l1 + l2 > cap)
        return 0;
    uint16_t n1 = (uint16_t)l1, n2 = (uint16_t)l2;
    memcpy(p, &r->id, 8);
    memcpy(p + 8, &r->ts, 8);
    p[16] = flags;
    memcpy(p + 17, &n1, 2);
    memcpy(p + 19, r->dir, n1);
    memcpy(p + 19 + n1, &n2, 2);
    memcpy(p + 21 + n1, r->shared_dir, n2);
    return 21u + n1 + n2;
}

bool fl_barrier_decode(const uint8_t *p, uint32_t len, fl_ckpt_request *r)
{
    uint16_t n1, n2;
    memset(r, 0, sizeof *r);
    if (len < 21)
        return false;
    memcpy(&r->id, p, 8);
    memcpy(&r->ts, p + 8, 8);
    r->savepoint = p[16] & 1;
    r->exactly_once = (p[16] & 2) != 0;
    r->unaligned = (p[16] & 4) != 0;
    memcpy(&n1, p + 17, 2);
    if (n1 >= sizeof r->dir || 21u + n1 > len)
        return false;
    memcpy(r->dir, p + 19, n1);
    memcpy(&n2, p + 19 + n1, 2);
    if (n2 >= sizeof r->shared_dir || 21u + n1 + n2 > len)
        return false;
    memcpy(r->shared_dir, p + 21 + n1, n2);
    return r->id > 0;
}
