/* mailbox.c -- see mailbox.h. */
#include "mailbox.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

typedef struct mail {
    struct mail *next;
    fl_mail_fn fn;
    void *arg;
    fl_free_fn drop;
} mail;

struct fl_mailbox {
    pthread_mutex_t lock;
    mail *head, *tail;  /* under lock */
    bool closed;        /* under lock */
    atomic_int pending; /* mirrors head != NULL, read without the lock */
    int efd;
};

fl_mailbox *fl_mailbox_new(void)
{
    fl_mailbox *mb = fl_xcalloc(1, sizeof *mb);
    pthread_mutex_init(&mb->lock, NULL);
    mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mb->efd < 0) {
        fl_error("eventfd() failed: %s", strerror(errno));
        pthread_mutex_destroy(&mb->lock);
        free(mb);
        return NULL;
    }
    return mb;
}

static void drop_all(mail *m)
{
    while (m) {
        mail *next = m->next;
        if (m->drop)
            m->drop(m->arg);
        free(m);
        m = next;
    }
}

void fl_mailbox_close(fl_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mb->closed = true;
    pthread_mutex_unlock(&mb->lock);
}

void fl_mailbox_free(fl_mailbox *mb)
{
    if (!mb)
        return;
    pthread_mutex_lock(&mb->lock);
    mb->closed = true;
    mail *m = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->lock);
    drop_all(m);
    close(mb->efd);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

int fl_mailbox_post(fl_mailbox *mb, fl_mail_fn fn, void *arg, fl_free_fn drop)
{
    mail *m = fl_xmalloc(sizeof *m);
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    m->drop = drop;
    pthread_mutex_lock(&mb->lock);
    if (mb->closed) {
        pthread_mutex_unlock(&mb->lock);
        if (drop)
            drop(arg);
        free(m);
        return -1;
    }
    bool was_empty = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    if (was_empty) {
        atomic_store_explicit(&mb->pending, 1, memory_order_release);
        uint64_t one = 1;
        ssize_t w = write(mb->efd, &one, sizeof one);
        (void)w; /* only fails when the counter is saturated, which means already readable */
    }
    pthread_mutex_unlock(&mb->lock);
    return 0;
}

int fl_mailbox_run(fl_mailbox *mb, void *ctx)
{
    pthread_mutex_lock(&mb->lock);
    mail *m = mb->head;
    mb->head = mb->tail = NULL;
    atomic_store_explicit(&mb->pending, 0, memory_order_relaxed);
    uint64_t v;
    ssize_t r = read(mb->efd, &v, sizeof v);
    (void)r;
    pthread_mutex_unlock(&mb->lock);
    int n = 0;
    while (m) {
        mail *next = m->next;
        m->fn(ctx, m->arg);
        free(m);
        m = next;
        n++;
    }
    return n;
}

int fl_mailbox_fd(const fl_mailbox *mb)
{
    return mb->efd;
}

bool fl_mailbox_has_mail(fl_mailbox *mb)
{
    return atomic_load_explicit(&mb->pending, memory_order_acquire) != 0;
}

/* ---- endpoints -------------------------------------------------------------------- */

struct fl_endpoint {
    char name[32];
    struct event_base *base;
    fl_mailbox *mb;
    struct event *mail_ev;
    pthread_t thread;
    bool running;
    int nice;
    void *ctx;
};

static void on_mail(evutil_socket_t fd, short what, void *arg)
{
    fl_endpoint *ep = arg;
    fl_mailbox_run(ep->mb, ep->ctx);
}

fl_endpoint *fl_endpoint_new(const char *name)
{
    fl_endpoint *ep = fl_xcalloc(1, sizeof *ep);
    snprintf(ep->name, sizeof ep->name, "%s", name);
    ep->base = event_base_new();
    ep->mb = fl_mailbox_new();
    if (!ep->base || !ep->mb)
        goto fail;
    ep->mail_ev = event_new(ep->base, fl_mailbox_fd(ep->mb), EV_READ | EV_PERSIST, on_mail, ep);
    if (!ep->mail_ev || event_add(ep->mail_ev, NULL) < 0)
        goto fail;
    return ep;
fail:
    fl_error("cannot create endpoint %s", name);
    if (ep->mail_ev)
        event_free(ep->mail_ev);
    fl_mailbox_free(ep->mb);
    if (ep->base)
        event_base_free(ep->base);
    free(ep);
    return NULL;
}

struct event_base *fl_endpoint_base(fl_endpoint *ep)
{
    return ep->base;
}

const char *fl_endpoint_name(const fl_endpoint *ep)
{
    return ep->name;
}

/* The endpoint whose thread this is. Set by the thread itself, so a mail that runs before
 * fl_endpoint_start has returned (one posted during set-up) already sees it. */
static __thread const fl_endpoint *current_ep;

static void *endpoint_main(void *arg)
{
    fl_endpoint *ep = arg;
    current_ep = ep;
    fl_log_set_thread_name(ep->name);
    char kname[16]; /* the kernel keeps 15 characters */
    snprintf(kname, sizeof kname, "%s", ep->name);
    pthread_setname_np(pthread_self(), kname);
    /* Linux's nice is per thread: who = this thread's id */
    if (ep->nice && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), ep->nice) < 0)
        fl_warn("cannot lower the priority of thread %s: %s", ep->name, strerror(errno));
    event_base_loop(ep->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

void fl_endpoint_set_nice(fl_endpoint *ep, int nice)
{
    ep->nice = nice;
}

int fl_endpoint_start(fl_endpoint *ep, void *ctx, fl_err *err)
{
    ep->ctx = ctx;
    int rc = pthread_create(&ep->thread, NULL, endpoint_main, ep);
    if (rc) {
        fl_err_set(err, "pthread_create(%s) failed: %s", ep->name, strerror(rc));
        return -1;
    }
    ep->running = true;
    return 0;
}

int fl_endpoint_post(fl_endpoint *ep, fl_mail_fn fn, void *arg, fl_free_fn drop)
{
    return fl_mailbox_post(ep->mb, fn, arg, drop);
}

bool fl_endpoint_in_thread(const fl_endpoint *ep)
{
    return current_ep == ep;
}

static void stop_mail(void *ctx, void *arg)
{
    fl_endpoint *ep = arg;
    event_base_loopbreak(ep->base);
}

void fl_endpoint_stop(fl_endpoint *ep)
{
    if (!ep || !ep->running)
        return;
    /* The stop mail runs after every mail posted before it; then the loop breaks. */
    fl_mailbox_post(ep->mb, stop_mail, ep, NULL);
    fl_mailbox_close(ep->mb);
    pthread_join(ep->thread, NULL);
    ep->running = false;
    /* Whatever raced in between close and join is run now, on this thread, so that
     * handed-over resources are not lost. */
    fl_mailbox_run(ep->mb, ep->ctx);
}

void fl_endpoint_free(fl_endpoint *ep)
{
    if (!ep)
        return;
    fl_endpoint_stop(ep);
    event_free(ep->mail_ev);
    fl_mailbox_free(ep->mb);
    event_base_free(ep->base);
    free(ep);
}
