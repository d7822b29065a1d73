/* buffer.h -- network buffers: fixed-size memory segments, a bounded pool per TaskManager,
 * and local pools carved out of it for each producer and consumer.
 *
 * Memory is bounded by configuration, never by input: the TaskManager's pool is sized once
 * (taskmanager.network.numberOfBuffers, or network.fraction of process.size clamped to
 * network.min/.max) and a local pool reserves a fixed number of its segments when a task
 * starts. Asking for more than is left fails with Flink's "Insufficient number of network
 * buffers" message. A buffer knows its owner and goes back to it on fl_buf_recycle, from
 * whichever thread is done with it. Locks are taken per buffer (32 KiB), never per record.
 */
#ifndef FL_NET_BUFFER_H
#define FL_NET_BUFFER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"

/* PRIORITY: an event that overtakes queued data (unaligned checkpoint barriers). */
enum fl_buf_kind { FL_BUF_DATA = 0, FL_BUF_EVENT = 1, FL_BUF_PRIORITY = 2 };
/* A data buffer whose first bytes continue a record begun in the previous buffer. */
#define FL_BUF_F_CONT 1
#define FL_BUF_NO_RECORD UINT32_MAX

typedef struct fl_buf fl_buf;
typedef struct fl_buf_owner fl_buf_owner;

/* Where a buffer returns when recycled. */
struct fl_buf_owner {
    void (*recycle)(fl_buf_owner *owner, fl_buf *b);
};

struct fl_buf {
    fl_buf *next;        /* queue link, used by whoever holds the buffer */
    uint8_t *data;
    uint32_t len;        /* bytes written */
    uint32_t cap;        /* segment size */
    uint8_t kind;        /* enum fl_buf_kind */
    uint8_t flags;       /* FL_BUF_F_* */
    uint32_t first_rec;  /* producer side: offset of the first record that begins here
                          * (FL_BUF_NO_RECORD: none, the buffer continues one record) */
    fl_buf_owner *owner;
};

/* The data plane's locks are held for a few instructions by two threads at a time (a task
 * and the network thread, per buffer): an adaptive mutex spins briefly on contention instead
 * of sleeping in futex(2) at once. */
static inline void fl_net_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

/* A buffer outside any pool (priority events): freed when recycled. */
fl_buf *fl_buf_heap_new(uint32_t cap);

static inline void fl_buf_recycle(fl_buf *b)
{
    b->len = 0;
    b->kind = FL_BUF_DATA;
    b->flags = 0;
    b->owner->recycle(b->owner, b);
}

/* A FIFO of buffers (not locked: the holder's lock protects it). */
typedef struct fl_buf_queue {
    fl_buf *head, *tail;
    int n;
} fl_buf_queue;

static inline void fl_bufq_push(fl_buf_queue *q, fl_buf *b)
{
    b->next = NULL;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    q->n++;
}

static inline void fl_bufq_push_front(fl_buf_queue *q, fl_buf *b)
{
    b->next = q->head;
    q->head = b;
    if (!q->tail)
        q->tail = b;
    q->n++;
}

/* Inserts b after `after` (NULL: at the front). */
static inline void fl_bufq_insert_after(fl_buf_queue *q, fl_buf *after, fl_buf *b)
{
    if (!after) {
        fl_bufq_push_front(q, b);
        return;
    }
    b->next = after->next;
    after->next = b;
    if (q->tail == after)
        q->tail = b;
    q->n++;
}

static inline fl_buf *fl_bufq_pop(fl_buf_queue *q)
{
    fl_buf *b = q->head;
    if (b) {
        q->head = b->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
        b->next = NULL;
    }
    return b;
}

/* ---- the TaskManager's pool ------------------------------------------------------- */

typedef struct fl_netpool fl_netpool;

/* The number of buffers the configuration asks for (see the file comment). */
int64_t fl_netpool_configured_count(const fl_conf *conf);
fl_netpool *fl_netpool_new(int64_t nbufs, uint32_t segment_size, fl_err *err);
/* Frees the pool; every local pool must have been freed and its buffers recycled. */
void fl_netpool_free(fl_netpool *pool);
uint32_t fl_netpool_segment_size(const fl_netpool *pool);
int64_t fl_netpool_total(const fl_netpool *pool);
/* Segments not reserved by any local pool. */
int64_t fl_netpool_available(fl_netpool *pool);

/* Checks the pool's invariants (listed in buffer.c): 0, or -1 with the first one broken
 * in err. For tests, after mutations; takes the pool's lock. */
int fl_netpool_validate(fl_netpool *pool, fl_err *err);

/* ---- local pools ------------------------------------------------------------------ */

typedef struct fl_lpool fl_lpool;

/* Reserves `target` buffers, or as many as are left but at least `required`; fails with
 * Flink's message when fewer than `required` are left. The size never changes after. */
fl_lpool *fl_lpool_new(fl_netpool *pool, int required, int target, const char *owner_name,
                       fl_err *err);
/* A free buffer, or NULL when all are in use (never blocks). */
fl_buf *fl_lpool_try_get(fl_lpool *lp);
/* Waits for a free buffer; NULL when interrupted (fl_lpool_interrupt). Adds the time spent
 * waiting to *waited_ns when not NULL (backpressure). */
fl_buf *fl_lpool_get(fl_lpool *lp, uint64_t *waited_ns);
/* How long a fl_lpool_get has been waiting so far, 0 when none waits: the backpressure not
 * yet in waited_ns, for a metrics sampler on another thread (issue 12). */
int64_t fl_lpool_waiting_ns(fl_lpool *lp);
/* A blocked fl_lpool_get wakes once `batch` buffers are free rather than at the first one:
 * fewer context switches under backpressure. The caller must keep at least `batch`
 * buffers recyclable while it waits (the default, 1, is always safe). */
void fl_lpool_set_wake_batch(fl_lpool *lp, int batch);
/* Wakes every waiter and makes future waits return NULL at once (cancel or failure). */
void fl_lpool_interrupt(fl_lpool *lp);
/* Whether a buffer is free, without the lock (a hint: it may change at once). For the
 * producing task's check before each record (fl_lpool_await). */
bool fl_lpool_has_free(const fl_lpool *lp);
/* Waits, without taking a buffer, until the pool has its wake batch free again, one of
 * fds (at most 7; their revents are set) is readable, the pool is interrupted or
 * timeout_ms passed; returns at once when a buffer is free. A task that must stay
 * responsive to its mailbox waits here between records instead of blocking inside one
 * in fl_lpool_get (Flink's output availability). Counts as waiting for
 * fl_lpool_waiting_ns; returns the ns waited. Only the pool's producer calls it. */
struct pollfd;
uint64_t fl_lpool_await(fl_lpool *lp, struct pollfd *fds, int nfds, int timeout_ms);
int fl_lpool_size(const fl_lpool *lp);
int fl_lpool_free_count(fl_lpool *lp);
/* Checks the local pool's invariants (listed in buffer.c): 0, or -1 with the first one
 * broken in err. For tests; takes the pool's lock. */
int fl_lpool_validate(fl_lpool *lp, fl_err *err);
/* Closes: segments go back to the TaskManager's pool as they are recycled; the local pool
 * disappears when the last one is back. NULL is a no-op. */
void fl_lpool_close(fl_lpool *lp);

#endif
