/* gate.c -- input gates: the consumer side of the data plane.
 *
 * One task thread reads a gate. Channels become "ready" when buffers arrive (the network
 * thread fills remote channels; a local producer notifies its local channel) and wait in a
 * FIFO ring; the reader takes one buffer at a time from the head channel, deserializes its
 * records (reassembling records that span buffers in a per-channel spill area) and moves
 * on round-robin. A blocked channel (barrier alignment) is parked instead of read.
 *
 * Remote channels own `buffers-per-channel` exclusive buffers and may borrow the gate's
 * floating buffers; every free buffer is credit for the sender. See README.md.
 */
#include "common/log.h"
#include "common/util.h"
#include "network_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CHAN_OF(ptr, member) ((fl_chan *)((char *)(ptr)-offsetof(fl_chan, member)))

static inline uint32_t get32le(const uint8_t *d)
{
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static void wake(fl_gate *g)
{
    uint64_t one = 1;
    ssize_t w = write(g->efd, &one, sizeof one);
    (void)w;
}

/* What the reader does when nothing is ready: busy (it will look again without being told)
 * or asleep on efd (a writer must write it). */
enum { GW_BUSY = 0, GW_SLEEP = 1 };

static void take_token(fl_gate *g)
{
    uint64_t v;
    ssize_t r = read(g->efd, &v, sizeof v);
    (void)r;
}

/* Gate lock held. The reader is woken (its eventfd written) only when it armed the gate:
 * it found nothing ready and is going to sleep. A reader busy with a buffer is not woken
 * for the next one (it finds it in the ring), so a network thread delivering a batch of
 * buffers writes the eventfd once at most, and a busy reader never reads it. The write is
 * under the lock, so a reader that sees the gate disarmed knows the token is there. */
static void mark_ready(fl_gate *g, fl_chan *c)
{
    if (c->in_ready)
        return;
    if (c->blocked) {
        c->parked = true;
        return;
    }
    c->in_ready = true;
    g->ring[(g->rhead + g->rcount) % g->n] = c->idx;
    g->rcount++;
    if (atomic_load_explicit(&g->wstate, memory_order_relaxed) == GW_SLEEP) {
        wake(g); /* before disarming: a reader that sees it disarmed finds the token */
        atomic_store_explicit(&g->wstate, GW_BUSY, memory_order_release);
    }
}

/* Gate lock held. */
static int pop_ready(fl_gate *g)
{
    while (g->rcount) {
        int idx = g->ring[g->rhead];
        g->rhead = (g->rhead + 1) % g->n;
        g->rcount--;
        fl_chan *c = &g->ch[idx];
        c->in_ready = false;
        if (c->blocked) {
            c->parked = true;
            continue;
        }
        return idx;
    }
    return -1;
}

void fl_gate_fail(fl_gate *g, const char *fmt, ...)
{
    pthread_mutex_lock(&g->lock);
    if (!g->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->error, sizeof g->error, fmt, ap);
        va_end(ap);
        g->failed = true;
        wake(g);
    }
    pthread_mutex_unlock(&g->lock);
}

const char *fl_gate_error(fl_gate *g)
{
    return g->error;
}

/* A priority event reached the head of a channel (any thread). */
static void priority_arrived(fl_gate *g)
{
    atomic_store_explicit(&g->prio_hint, true, memory_order_relaxed);
    uint64_t one = 1;
    ssize_t w = write(g->prio_efd, &one, sizeof one);
    (void)w;
}

/* ---- local channels --------------------------------------------------------------- */

/* The producer calls it with the subpartition's lock held. */
static void local_notify(fl_subpart_reader *r)
{
    fl_chan *c = CHAN_OF(r, reader);
    if (c->sp->queue.head && c->sp->queue.head->kind == FL_BUF_PRIORITY)
        priority_arrived(c->gate);
    pthread_mutex_lock(&c->gate->lock);
    mark_ready(c->gate, c);
    pthread_mutex_unlock(&c->gate->lock);
}

static void local_on_fail(fl_subpart_reader *r, const char *why)
{
    fl_chan *c = CHAN_OF(r, reader);
    fl_gate_fail(c->gate, "producer of partition %s failed: %s", c->partition_id, why);
}

void fl_gate_attached(fl_chan *c, fl_partition *p, fl_subpart *sp)
{
    pthread_mutex_lock(&c->gate->lock);
    c->part = p;
    c->sp = sp;
    c->attached = true;
    pthread_mutex_unlock(&c->gate->lock);
}

