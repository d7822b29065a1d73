/* buffer.c -- see buffer.h. The pools are shared by task threads and the network thread;
 * each has one mutex, taken once per buffer. */
#include "buffer.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct fl_netpool {
    pthread_mutex_t lock;
    uint8_t *memory;     /* nbufs * segment, mapped lazily by the kernel */
    size_t memory_len;
    fl_buf *descs;
    fl_buf *free_list;   /* under lock */
    int64_t total, available;
    uint32_t segment;
};

int64_t fl_netpool_configured_count(const fl_conf *conf)
{
    int64_t seg = fl_conf_get_bytes(conf, "taskmanager.memory.segment-size");
    if (fl_conf_contains(conf, "taskmanager.network.numberOfBuffers"))
        return fl_conf_get_int(conf, "taskmanager.network.numberOfBuffers");
    double bytes = (double)fl_conf_get_bytes(conf, "taskmanager.memory.process.size") *
                   fl_conf_get_double(conf, "taskmanager.memory.network.fraction");
    int64_t lo = fl_conf_get_bytes(conf, "taskmanager.memory.network.min");
    int64_t hi = fl_conf_get_bytes(conf, "taskmanager.memory.network.max");
    int64_t b = (int64_t)bytes;
    b = b < lo ? lo : b > hi ? hi : b;
    return seg > 0 ? b / seg : 0;
}

