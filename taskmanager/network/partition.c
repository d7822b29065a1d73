/* partition.c -- result partitions: the producer side of the data plane.
 *
 * The producing task thread serializes records into each subpartition's current buffer
 * (4-byte little-endian length, then the bytes; a record may span buffers) and hands a
 * buffer over (queue + notify, under the subpartition lock) when it is full, flushed or
 * followed by an event. Readers -- a local input channel or the network thread's view of
 * a remote request -- take buffers from the queue. See README.md.
 */
#include "common/log.h"
#include "common/util.h"
#include "network_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void put32le(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)v;
    d[1] = (uint8_t)(v >> 8);
    d[2] = (uint8_t)(v >> 16);
    d[3] = (uint8_t)(v >> 24);
}

fl_partition *fl_partition_new(fl_netenv *net, const char *id, int nsubs,
                               int64_t buffer_timeout_ms, fl_io_metrics *metrics, fl_err *err)
{
    if (strlen(id) >= FL_NET_ID_MAX || nsubs < 1) {
        fl_err_set(err, "invalid partition '%s' with %d subpartitions", id, nsubs);
        return NULL;
    }
    char owner[FL_NET_ID_MAX + 32];
    snprintf(owner, sizeof owner, "result partition %s", id);
    /* Required: one buffer being filled per subpartition and one in flight. Beyond that at
     * most floating-buffers-per-gate more: pools never grow or shrink, so a pool that took
     * n * buffers-per-channel (as Flink's elastic pools may) would starve the required
     * buffers of tasks deployed after it (2 x 32 slots at -p 64 failed so). */
    fl_lpool *pool = fl_lpool_new(fl_netenv_pool(net), nsubs + 1,
                                  nsubs + 1 + fl_netenv_floating_per_gate(net), owner, err);
    if (!pool)
        return NULL;
    /* While blocked, the producer holds at most one partly filled buffer per subpartition;
     * all others come back, so waiting for a quarter of the pool is safe. */
    int size = fl_lpool_size(pool);
    fl_lpool_set_wake_batch(pool, FL_MIN(size / 4, size - nsubs));
    fl_partition *p = fl_xcalloc(1, sizeof *p);
    p->net = net;
    snprintf(p->id, sizeof p->id, "%s", id);
    p->nsubs = nsubs;
    p->pool = pool;
    p->metrics = metrics ? metrics : &p->own_metrics;
    p->flush_always = buffer_timeout_ms == 0;
    p->timeout_ns = buffer_timeout_ms < 0 ? -1 : buffer_timeout_ms * 1000000;
    atomic_init(&p->refs, 2); /* producer + registry */
    atomic_init(&p->consumed_subs, 0);
    atomic_init(&p->failed, false);
    pthread_mutex_init(&p->err_lock, NULL);
    p->subs = fl_xcalloc((size_t)nsubs, sizeof *p->subs);
    for (int i = 0; i < nsubs; i++) {
        p->subs[i].part = p;
        p->subs[i].index = i;
        fl_net_mutex_init(&p->subs[i].lock);
    }
    if (fl_netenv_register(net, p, err) < 0) {
        atomic_store(&p->refs, 1);
        fl_partition_unref(p);
        return NULL;
    }
    return p;
}

int fl_partition_subpartitions(const fl_partition *p)
{
    return p->nsubs;
}