void fl_gate_channel_lost(fl_chan *c, const char *why)
{
    fl_gate *g = c->gate;
    pthread_mutex_lock(&g->lock);
    if (!c->eop && !c->eop_received && !g->failed) {
        snprintf(g->error, sizeof g->error, "%s", why);
        g->failed = true;
        wake(g);
    }
    pthread_mutex_unlock(&g->lock);
}

/* ---- remote channels: buffers and credit ------------------------------------------ */

static void to_lpool(fl_gate *g, fl_buf *b)
{
    b->owner = g->lpool_owner;
    g->lpool_owner->recycle(g->lpool_owner, b);
}

/* Gate lock held: announces c's new credit once the sender holds no more than is held
 * back (so one AddCredit frame carries several buffers while the sender still has credit
 * to go on with, and a sender low on credit hears of every buffer at once). */
static void maybe_announce(fl_gate *g, fl_chan *c)
{
    if (c->unannounced > 0 && c->announced <= c->unannounced && !c->eop)
        fl_netenv_queue_credit(g->net, c);
}

/* Gate lock held: gives c a free buffer it may announce as credit. */
static void credit_buffer(fl_gate *g, fl_chan *c, fl_buf *b)
{
    b->next = c->free_list;
    c->free_list = b;
    c->nfree++;
    c->unannounced++;
    maybe_announce(g, c);
}

static void excl_recycle(fl_buf_owner *owner, fl_buf *b)
{
    fl_chan *c = CHAN_OF(owner, excl_owner);
    fl_gate *g = c->gate;
    pthread_mutex_lock(&g->lock);
    if (g->closing)
        to_lpool(g, b);
    else
        credit_buffer(g, c, b);
    pthread_mutex_unlock(&g->lock);
}

/* Gate lock held: the waiting channel with the largest unmet backlog, or NULL. */
static fl_chan *neediest(fl_gate *g)
{
    fl_chan *best = NULL;
    int best_need = 0;
    for (int i = 0; i < g->n; i++) {
        fl_chan *c = &g->ch[i];
        if (c->local || c->eop || !c->waiting_floating)
            continue;
        int need = c->backlog - c->nfree;
        if (need <= 0) {
            c->waiting_floating = false;
            continue;
        }
        if (need > best_need) {
            best = c;
            best_need = need;
        }
    }
    return best;
}

static void float_recycle(fl_buf_owner *owner, fl_buf *b)
{
    fl_gate *g = (fl_gate *)((char *)owner - offsetof(fl_gate, float_owner));
    pthread_mutex_lock(&g->lock);
    if (g->closing) {
        to_lpool(g, b);
    } else {
        fl_chan *c = neediest(g);
        if (c) {
            credit_buffer(g, c, b);
            if (c->backlog <= c->nfree)
                c->waiting_floating = false;
        } else {
            b->next = g->float_free;
            g->float_free = b;
            g->nfloat_free++;
        }
    }
    pthread_mutex_unlock(&g->lock);
}

/* Gate lock held: borrows floating buffers while the sender has more queued than c can
 * take. Credit never exceeds the sender's reported backlog (plus the exclusive buffers), so
 * a floating buffer is never parked as credit at a sender with nothing to send: it comes
 * back with data, is read and floats again. */
static void borrow_floating(fl_gate *g, fl_chan *c)
{
    while (c->backlog > c->nfree && g->float_free) {
        fl_buf *f = g->float_free;
        g->float_free = f->next;
        g->nfloat_free--;
        credit_buffer(g, c, f);
    }
    c->waiting_floating = c->backlog > c->nfree;
    maybe_announce(g, c);
}

fl_buf *fl_gate_claim(fl_chan *c, uint8_t kind, uint32_t len, fl_buf_owner **lp_owner)
{
    fl_gate *g = c->gate;
    if (kind == FL_BUF_PRIORITY) {
        /* sent without credit: it gets a buffer of its own */
        if (len == 0 || len > FL_EVENT_MAX_PAYLOAD + 1)
            return NULL;
        *lp_owner = NULL;
        return fl_buf_heap_new(len);
    }
    pthread_mutex_lock(&g->lock);
    fl_buf *b = c->free_list;
    if (!b || c->announced <= 0 || len > b->cap) {
        pthread_mutex_unlock(&g->lock);
        return NULL;
    }
    c->free_list = b->next;
    c->nfree--;
    c->announced--;
    *lp_owner = g->lpool_owner;
    pthread_mutex_unlock(&g->lock);
    return b;
}