fl_netpool *fl_netpool_new(int64_t nbufs, uint32_t segment_size, fl_err *err)
{
    if (segment_size < 4096 || segment_size > (64u << 20) || nbufs < 1 || nbufs > (1 << 24)) {
        fl_err_set(err, "invalid network memory: %lld buffers of %u bytes (segment size must be "
                        "4kb..64mb, at least 1 buffer)",
                   (long long)nbufs, segment_size);
        return NULL;
    }
    fl_netpool *p = fl_xcalloc(1, sizeof *p);
    p->memory_len = (size_t)nbufs * segment_size;
    p->memory = mmap(NULL, p->memory_len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p->memory == MAP_FAILED) {
        fl_err_set(err, "cannot map %zu bytes of network memory: %s", p->memory_len,
                   strerror(errno));
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->descs = fl_xcalloc((size_t)nbufs, sizeof *p->descs);
    for (int64_t i = nbufs - 1; i >= 0; i--) {
        fl_buf *b = &p->descs[i];
        b->data = p->memory + (size_t)i * segment_size;
        b->cap = segment_size;
        b->next = p->free_list;
        p->free_list = b;
    }
    p->total = p->available = nbufs;
    p->segment = segment_size;
    return p;
}

void fl_netpool_free(fl_netpool *p)
{
    if (!p)
        return;
    if (p->available != p->total)
        fl_warn("network buffer pool freed with %lld of %lld buffers still reserved",
                (long long)(p->total - p->available), (long long)p->total);
    munmap(p->memory, p->memory_len);
    free(p->descs);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

uint32_t fl_netpool_segment_size(const fl_netpool *p)
{
    return p->segment;
}

int64_t fl_netpool_total(const fl_netpool *p)
{
    return p->total;
}

int64_t fl_netpool_available(fl_netpool *p)
{
    pthread_mutex_lock(&p->lock);
    int64_t n = p->available;
    pthread_mutex_unlock(&p->lock);
    return n;
}

static void netpool_put(fl_netpool *p, fl_buf *b)
{
    pthread_mutex_lock(&p->lock);
    b->next = p->free_list;
    p->free_list = b;
    p->available++;
    pthread_mutex_unlock(&p->lock);
}

/* ---- local pools ------------------------------------------------------------------ */

struct fl_lpool {
    fl_buf_owner owner; /* first: buffers point here */
    fl_netpool *pool;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    fl_buf *free_list;
    int size;           /* buffers belonging to this pool (free or out) */
    int nfree;
    int waiters;        /* threads blocked in fl_lpool_get */
    int wake_at;        /* wake them once this many are free: a batch, not one by one */
    bool closed, interrupted;
    int avail_fd;        /* eventfd of fl_lpool_await, made at its first use, or -1 */
    int fd_waiters;      /* tasks in fl_lpool_await */
    atomic_int free_hint; /* nfree, for a lock-free look (fl_lpool_has_free) */
    int64_t wait_since_ns; /* while a fl_lpool_get waits: when it began (metrics), else 0 */
};

static void lpool_destroy(fl_lpool *lp)
{
    if (lp->avail_fd >= 0)
        close(lp->avail_fd);
    pthread_mutex_destroy(&lp->lock);
    pthread_cond_destroy(&lp->cond);
    free(lp);
}

static void wake_fd(int fd)
{
    uint64_t one = 1;
    if (fd >= 0) {
        ssize_t w = write(fd, &one, sizeof one);
        (void)w;
    }
}

static void lpool_recycle(fl_buf_owner *owner, fl_buf *b)
{
    fl_lpool *lp = (fl_lpool *)owner;
    pthread_mutex_lock(&lp->lock);
    if (lp->closed) {
        /* once unlocked, lp may be freed by the recycler of its last buffer: nothing of it
         * is read after the unlock but by the one that frees it */
        bool last = --lp->size == 0;
        fl_netpool *np = lp->pool;
        pthread_mutex_unlock(&lp->lock);
        b->owner = NULL;
        netpool_put(np, b);
        if (last)
            lpool_destroy(lp);
        return;
    }
    b->next = lp->free_list;
    lp->free_list = b;
    lp->nfree++;
    atomic_store_explicit(&lp->free_hint, lp->nfree, memory_order_relaxed);
    if (lp->waiters && lp->nfree == lp->wake_at)
        pthread_cond_broadcast(&lp->cond);
    if (lp->fd_waiters && lp->nfree == lp->wake_at)
        wake_fd(lp->avail_fd);
    pthread_mutex_unlock(&lp->lock);
}

fl_lpool *fl_lpool_new(fl_netpool *pool, int required, int target, const char *owner_name,
                       fl_err *err)
{
    if (target < required)
        target = required;
    pthread_mutex_lock(&pool->lock);
    if (pool->available < required) {
        int64_t avail = pool->available;
        pthread_mutex_unlock(&pool->lock);
        fl_err_set(err,
                   "Insufficient number of network buffers: required %d, but only %lld "
                   "available (for %s). The total number of network buffers is currently set to "
                   "%lld of %u bytes each. You can increase this number by setting the "
                   "configuration keys 'taskmanager.memory.network.fraction', "
                   "'taskmanager.memory.network.min', and 'taskmanager.memory.network.max' (or "
                   "'taskmanager.network.numberOfBuffers').",
                   required, (long long)avail, owner_name, (long long)pool->total, pool->segment);
        return NULL;
    }
    int n = (int)FL_MIN((int64_t)target, pool->available);
    fl_lpool *lp = fl_xcalloc(1, sizeof *lp);
    for (int i = 0; i < n; i++) {
        fl_buf *b = pool->free_list;
        pool->free_list = b->next;
        b->owner = &lp->owner;
        b->next = lp->free_list;
        lp->free_list = b;
    }
    pool->available -= n;
    pthread_mutex_unlock(&pool->lock);
    lp->owner.recycle = lpool_recycle;
    lp->pool = pool;
    fl_net_mutex_init(&lp->lock);
    pthread_cond_init(&lp->cond, NULL);
    lp->size = lp->nfree = n;
    atomic_init(&lp->free_hint, n);
    lp->wake_at = 1;
    lp->avail_fd = -1;
    return lp;
}

fl_buf *fl_lpool_try_get(fl_lpool *lp)
{
    pthread_mutex_lock(&lp->lock);
    fl_buf *b = lp->free_list;
    if (b) {
        lp->free_list = b->next;
        lp->nfree--;
        atomic_store_explicit(&lp->free_hint, lp->nfree, memory_order_relaxed);
        b->next = NULL;
        b->len = 0;
    }
    pthread_mutex_unlock(&lp->lock);
    return b;
}

fl_buf *fl_lpool_get(fl_lpool *lp, uint64_t *waited_ns)
{
    pthread_mutex_lock(&lp->lock);
    if (!lp->free_list && !lp->interrupted) {
        int64_t t0 = fl_mono_ns();
        lp->waiters++;
        lp->wait_since_ns = t0;
        while (lp->nfree < lp->wake_at && !lp->interrupted)
            pthread_cond_wait(&lp->cond, &lp->lock);
        lp->waiters--;
        lp->wait_since_ns = 0;
        if (waited_ns)
            *waited_ns += (uint64_t)(fl_mono_ns() - t0);
    }
    fl_buf *b = lp->interrupted ? NULL : lp->free_list;
    if (b) {
        lp->free_list = b->next;
        lp->nfree--;
        atomic_store_explicit(&lp->free_hint, lp->nfree, memory_order_relaxed);
        b->next = NULL;
        b->len = 0;
    }
    pthread_mutex_unlock(&lp->lock);
    return b;
}

int64_t fl_lpool_waiting_ns(fl_lpool *lp)
{
    pthread_mutex_lock(&lp->lock);
    int64_t since = lp->wait_since_ns;
    pthread_mutex_unlock(&lp->lock);
    return since ? fl_mono_ns() - since : 0;
}

void fl_lpool_interrupt(fl_lpool *lp)
{
    pthread_mutex_lock(&lp->lock);
    lp->interrupted = true;
    pthread_cond_broadcast(&lp->cond);
    if (lp->fd_waiters)
        wake_fd(lp->avail_fd);
    pthread_mutex_unlock(&lp->lock);
}

void fl_lpool_set_wake_batch(fl_lpool *lp, int batch)
{
    pthread_mutex_lock(&lp->lock);
    lp->wake_at = batch < 1 ? 1 : batch > lp->size ? lp->size : batch;
    pthread_mutex_unlock(&lp->lock);
}

bool fl_lpool_has_free(const fl_lpool *lp)
{
    return atomic_load_explicit(&lp->free_hint, memory_order_relaxed) > 0;
}

uint64_t fl_lpool_await(fl_lpool *lp, struct pollfd *fds, int nfds, int timeout_ms)
{
    pthread_mutex_lock(&lp->lock);
    if (lp->nfree > 0 || lp->interrupted || lp->closed) {
        pthread_mutex_unlock(&lp->lock);
        return 0;
    }
    if (lp->avail_fd < 0)
        lp->avail_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int64_t t0 = fl_mono_ns();
    lp->fd_waiters++;
    lp->wait_since_ns = t0;
    int fd = lp->avail_fd;
    pthread_mutex_unlock(&lp->lock);
    /* the pool's eventfd first, then the caller's (its mailbox, priority events) */
    struct pollfd all[8];
    int n = 0;
    all[n++] = (struct pollfd){fd, POLLIN, 0};
    for (int i = 0; i < nfds && n < (int)FL_ARRAY_LEN(all); i++)
        all[n++] = fds[i];
    poll(all, (nfds_t)n, timeout_ms);
    for (int i = 1; i < n; i++)
        fds[i - 1].revents = all[i].revents;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v); /* written again by the next wake */
    (void)r;
    pthread_mutex_lock(&lp->lock);
    lp->fd_waiters--;
    if (!lp->waiters)
        lp->wait_since_ns = 0;
    pthread_mutex_unlock(&lp->lock);
    return (uint64_t)(fl_mono_ns() - t0);
}

int fl_lpool_size(const fl_lpool *lp)
{
    return lp->size;
}

int fl_lpool_free_count(fl_lpool *lp)
{
    pthread_mutex_lock(&lp->lock);
    int n = lp->nfree;
    pthread_mutex_unlock(&lp->lock);
    return n;
}

void fl_lpool_close(fl_lpool *lp)
{
    if (!lp)
        return;
    pthread_mutex_lock(&lp->lock);
    lp->closed = lp->interrupted = true;
    pthread_cond_broadcast(&lp->cond);
    if (lp->fd_waiters)
        wake_fd(lp->avail_fd);
    fl_buf *b = lp->free_list;
    lp->free_list = NULL;
    lp->size -= lp->nfree;
    lp->nfree = 0;
    atomic_store_explicit(&lp->free_hint, 0, memory_order_relaxed);
    bool last = lp->size == 0;
    fl_netpool *np = lp->pool; /* lp may be freed by a recycler once unlocked (see there) */
    pthread_mutex_unlock(&lp->lock);
    while (b) {
        fl_buf *next = b->next;
        b->owner = NULL;
        netpool_put(np, b);
        b = next;
    }
    if (last)
        lpool_destroy(lp);
}

/* ---- invariants (for tests) ------------------------------------------------------------
 * The TaskManager's pool:
 *  1. its free list holds `available` distinct buffers of its own segments, each of the
 *     segment size and owned by no local pool; 0 <= available <= total.
 * A local pool:
 *  2. its free list holds nfree distinct buffers of its TaskManager's pool, each owned by
 *     it; 0 <= nfree <= size;
 *  3. a batch wake-up waits for at most all of its buffers (1 <= wake_at <= max(size, 1));
 *  4. a closed pool holds no free buffer and is interrupted. */
static int check_segment(const fl_netpool *p, const fl_buf *b, const char *what, fl_err *err)
{
    size_t off = (size_t)(b->data - p->memory);
    if (b < p->descs || b >= p->descs + p->total || b->data < p->memory ||
        off >= p->memory_len || off % p->segment || b->cap != p->segment ||
        b->data != p->memory + (size_t)(b - p->descs) * p->segment) {
        fl_err_set(err, "%s: a free buffer that is not a segment of the pool", what);
        return -1;
    }
    return 0;
}

/* Counts the list, each buffer once (seen: total bytes, zeroed); -1 on a repeat. */
static int64_t count_list(const fl_netpool *p, const fl_buf *b, uint8_t *seen,
                          const fl_buf_owner *owner, const char *what, fl_err *err)
{
    int64_t n = 0;
    for (; b; b = b->next, n++) {
        if (check_segment(p, b, what, err) < 0)
            return -1;
        size_t i = (size_t)(b - p->descs);
        if (seen[i]++ || n > p->total) {
            fl_err_set(err, "%s: buffer %zu twice on the free list", what, i);
            return -1;
        }
        if (b->owner != owner) {
            fl_err_set(err, "%s: free buffer %zu owned by another", what, i);
            return -1;
        }
    }
    return n;
}

int fl_netpool_validate(fl_netpool *p, fl_err *err)
{
    uint8_t *seen = fl_xcalloc((size_t)p->total, 1);
    pthread_mutex_lock(&p->lock);
    int64_t n = count_list(p, p->free_list, seen, NULL, "network pool", err);
    int rc = n < 0 ? -1 : 0;
    if (!rc && (n != p->available || p->available < 0 || p->available > p->total)) {
        fl_err_set(err, "network pool: %lld free buffers listed, %lld available of %lld",
                   (long long)n, (long long)p->available, (long long)p->total);
        rc = -1;
    }
    pthread_mutex_unlock(&p->lock);
    free(seen);
    return rc;
}

int fl_lpool_validate(fl_lpool *lp, fl_err *err)
{
    uint8_t *seen = fl_xcalloc((size_t)lp->pool->total, 1);
    pthread_mutex_lock(&lp->lock);
    int64_t n = count_list(lp->pool, lp->free_list, seen, &lp->owner, "local pool", err);
    int rc = n < 0 ? -1 : 0;
    if (!rc && (n != lp->nfree || lp->nfree < 0 || lp->nfree > lp->size)) {
        fl_err_set(err, "local pool: %lld free buffers listed, %d free of %d", (long long)n,
                   lp->nfree, lp->size);
        rc = -1;
    } else if (!rc && (lp->wake_at < 1 || lp->wake_at > FL_MAX(lp->size, 1) ||
                       lp->waiters < 0)) {
        fl_err_set(err, "local pool: wakes %d waiters at %d free of %d", lp->waiters,
                   lp->wake_at, lp->size);
        rc = -1;
    } else if (!rc && lp->closed && (lp->nfree || !lp->interrupted)) {
        fl_err_set(err, "local pool: closed with %d free buffers", lp->nfree);
        rc = -1;
    }
    pthread_mutex_unlock(&lp->lock);
    free(seen);
    return rc;
}

/* ---- heap buffers (priority events) ----------------------------------------------- */

static void heap_recycle(fl_buf_owner *owner, fl_buf *b)
{
    free(b);
}

static fl_buf_owner heap_owner = {heap_recycle};

fl_buf *fl_buf_heap_new(uint32_t cap)
{
    fl_buf *b = fl_xcalloc(1, sizeof *b + cap);
    b->data = (uint8_t *)(b + 1);
    b->cap = cap;
    b->owner = &heap_owner;
    return b;
}
