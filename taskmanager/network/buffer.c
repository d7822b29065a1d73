/* buffer.c -- see buffer.h. The pools are shared by task threads and the network thread;
 * each has one mutex, taken once per buffer. */
#include "buffer.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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
    int notify_fd;
};

static void lpool_destroy(fl_lpool *lp)
{
    pthread_mutex_destroy(&lp->lock);
    pthread_cond_destroy(&lp->cond);
    free(lp);
}

static void lpool_recycle(fl_buf_owner *owner, fl_buf *b)
{
    fl_lpool *lp = (fl_lpool *)owner;
    pthread_mutex_lock(&lp->lock);
    if (lp->closed) {
        bool last = --lp->size == 0;
        pthread_mutex_unlock(&lp->lock);
        b->owner = NULL;
        netpool_put(lp->pool, b);
        if (last)
            lpool_destroy(lp);
        return;
    }
    b->next = lp->free_list;
    lp->free_list = b;
    lp->nfree++;
    if (lp->waiters && lp->nfree == lp->wake_at)
        pthread_cond_broadcast(&lp->cond);
    if (lp->nfree == 1) {
        if (lp->notify_fd >= 0) {
            uint64_t one = 1;
            ssize_t w = write(lp->notify_fd, &one, sizeof one);
            (void)w;
        }
    }
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
    pthread_mutex_init(&lp->lock, NULL);
    pthread_cond_init(&lp->cond, NULL);
    lp->size = lp->nfree = n;
    lp->wake_at = 1;
    lp->notify_fd = -1;
    return lp;
}

fl_buf *fl_lpool_try_get(fl_lpool *lp)
{
    pthread_mutex_lock(&lp->lock);
    fl_buf *b = lp->free_list;
    if (b) {
        lp->free_list = b->next;
        lp->nfree--;
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
        while (lp->nfree < lp->wake_at && !lp->interrupted)
            pthread_cond_wait(&lp->cond, &lp->lock);
        lp->waiters--;
        if (waited_ns)
            *waited_ns += (uint64_t)(fl_mono_ns() - t0);
    }
    fl_buf *b = lp->interrupted ? NULL : lp->free_list;
    if (b) {
        lp->free_list = b->next;
        lp->nfree--;
        b->next = NULL;
        b->len = 0;
    }
    pthread_mutex_unlock(&lp->lock);
    return b;
}

void fl_lpool_interrupt(fl_lpool *lp)
{
    pthread_mutex_lock(&lp->lock);
    lp->interrupted = true;
    pthread_cond_broadcast(&lp->cond);
    if (lp->notify_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(lp->notify_fd, &one, sizeof one);
        (void)w;
    }
    pthread_mutex_unlock(&lp->lock);
}

void fl_lpool_set_wake_batch(fl_lpool *lp, int batch)
{
    pthread_mutex_lock(&lp->lock);
    lp->wake_at = batch < 1 ? 1 : batch > lp->size ? lp->size : batch;
    pthread_mutex_unlock(&lp->lock);
}

void fl_lpool_set_notify_fd(fl_lpool *lp, int fd)
{
    pthread_mutex_lock(&lp->lock);
    lp->notify_fd = fd;
    pthread_mutex_unlock(&lp->lock);
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
    lp->notify_fd = -1;
    pthread_cond_broadcast(&lp->cond);
    fl_buf *b = lp->free_list;
    lp->free_list = NULL;
    lp->size -= lp->nfree;
    lp->nfree = 0;
    bool last = lp->size == 0;
    pthread_mutex_unlock(&lp->lock);
    while (b) {
        fl_buf *next = b->next;
        b->owner = NULL;
        netpool_put(lp->pool, b);
        b = next;
    }
    if (last)
        lpool_destroy(lp);
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