void fl_gate_deliver(fl_chan *c, fl_buf *b, uint8_t kind, uint8_t flags, uint32_t len,
                     int backlog)
{
    fl_gate *g = c->gate;
    b->len = len;
    b->kind = kind;
    b->flags = flags;
    pthread_mutex_lock(&g->lock);
    if (kind == FL_BUF_PRIORITY) {
        /* ahead of all the queued data. A record begun in a buffer already read and
         * finished in one it overtook is read after the event (the deserializer keeps its
         * beginning), and is channel state: the records of overtaken buffers are persisted
         * whole, beginning included. */
        fl_bufq_insert_after(&c->received, NULL, b);
        int n = 0;
        for (fl_buf *q = b->next; q; q = q->next)
            n += q->kind == FL_BUF_DATA;
        c->overtaken = n;
        mark_ready(g, c);
        pthread_mutex_unlock(&g->lock);
        priority_arrived(g);
        return;
    }
    if (kind == FL_BUF_EVENT && len > 0 && b->data[0] == FL_EV_END_OF_PARTITION)
        c->eop_received = true;
    fl_bufq_push(&c->received, b);
    c->backlog = backlog;
    borrow_floating(g, c);
    mark_ready(g, c);
    pthread_mutex_unlock(&g->lock);
}

void fl_gate_backlog(fl_chan *c, int backlog)
{
    fl_gate *g = c->gate;
    pthread_mutex_lock(&g->lock);
    c->backlog = backlog;
    borrow_floating(g, c);
    pthread_mutex_unlock(&g->lock);
}

/* At most this much credit per ADD_CREDIT frame (the sender refuses more as implausible);
 * the rest goes out with the next one. */
#define CREDIT_PER_FRAME 1024

int fl_gate_take_credit(fl_chan *c)
{
    fl_gate *g = c->gate;
    pthread_mutex_lock(&g->lock);
    int k = c->eop ? 0 : FL_MIN(c->unannounced, CREDIT_PER_FRAME);
    c->announced += k;
    c->unannounced -= k;
    if (c->unannounced > 0 && !c->eop)
        fl_netenv_queue_credit(g->net, c); /* the rest in the next frame */
    pthread_mutex_unlock(&g->lock);
    return k;
}

bool fl_gate_failed(fl_gate *g)
{
    pthread_mutex_lock(&g->lock);
    bool failed = g->failed;
    pthread_mutex_unlock(&g->lock);
    return failed;
}


/* ---- life cycle ------------------------------------------------------------------- */

fl_gate *fl_gate_new(fl_netenv *net, int nchannels, const char *owner_name,
                     fl_io_metrics *metrics)
{
    fl_gate *g = fl_xcalloc(1, sizeof *g);
    g->net = net;
    g->n = nchannels;
    g->ch = fl_xcalloc((size_t)nchannels, sizeof *g->ch);
    g->ring = fl_xcalloc((size_t)nchannels, sizeof *g->ring);
    snprintf(g->name, sizeof g->name, "%s", owner_name);
    g->metrics = metrics ? metrics : &g->own_metrics;
    fl_net_mutex_init(&g->lock);
    g->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    g->prio_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    g->float_owner.recycle = float_recycle;
    g->cur = -1;
    /* armed from the start: a reader may poll before its first read */
    atomic_store(&g->wstate, GW_SLEEP);
    g->drain = true;
    for (int i = 0; i < nchannels; i++) {
        fl_chan *c = &g->ch[i];
        c->gate = g;
        c->idx = i;
        c->reader.notify = local_notify;
        c->reader.on_fail = local_on_fail;
        c->excl_owner.recycle = excl_recycle;
    }
    return g;
}

void fl_gate_set_channel(fl_gate *g, int idx, const char *partition_id, int sub,
                         const char *host, int data_port)
{
    fl_chan *c = &g->ch[idx];
    snprintf(c->partition_id, sizeof c->partition_id, "%s", partition_id);
    c->sub = sub;
    c->local = host == NULL;
    snprintf(c->host, sizeof c->host, "%s", host ? host : "");
    c->port = data_port;
}