void fl_partition_ref(fl_partition *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void fl_partition_unref(fl_partition *p)
{
    if (atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    for (int i = 0; i < p->nsubs; i++) {
        fl_subpart *sp = &p->subs[i];
        fl_buf *b;
        while ((b = fl_bufq_pop(&sp->queue)))
            fl_buf_recycle(b);
        if (sp->cur)
            fl_buf_recycle(sp->cur);
        pthread_mutex_destroy(&sp->lock);
    }
    fl_lpool_close(p->pool);
    pthread_mutex_destroy(&p->err_lock);
    free(p->subs);
    free(p);
}

void fl_partition_release(fl_partition *p)
{
    if (p)
        fl_partition_unref(p);
}

const char *fl_partition_error(fl_partition *p)
{
    return p->error[0] ? p->error : "partition released";
}

void fl_partition_fail(fl_partition *p, const char *why)
{
    pthread_mutex_lock(&p->err_lock);
    bool first = !atomic_load(&p->failed);
    if (first) {
        snprintf(p->error, sizeof p->error, "%s", why);
        atomic_store(&p->failed, true);
    }
    pthread_mutex_unlock(&p->err_lock);
    if (!first)
        return;
    fl_lpool_interrupt(p->pool);
    for (int i = 0; i < p->nsubs; i++) {
        fl_subpart *sp = &p->subs[i];
        pthread_mutex_lock(&sp->lock);
        if (sp->reader && sp->reader->on_fail)
            sp->reader->on_fail(sp->reader, why);
        pthread_mutex_unlock(&sp->lock);
    }
}

/* Queues a finished buffer (producer thread). */
static void hand_over(fl_subpart *sp, fl_buf *b)
{
    pthread_mutex_lock(&sp->lock);
    bool was_empty = sp->queue.n == 0;
    fl_bufq_push(&sp->queue, b);
    if (was_empty && sp->reader)
        sp->reader->notify(sp->reader);
    pthread_mutex_unlock(&sp->lock);
}

static void flush_sub(fl_subpart *sp)
{
    fl_buf *b = sp->cur;
    if (b && b->len) {
        sp->cur = NULL;
        hand_over(sp, b);
    }
}

void fl_partition_flush(fl_partition *p)
{
    for (int i = 0; i < p->nsubs; i++)
        flush_sub(&p->subs[i]);
    p->dirty = false;
}

int64_t fl_partition_flush_if_due(fl_partition *p, int64_t now_ns)
{
    if (!p->dirty || p->timeout_ns < 0)
        return INT64_MAX;
    if (now_ns >= p->flush_deadline) {
        fl_partition_flush(p);
        return INT64_MAX;
    }
    return p->flush_deadline - now_ns;
}

bool fl_partition_has_free(const fl_partition *p)
{
    return fl_lpool_has_free(p->pool);
}

uint64_t fl_partition_await(fl_partition *p, struct pollfd *fds, int nfds, int timeout_ms)
{
    return fl_lpool_await(p->pool, fds, nfds, timeout_ms);
}

/* Issue 12 (outPoolUsage): the share of the partition's buffers taken. Any thread. */
float fl_partition_pool_usage(fl_partition *p)
{
    int size = fl_lpool_size(p->pool), nfree = fl_lpool_free_count(p->pool);
    return size > 0 && nfree < size ? (float)(size - nfree) / (float)size : 0;
}

int64_t fl_partition_waiting_ns(fl_partition *p)
{
    return fl_lpool_waiting_ns(p->pool);
}


/* A new current buffer for sp, waiting for one if needed. NULL when failed. */
static fl_buf *next_buffer(fl_partition *p, fl_subpart *sp)
{
    uint64_t waited = 0;
    fl_buf *b = fl_lpool_get(p->pool, &waited);
    if (waited)
        FL_METRIC_ADD(p->metrics, backpressure_ns, waited);
    if (!b || atomic_load_explicit(&p->failed, memory_order_relaxed)) {
        if (b)
            fl_buf_recycle(b);
        if (!atomic_load(&p->failed))
            fl_partition_fail(p, "partition released");
        return NULL;
    }
    b->kind = FL_BUF_DATA;
    b->flags = p->in_record ? FL_BUF_F_CONT : 0;
    /* where the next record may begin: after the rest of the one being written */
    b->first_rec = !p->in_record ? 0 : p->rec_left < b->cap ? p->rec_left : FL_BUF_NO_RECORD;
    sp->cur = b;
    if (!p->dirty && p->timeout_ns > 0) {
        p->dirty = true;
        p->flush_deadline = fl_mono_ns() + p->timeout_ns;
    }
    return b;
}

/* Copies n bytes into sp's buffers, finishing full ones. */
static int write_spanning(fl_partition *p, fl_subpart *sp, const uint8_t *src, uint32_t n)
{
    if (!n)
        return 0;
    while (n) {
        fl_buf *b = sp->cur;
        if (!b && !(b = next_buffer(p, sp)))
            return -1;
        uint32_t room = b->cap - b->len;
        uint32_t k = n < room ? n : room;
        memcpy(b->data + b->len, src, k);
        b->len += k;
        src += k;
        n -= k;
        p->rec_left -= k;
        if (b->len == b->cap) {
            sp->cur = NULL;
            hand_over(sp, b);
        }
    }
    return 0;
}

static int emit_slow(fl_partition *p, fl_subpart *sp, const void *hdr, uint32_t hlen,
                     const void *payload, uint32_t plen)
{
    uint8_t prefix[4];
    if (atomic_load_explicit(&p->failed, memory_order_relaxed))
        return -1;
    put32le(prefix, hlen + plen);
    if (!sp->cur && !next_buffer(p, sp)) /* the record starts at this buffer's start */
        return -1;
    p->in_record = true; /* buffers taken from here on (even for the prefix) continue it */
    p->rec_left = 4 + hlen + plen;
    int rc = write_spanning(p, sp, prefix, 4) < 0 || write_spanning(p, sp, hdr, hlen) < 0 ||
             write_spanning(p, sp, payload, plen) < 0;
    p->in_record = false;
    return rc ? -1 : 0;
}

int fl_partition_emit(fl_partition *p, int sub, const void *hdr, uint32_t hlen,
                      const void *payload, uint32_t plen)
{
    fl_subpart *sp = &p->subs[sub];
    fl_buf *b = sp->cur;
    uint32_t total = hlen + plen;
    FL_METRIC_ADD(p->metrics, records_out, 1);
    FL_METRIC_ADD(p->metrics, bytes_out, total + 4);
    if (FL_LIKELY(b && b->cap - b->len > total + 4)) {
        uint8_t *d = b->data + b->len;
        put32le(d, total);
        if (hlen)
            memcpy(d + 4, hdr, hlen);
        if (plen)
            memcpy(d + 4 + hlen, payload, plen);
        b->len += total + 4;
    } else if (emit_slow(p, sp, hdr, hlen, payload, plen) < 0) {
        return -1;
    }
    if (FL_UNLIKELY(p->flush_always))
        flush_sub(sp);
    return 0;
}

int fl_partition_broadcast(fl_partition *p, const void *hdr, uint32_t hlen, const void *payload,
                           uint32_t plen)
{
    for (int i = 0; i < p->nsubs; i++)
        if (fl_partition_emit(p, i, hdr, hlen, payload, plen) < 0)
            return -1;
    return 0;
}

static int event_to(fl_partition *p, fl_subpart *sp, uint8_t type, const void *payload,
                    uint32_t len)
{
    flush_sub(sp);
    fl_buf *b = next_buffer(p, sp);
    if (!b)
        return -1;
    sp->cur = NULL;
    b->kind = FL_BUF_EVENT;
    b->data[0] = type;
    if (len)
        memcpy(b->data + 1, payload, len);
    b->len = len + 1;
    hand_over(sp, b);
    return 0;
}

int fl_partition_emit_event(fl_partition *p, int sub, uint8_t type, const void *payload,
                            uint32_t len)
{
    if (len > FL_EVENT_MAX_PAYLOAD || atomic_load(&p->failed))
        return -1;
    if (sub >= 0)
        return event_to(p, &p->subs[sub], type, payload, len);
    for (int i = 0; i < p->nsubs; i++)
        if (event_to(p, &p->subs[i], type, payload, len) < 0)
            return -1;
    p->dirty = false;
    return 0;
}

/* Where a priority event goes in sp's queue (lock held): at its head, but never between
 * the parts of a record whose beginning the consumer has already taken, and what it
 * overtakes must begin with a record (it is replayed as output channel state into a fresh
 * consumer). So after the continuation that ends such a record: a buffer that holds that
 * end and the beginning of later records is split there, its tail moved into a buffer of
 * its own. With small records nearly every buffer continues one; walking past every such
 * buffer instead put the event behind all the queued data. NULL: at the head. */
static fl_buf *priority_slot(fl_subpart *sp)
{
    fl_buf *after = NULL;
    for (fl_buf *b = sp->queue.head; b && b->kind == FL_BUF_DATA && (b->flags & FL_BUF_F_CONT);
         b = b->next) {
        after = b;
        if (b->first_rec == FL_BUF_NO_RECORD)
            continue; /* all of it continues one record: the next buffer goes too */
        if (b->first_rec < b->len) {
            fl_buf *tail = fl_buf_heap_new(b->len - b->first_rec);
            memcpy(tail->data, b->data + b->first_rec, b->len - b->first_rec);
            tail->len = b->len - b->first_rec;
            tail->kind = FL_BUF_DATA;
            tail->flags = 0;
            tail->first_rec = 0;
            b->len = b->first_rec;
            fl_bufq_insert_after(&sp->queue, b, tail);
        }
        break;
    }
    return after;
}

int fl_partition_emit_priority(fl_partition *p, uint8_t type, const void *payload, uint32_t len,
                               void (*overtaken)(void *arg, int sub, const uint8_t *data,
                                                 uint32_t len),
                               void *arg)
{
    if (len > FL_EVENT_MAX_PAYLOAD || atomic_load(&p->failed))
        return -1;
    for (int i = 0; i < p->nsubs; i++) {
        fl_subpart *sp = &p->subs[i];
        flush_sub(sp); /* what is written so far is queued: overtaken, or finishing a record */
        fl_buf *ev = fl_buf_heap_new(len + 1);
        ev->kind = FL_BUF_PRIORITY;
        ev->data[0] = type;
        if (len)
            memcpy(ev->data + 1, payload, len);
        ev->len = len + 1;
        pthread_mutex_lock(&sp->lock);
        fl_bufq_insert_after(&sp->queue, priority_slot(sp), ev);
        for (fl_buf *b = ev->next; b; b = b->next)
            if (b->kind == FL_BUF_DATA && b->len)
                overtaken(arg, i, b->data, b->len);
        if (sp->reader)
            sp->reader->notify(sp->reader); /* a remote view must send it without credit */
        pthread_mutex_unlock(&sp->lock);
    }
    p->dirty = false;
    return 0;
}

int fl_partition_finish(fl_partition *p)
{
    return fl_partition_emit_event(p, -1, FL_EV_END_OF_PARTITION, NULL, 0);
}

/* ---- reader side ------------------------------------------------------------------ */

fl_buf *fl_subpart_poll(fl_subpart *sp, int *backlog)
{
    pthread_mutex_lock(&sp->lock);
    fl_buf *b = fl_bufq_pop(&sp->queue);
    bool eop = b && b->kind == FL_BUF_EVENT && b->data[0] == FL_EV_END_OF_PARTITION;
    if (eop)
        sp->consumed = true;
    if (backlog)
        *backlog = sp->queue.n;
    pthread_mutex_unlock(&sp->lock);
    if (eop)
        fl_partition_sub_consumed(sp->part);
    return b;
}

int fl_subpart_backlog(fl_subpart *sp)
{
    pthread_mutex_lock(&sp->lock);
    int n = sp->queue.n;
    pthread_mutex_unlock(&sp->lock);
    return n;
}

fl_buf *fl_subpart_poll_priority(fl_subpart *sp, int *backlog)
{
    fl_buf *b = NULL;
    pthread_mutex_lock(&sp->lock);
    if (sp->queue.head && sp->queue.head->kind == FL_BUF_PRIORITY)
        b = fl_bufq_pop(&sp->queue);
    if (backlog)
        *backlog = sp->queue.n;
    pthread_mutex_unlock(&sp->lock);
    return b;
}

int fl_subpart_attach(fl_subpart *sp, fl_subpart_reader *r, bool *has_data, char *why,
                      size_t whylen)
{
    fl_partition *p = sp->part;
    pthread_mutex_lock(&sp->lock);
    if (sp->claimed) {
        pthread_mutex_unlock(&sp->lock);
        snprintf(why, whylen, "subpartition %d of partition %s is already being consumed",
                 sp->index, p->id);
        return -1;
    }
    if (atomic_load(&p->failed)) {
        pthread_mutex_unlock(&sp->lock);
        snprintf(why, whylen, "partition %s failed: %s", p->id, fl_partition_error(p));
        return -1;
    }
    sp->claimed = true;
    sp->reader = r;
    fl_partition_ref(p);
    *has_data = sp->queue.n > 0;
    pthread_mutex_unlock(&sp->lock);
    return 0;
}

void fl_subpart_detach(fl_subpart *sp, fl_subpart_reader *r)
{
    fl_partition *p = sp->part;
    pthread_mutex_lock(&sp->lock);
    bool mine = sp->reader == r;
    if (mine)
        sp->reader = NULL;
    pthread_mutex_unlock(&sp->lock);
    if (mine)
        fl_partition_unref(p);
}

void fl_partition_sub_consumed(fl_partition *p)
{
    if (atomic_fetch_add(&p->consumed_subs, 1) + 1 == p->nsubs)
        fl_netenv_unregister(p->net, p);
}
