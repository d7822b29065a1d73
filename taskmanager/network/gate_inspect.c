/* gate_inspect.c -- looking into an input gate from outside its reader: its credit and pool
 * usage (metrics, tests), and fl_gate_validate (network.h), its invariants, checked by the
 * tests after every mutation. */
#include "common/util.h"
#include "network_internal.h"

#include <pthread.h>

int fl_gate_channel_credit(fl_gate *g, int channel, int *free_buffers)
{
    fl_chan *c = &g->ch[channel];
    if (c->local)
        return -1;
    pthread_mutex_lock(&g->lock);
    int credit = c->announced;
    if (free_buffers)
        *free_buffers = c->nfree;
    pthread_mutex_unlock(&g->lock);
    return credit;
}

/* Issue 12 (inPoolUsage): the share of the gate's buffers holding data, 0 with only local
 * channels (they read the producer's buffers). Any thread, once started; under the lock. */
float fl_gate_pool_usage(fl_gate *g)
{
    if (!g->started || !g->lpool)
        return 0;
    int total = fl_lpool_size(g->lpool), free_bufs = 0;
    pthread_mutex_lock(&g->lock);
    free_bufs = g->nfloat_free;
    for (int i = 0; i < g->n; i++)
        free_bufs += g->ch[i].local ? 0 : g->ch[i].nfree;
    pthread_mutex_unlock(&g->lock);
    return total > 0 && free_bufs < total ? (float)(total - free_bufs) / (float)total : 0;
}

/* ---- invariants (for tests) ------------------------------------------------------------
 *  1. the ready ring holds rcount distinct channels, exactly those marked in_ready;
 *  2. a parked channel is blocked and not in the ring (unblocking re-queues it);
 *  3. a remote channel's free buffers are its credit: nfree = announced + unannounced,
 *     neither negative, its free list nfree long, each buffer its own exclusive one or a
 *     floating one of the gate; a local channel holds none;
 *  4. the gate's free floating buffers are nfloat_free, each owned by the gate's floating
 *     set;
 *  5. a channel's received queue is as long as it says, and ends at its tail;
 *  6. (task thread) finished counts the channels that delivered END_OF_PARTITION; the
 *     channel being read is one of the gate's. */
static int chan_valid(const fl_gate *g, const fl_chan *c, fl_err *err)
{
    int n = 0;
    const fl_buf *b, *last = NULL;
    if (c->parked && (!c->blocked || c->in_ready)) {
        fl_err_set(err, "%s: channel %d parked but %s", g->name, c->idx,
                   c->in_ready ? "ready" : "not blocked");
        return -1;
    }
    for (b = c->received.head; b && n <= c->received.n; b = b->next, n++)
        last = b;
    if (n != c->received.n || last != c->received.tail) {
        fl_err_set(err, "%s: channel %d holds %d received buffers, says %d", g->name, c->idx,
                   n, c->received.n);
        return -1;
    }
    n = 0;
    for (b = c->free_list; b && n <= c->nfree; b = b->next, n++)
        if (b->owner != &c->excl_owner && b->owner != &g->float_owner) {
            fl_err_set(err, "%s: channel %d holds a free buffer it does not own", g->name,
                       c->idx);
            return -1;
        }
    if (n != c->nfree || c->announced < 0 || c->unannounced < 0 ||
        c->nfree != c->announced + c->unannounced || (c->local && c->nfree)) {
        fl_err_set(err, "%s: channel %d: %d free buffers listed, %d free = %d announced + %d "
                        "unannounced",
                   g->name, c->idx, n, c->nfree, c->announced, c->unannounced);
        return -1;
    }
    return 0;
}

int fl_gate_validate(fl_gate *g, fl_err *err)
{
    int rc = 0, ready = 0, eop = 0, nfloat = 0;
    pthread_mutex_lock(&g->lock);
    if (g->rcount < 0 || g->rcount > g->n) {
        fl_err_set(err, "%s: %d ready channels of %d", g->name, g->rcount, g->n);
        rc = -1;
    }
    for (int k = 0; !rc && k < g->rcount; k++) {
        int idx = g->ring[(g->rhead + k) % g->n];
        if (idx < 0 || idx >= g->n || !g->ch[idx].in_ready) {
            fl_err_set(err, "%s: ready ring holds %d, not a ready channel", g->name, idx);
            rc = -1;
        }
        for (int j = 0; !rc && j < k; j++)
            if (g->ring[(g->rhead + j) % g->n] == idx) {
                fl_err_set(err, "%s: channel %d twice in the ready ring", g->name, idx);
                rc = -1;
            }
    }
    for (int i = 0; !rc && i < g->n; i++) {
        ready += g->ch[i].in_ready;
        eop += g->ch[i].eop;
        rc = chan_valid(g, &g->ch[i], err);
    }
    if (!rc && ready != g->rcount) {
        fl_err_set(err, "%s: %d channels marked ready, %d in the ring", g->name, ready,
                   g->rcount);
        rc = -1;
    }
    for (const fl_buf *b = g->float_free; !rc && b && nfloat <= g->nfloat_free; b = b->next) {
        nfloat++;
        if (b->owner != &g->float_owner) {
            fl_err_set(err, "%s: a free floating buffer owned by another", g->name);
            rc = -1;
        }
    }
    if (!rc && nfloat != g->nfloat_free) {
        fl_err_set(err, "%s: %d free floating buffers listed, says %d", g->name, nfloat,
                   g->nfloat_free);
        rc = -1;
    }
    pthread_mutex_unlock(&g->lock);
    if (!rc && (eop != g->finished || g->cur < -1 || g->cur >= g->n)) {
        fl_err_set(err, "%s: %d channels ended, says %d (reading %d)", g->name, eop,
                   g->finished, g->cur);
        rc = -1;
    }
    return rc;
}