int fl_gate_start(fl_gate *g, fl_err *err)
{
    int nremote = 0, bpc = fl_netenv_buffers_per_channel(g->net);
    for (int i = 0; i < g->n; i++)
        nremote += !g->ch[i].local;
    if (g->efd < 0) {
        fl_err_set(err, "eventfd for input gate %s failed", g->name);
        return -1;
    }
    if (nremote) {
        /* A wide gate (more exclusive buffers than read-buffer.required-per-gate.max)
         * gets no exclusive buffers: it requires that many floating ones, lent by backlog
         * (Flink 1.17's rule). */
        int64_t excl = (int64_t)nremote * bpc, cap = fl_netenv_gate_max_required(g->net);
        int required = (int)FL_MIN(excl, cap);
        if (excl > cap)
            bpc = 0;
        g->lpool = fl_lpool_new(fl_netenv_pool(g->net), required,
                                required + fl_netenv_floating_per_gate(g->net), g->name, err);
        if (!g->lpool)
            return -1;
        fl_buf *b;
        /* The required buffers are there: bpc exclusive ones per remote channel, sent as
         * its initial credit with the request; whatever else was granted floats. */
        for (int i = 0; i < g->n; i++) {
            fl_chan *c = &g->ch[i];
            for (int j = 0; !c->local && j < bpc; j++) {
                b = fl_lpool_try_get(g->lpool);
                g->lpool_owner = b->owner;
                b->owner = &c->excl_owner;
                b->next = c->free_list;
                c->free_list = b;
                c->nfree++;
                c->announced++;
            }
        }
        while ((b = fl_lpool_try_get(g->lpool))) {
            g->lpool_owner = b->owner;
            b->owner = &g->float_owner;
            b->next = g->float_free;
            g->float_free = b;
            g->nfloat_free++;
        }
    }
    g->started = true;
    for (int i = 0; i < g->n; i++) {
        if (g->ch[i].local)
            fl_netenv_request_local(g->net, &g->ch[i]);
        else
            fl_netenv_request_remote(g->net, &g->ch[i]);
    }
    return 0;
}

int fl_gate_fd(const fl_gate *g)
{
    return g->efd;
}

int fl_gate_channels(const fl_gate *g)
{
    return g->n;
}

bool fl_gate_is_finished(const fl_gate *g)
{
    return g->finished == g->n;
}

void fl_gate_block(fl_gate *g, int channel)
{
    pthread_mutex_lock(&g->lock);
    g->ch[channel].blocked = true;
    pthread_mutex_unlock(&g->lock);
}

void fl_gate_unblock(fl_gate *g, int channel)
{
    pthread_mutex_lock(&g->lock);
    fl_chan *c = &g->ch[channel];
    c->blocked = false;
    if (c->parked) {
        c->parked = false;
        mark_ready(g, c);
    }
    pthread_mutex_unlock(&g->lock);
}

bool fl_gate_is_blocked(const fl_gate *g, int channel)
{
    return g->ch[channel].blocked;
}

/* ---- reading (task thread) -------------------------------------------------------- */

static bool spill_reserve(fl_chan *c, uint32_t need)
{
    if (need > FL_NET_MAX_RECORD)
        return false;
    if (c->spill_cap < need) {
        uint32_t cap = c->spill_cap ? c->spill_cap : 4096;
        while (cap < need)
            cap = cap > UINT32_MAX / 2 ? need : cap * 2;
        c->spill = fl_xrealloc(c->spill, cap);
        c->spill_cap = cap;
    }
    return true;
}

/* 1: a record in *in; 0: the current buffer is used up (and recycled); -1: corrupt. */
static int next_record(fl_gate *g, fl_chan *c, fl_input *in)
{
    fl_buf *b = c->cur;
    for (;;) {
        uint32_t avail = b->len - c->pos;
        const uint8_t *d = b->data + c->pos;
        if (avail == 0) {
            fl_buf_recycle(b);
            c->cur = NULL;
            return 0;
        }
        if (!c->partial) {
            if (FL_LIKELY(avail >= 4)) {
                uint32_t len = get32le(d);
                if (FL_LIKELY(avail - 4 >= len)) {
                    in->data = d + 4;
                    in->len = len;
                    c->pos += 4 + len;
                    return 1;
                }
                if (!spill_reserve(c, len))
                    goto corrupt;
                memcpy(c->spill, d + 4, avail - 4);
                c->spill_len = avail - 4;
                c->spill_need = len;
                c->lenhave = 4;
            } else {
                memcpy(c->lenbuf, d, avail);
                c->lenhave = (int)avail;
            }
            c->partial = true;
            c->pos = b->len;
            continue;
        }
        if (c->lenhave < 4) { /* the length prefix itself was split */
            uint32_t k = FL_MIN(avail, 4u - (uint32_t)c->lenhave);
            memcpy(c->lenbuf + c->lenhave, d, k);
            c->lenhave += (int)k;
            c->pos += k;
            if (c->lenhave < 4)
                continue;
            c->spill_need = get32le(c->lenbuf);
            c->spill_len = 0;
            if (!spill_reserve(c, c->spill_need ? c->spill_need : 1))
                goto corrupt;
            avail -= k;
            d += k;
        }
        uint32_t k = FL_MIN(avail, c->spill_need - c->spill_len);
        memcpy(c->spill + c->spill_len, d, k);
        c->spill_len += k;
        c->pos += k;
        if (c->spill_len == c->spill_need) {
            c->partial = false;
            c->lenhave = 0;
            in->data = c->spill;
            in->len = c->spill_need;
            return 1;
        }
    }
corrupt:
    fl_gate_fail(g, "corrupt record length on channel %d of %s (partition %s)", c->idx, g->name,
                 c->partition_id);
    return -1;
}

static void release_channel(fl_gate *g, fl_chan *c)
{
    if (c->local) {
        fl_netenv_cancel_local(g->net, c);
        pthread_mutex_lock(&g->lock);
        bool attached = c->attached;
        pthread_mutex_unlock(&g->lock);
        if (attached)
            fl_subpart_detach(c->sp, &c->reader);
    } else {
        fl_netenv_cancel_remote(g->net, c);
    }
}

/* Hands out event buffer b of channel c (and recycles it); overtaken: the data buffers a
 * priority event overtook in c's queue. */
static int deliver_event(fl_gate *g, fl_chan *c, fl_buf *b, int overtaken, fl_input *in)
{
    uint32_t len = b->len ? b->len - 1 : 0;
    if (b->len == 0 || len > FL_EVENT_MAX_PAYLOAD) {
        fl_buf_recycle(b);
        fl_gate_fail(g, "corrupt event on channel %d of %s", c->idx, g->name);
        return -1;
    }
    in->kind = FL_IN_EVENT;
    in->channel = c->idx;
    in->persist = false;
    in->priority = b->kind == FL_BUF_PRIORITY;
    /* the data this event overtook here is channel state of the checkpoint */
    c->persist_left += overtaken;
    in->event_type = b->data[0];
    memcpy(g->evbuf, b->data + 1, len);
    in->data = g->evbuf;
    in->len = len;
    fl_buf_recycle(b);
    if (in->event_type == FL_EV_END_OF_PARTITION && !c->eop) {
        pthread_mutex_lock(&g->lock);
        c->eop = true;
        pthread_mutex_unlock(&g->lock);
        g->finished++;
        release_channel(g, c);
    }
    return 1;
}

/* A priority event (an unaligned checkpoint's barrier) that reached the head of a channel
 * goes before the rest of the buffer being read, between two records, as Flink's task
 * takes it between two records: a slow operator (a throttled sink under backpressure)
 * would otherwise hold an unaligned barrier for a whole buffer of records per channel
 * ahead of it. When the event is the current channel's own, the rest of the current
 * buffer came before it and is overtaken: persisted as channel state, like the queued
 * buffers it overtook. Blocked channels keep their order. 1: in holds the event; 0: none
 * at a head (one behind the parts of a split record comes the usual way). */
static int take_priority(fl_gate *g, fl_input *in)
{
    atomic_store_explicit(&g->prio_hint, false, memory_order_relaxed);
    uint64_t v;
    ssize_t r = read(g->prio_efd, &v, sizeof v);
    (void)r;
    for (int i = 0; i < g->n; i++) {
        fl_chan *c = &g->ch[i];
        fl_buf *b = NULL;
        int overtaken = 0;
        pthread_mutex_lock(&g->lock);
        bool usable = !c->blocked && !c->eop && (!c->local || c->attached);
        if (usable && !c->local && c->received.head &&
            c->received.head->kind == FL_BUF_PRIORITY) {
            b = fl_bufq_pop(&c->received);
            overtaken = c->overtaken;
            c->overtaken = 0;
        }
        pthread_mutex_unlock(&g->lock);
        if (usable && c->local)
            b = fl_subpart_poll_priority(c->sp, NULL); /* its lock before the gate's */
        if (!b)
            continue;
        if (i == g->cur)
            c->cur_persist = true;
        return deliver_event(g, c, b, overtaken, in);
    }
    return 0;
}

int fl_gate_read_priority(fl_gate *g, fl_input *in)
{
    if (!atomic_load_explicit(&g->prio_hint, memory_order_relaxed))
        return 0;
    if (g->cur >= 0 && (g->ch[g->cur].partial || g->ch[g->cur].lenhave))
        return 0; /* inside a record: after it, the usual way */
    return take_priority(g, in);
}

int fl_gate_priority_fd(fl_gate *g)
{
    return g->prio_efd;
}

int fl_gate_read(fl_gate *g, fl_input *in)
{
    for (;;) {
        if (g->cur >= 0) {
            fl_chan *c = &g->ch[g->cur];
            if (FL_UNLIKELY(atomic_load_explicit(&g->prio_hint, memory_order_relaxed)) &&
                !c->partial && c->lenhave == 0) {
                int r = take_priority(g, in);
                if (r != 0)
                    return r;
            }
            int r = next_record(g, c, in);
            if (FL_LIKELY(r == 1)) {
                in->kind = FL_IN_RECORD;
                in->channel = g->cur;
                in->persist = c->cur_persist;
                FL_METRIC_ADD(g->metrics, records_in, 1);
                FL_METRIC_ADD(g->metrics, bytes_in, in->len + 4);
                return 1;
            }
            g->cur = -1;
            if (r < 0)
                return -1;
        }
        /* armed before and disarmed since: a writer put a token into efd; take it, or the
         * next poll would not sleep */
        if (g->drain && atomic_load_explicit(&g->wstate, memory_order_acquire) == GW_BUSY) {
            take_token(g);
            g->drain = false;
        }
        pthread_mutex_lock(&g->lock);
        if (g->failed) {
            pthread_mutex_unlock(&g->lock);
            return -1;
        }
        int idx = pop_ready(g);
        if (idx < 0) {
            atomic_store_explicit(&g->wstate, GW_SLEEP, memory_order_relaxed);
            g->drain = true;
            pthread_mutex_unlock(&g->lock);
            return 0;
        }
        if (g->drain) {
            if (atomic_load_explicit(&g->wstate, memory_order_relaxed) == GW_SLEEP)
                atomic_store_explicit(&g->wstate, GW_BUSY, memory_order_relaxed); /* no token */
            else
                take_token(g); /* disarmed by a writer since the look above */
            g->drain = false;
        }
        fl_chan *c = &g->ch[idx];
        fl_buf *b = NULL;
        int overtaken = 0;
        if (c->local) {
            bool attached = c->attached;
            pthread_mutex_unlock(&g->lock);
            int backlog = 0;
            if (attached)
                b = fl_subpart_poll(c->sp, &backlog);
            if (b && backlog > 0) {
                pthread_mutex_lock(&g->lock);
                mark_ready(g, c);
                pthread_mutex_unlock(&g->lock);
            }
        } else {
            b = fl_bufq_pop(&c->received);
            if (b && b->kind == FL_BUF_PRIORITY) {
                overtaken = c->overtaken;
                c->overtaken = 0;
            }
            if (b && c->received.n)
                mark_ready(g, c);
            pthread_mutex_unlock(&g->lock);
        }
        if (!b)
            continue;
        if (b->kind != FL_BUF_DATA)
            return deliver_event(g, c, b, overtaken, in);
        c->cur = b;
        c->pos = 0;
        c->cur_persist = c->persist_left > 0;
        if (c->cur_persist)
            c->persist_left--;
        g->cur = idx;
    }
}

void fl_gate_free(fl_gate *g)
{
    if (!g)
        return;
    for (int i = 0; g->started && i < g->n; i++)
        if (!g->ch[i].eop)
            release_channel(g, &g->ch[i]);
    pthread_mutex_lock(&g->lock);
    g->closing = true;
    pthread_mutex_unlock(&g->lock);
    /* Every buffer still here goes back where it came from: producers' pools for local
     * channels, our local pool (via the closing flag) for remote ones. */
    for (int i = 0; i < g->n; i++) {
        fl_chan *c = &g->ch[i];
        fl_buf *b;
        if (c->cur)
            fl_buf_recycle(c->cur);
        while ((b = fl_bufq_pop(&c->received)))
            fl_buf_recycle(b);
        while ((b = c->free_list)) {
            c->free_list = b->next;
            to_lpool(g, b);
        }
        free(c->spill);
    }
    while (g->float_free) {
        fl_buf *b = g->float_free;
        g->float_free = b->next;
        to_lpool(g, b);
    }
    fl_lpool_close(g->lpool);
    if (g->efd >= 0)
        close(g->efd);
    if (g->prio_efd >= 0)
        close(g->prio_efd);
    pthread_mutex_destroy(&g->lock);
    free(g->ring);
    free(g->ch);
    free(g);
}
