/* network_internal.h -- layouts shared by partition.c, gate.c, netenv.c and sender.c;
 * nothing outside taskmanager/network includes this (the network thread's own layouts are
 * in netenv_internal.h). The protocol is described in README.md.
 *
 * Lock order (never take a lock on the left while holding one on the right):
 *     subpartition lock  ->  gate lock  ->  netenv work lock
 *     netenv receiver lock -> gate lock
 *     netenv registry lock is taken alone.
 */
#ifndef FL_NETWORK_INTERNAL_H
#define FL_NETWORK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "network.h"

/* Data-plane frame types (frame.h; RPC types stay below 1000). corr = receiver id. */
enum {
    FL_NET_PARTITION_REQUEST = 1000, /* u32 sub, u32 initial credit, u16 idlen, id */
    FL_NET_BUFFER = 1001,            /* u32 seq, u32 backlog, u8 kind, 3 pad, data */
    FL_NET_ADD_CREDIT = 1002,        /* u32 credit */
    FL_NET_ERROR = 1003,             /* message text; receiver 0 = the whole connection */
    FL_NET_CANCEL = 1004,            /* consumer lets go of the subpartition */
    FL_NET_BACKLOG = 1005,           /* u32 backlog: data waits, the sender has no credit */
};
#define FL_NET_BUFFER_HDR 12
#define FL_NET_MAX_CONTROL 2048
#define FL_NET_ID_MAX 208
#define FL_NET_MAX_RECORD (1u << 30) /* a longer length prefix means corruption */

typedef struct fl_subpart_reader fl_subpart_reader;
struct fl_subpart_reader {
    /* Buffers became available (queue went from empty to non-empty). Called with the
     * subpartition lock held, from the producer's thread. */
    void (*notify)(fl_subpart_reader *r);
    /* The partition failed; called with the subpartition lock held. */
    void (*on_fail)(fl_subpart_reader *r, const char *why);
};

typedef struct fl_subpart {
    struct fl_partition *part;
    int index;
    pthread_mutex_t lock;
    fl_buf_queue queue;        /* finished buffers, under lock */
    fl_subpart_reader *reader; /* under lock */
    bool claimed;              /* a reader attached once; under lock */
    bool consumed;             /* its reader took END_OF_PARTITION; under lock */
    fl_buf *cur;               /* being filled; producer thread only */
} fl_subpart;

struct fl_partition {
    fl_netenv *net;
    char id[FL_NET_ID_MAX];
    int nsubs;
    fl_subpart *subs;
    fl_lpool *pool;
    fl_io_metrics *metrics;
    fl_io_metrics own_metrics;
    bool flush_always;        /* buffer timeout 0 */
    int64_t timeout_ns;       /* < 0: flush only full buffers */
    bool dirty;               /* producer thread: some cur buffer holds unflushed data */
    bool in_record;           /* producer thread: writing a record (spanning buffers) */
    uint32_t rec_left;        /* producer thread: bytes of that record not written yet */
    int64_t flush_deadline;   /* producer thread */
    atomic_int refs;          /* producer + registry + attached readers */
    atomic_int consumed_subs;
    atomic_bool failed;
    pthread_mutex_t err_lock;
    char error[512];
    struct fl_partition *reg_next; /* registry list, under netenv registry lock */
    bool registered;               /* under registry lock */
};

/* Partition internals used by netenv.c, sender.c and gate.c. */
void fl_partition_ref(fl_partition *p);
void fl_partition_unref(fl_partition *p);
/* The head buffer of sp if it is a priority event (sent without credit), else NULL. */
fl_buf *fl_subpart_poll_priority(fl_subpart *sp, int *backlog);
/* Next buffer of sp for its reader (NULL when none); *backlog = buffers still queued.
 * Marks the subpartition consumed when it hands out END_OF_PARTITION. Takes sp->lock. */
fl_buf *fl_subpart_poll(fl_subpart *sp, int *backlog);
/* Buffers queued in sp (the partly filled one not counted). Takes sp->lock. */
int fl_subpart_backlog(fl_subpart *sp);
/* Attaches r as the only reader; -1 (with why) when taken or released. Sets *has_data. */
int fl_subpart_attach(fl_subpart *sp, fl_subpart_reader *r, bool *has_data, char *why,
                      size_t whylen);
/* Detaches r (if still attached) and drops the reader's partition reference. */
void fl_subpart_detach(fl_subpart *sp, fl_subpart_reader *r);
/* Called when a reader took END_OF_PARTITION from sp (outside sp->lock). */
void fl_partition_sub_consumed(fl_partition *p);

/* ---- netenv internals ------------------------------------------------------------- */

/* Registry: partitions by id, with requests waiting for their producer. Any thread. */
int fl_netenv_register(fl_netenv *net, fl_partition *p, fl_err *err);
void fl_netenv_unregister(fl_netenv *net, fl_partition *p);
fl_netpool *fl_netenv_pool(fl_netenv *net);
int fl_netenv_buffers_per_channel(const fl_netenv *net);
int fl_netenv_floating_per_gate(const fl_netenv *net);
/* taskmanager.network.memory.read-buffer.required-per-gate.max */
int fl_netenv_gate_max_required(const fl_netenv *net);

struct fl_chan;
/* Attaches local channel c to its subpartition now, or when the producer registers. */
void fl_netenv_request_local(fl_netenv *net, struct fl_chan *c);
/* Forgets a local request that is still waiting (no attach can happen afterwards). */
void fl_netenv_cancel_local(fl_netenv *net, struct fl_chan *c);
/* Registers c's receiver id and has the network thread send the partition request. */
void fl_netenv_request_remote(fl_netenv *net, struct fl_chan *c);
/* Announce c's unannounced credit soon (called with the gate lock held). */
void fl_netenv_queue_credit(fl_netenv *net, struct fl_chan *c);
/* Unregisters c's receiver id (no frame will reach it afterwards) and, if it was not done,
 * tells the producer to let go. Synchronous with respect to the network thread. */
void fl_netenv_cancel_remote(fl_netenv *net, struct fl_chan *c);

/* ---- gate internals --------------------------------------------------------------- */

typedef struct fl_chan {
    struct fl_gate *gate;
    int idx;
    char partition_id[FL_NET_ID_MAX];
    int sub;
    char host[256];
    int port;
    bool local;

    /* local: set by the network thread under the gate lock once attached */
    fl_subpart_reader reader;
    fl_partition *part;
    fl_subpart *sp;
    bool attached;

    /* remote: under the gate lock unless noted */
    uint64_t receiver_id;     /* set before the request, then constant */
    fl_buf_owner excl_owner;  /* exclusive buffers come back here */
    fl_buf *free_list;        /* buffers credited to (or to be credited to) the sender */
    int nfree;
    int announced;            /* credit the sender has and has not used */
    int unannounced;          /* free buffers not yet announced */
    fl_buf_queue received;
    int backlog;              /* sender's backlog with the last buffer */
    bool waiting_floating;
    bool eop_received;        /* END_OF_PARTITION is in `received`: nothing more to come */
    int overtaken;            /* data buffers a priority event overtook, not yet read */
    bool credit_queued;       /* in the netenv credit list; under netenv work lock */
    struct fl_chan *credit_next;
    void *conn;               /* network thread only */
    uint32_t expected_seq;    /* network thread only */

    /* task thread */
    fl_buf *cur;
    uint32_t pos;
    uint8_t lenbuf[4];
    int lenhave;              /* bytes of a split length prefix gathered so far */
    bool partial;             /* inside a record that spans buffers */
    uint8_t *spill;
    uint32_t spill_len, spill_need, spill_cap;
    bool eop;
    int persist_left;         /* data buffers overtaken by a priority event: to persist */
    bool cur_persist;         /* the current buffer is one of them */

    /* under the gate lock */
    bool in_ready;
    bool blocked;
    bool parked;              /* ready while blocked: re-queued on unblock */
} fl_chan;

/* An input gate (gate.c; looked into by gate_inspect.c). */
struct fl_gate {
    fl_netenv *net;
    int n;
    fl_chan *ch;
    char name[128];
    fl_io_metrics *metrics;
    fl_io_metrics own_metrics;

    pthread_mutex_t lock;
    int *ring; /* ready channels, each at most once; under lock */
    int rhead, rcount;
    int efd;
    fl_buf_owner float_owner;
    fl_buf *float_free; /* under lock */
    int nfloat_free;
    fl_lpool *lpool;
    fl_buf_owner *lpool_owner;
    atomic_int wstate;  /* GW_SLEEP: armed, the reader found nothing and may sleep on efd;
                         * written under lock, read without */
    bool drain;         /* task thread: it armed since it last took a token */
    bool closing;       /* under lock: recycled buffers go back to the local pool */
    bool failed;        /* under lock */
    char error[512];

    /* a priority event (an unaligned barrier) reached the head of a channel: the task
     * thread takes it before the rest of the buffer it is reading (set by any thread,
     * read once per record) */
    atomic_bool prio_hint;
    int prio_efd;       /* written with prio_hint, for a task waiting on full outputs */

    /* task thread */
    int cur;            /* channel whose buffer is being read, or -1 */
    int finished;
    bool started;
    uint8_t evbuf[FL_EVENT_MAX_PAYLOAD];
};

/* Gate functions the network thread calls. */
void fl_gate_fail(struct fl_gate *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The buffer a BUFFER frame of `len` payload bytes and this kind is read into: one of c's
 * credited free buffers (a heap buffer for a priority event, which needs no credit); NULL
 * when c has none (a protocol violation) or the length is impossible. *lp_owner = where the
 * buffer goes if c disappears before fl_gate_deliver (its gate's local pool, which lives
 * until its last buffer is back), NULL for a heap buffer (fl_buf_recycle frees it). Takes
 * the gate lock; the caller holds the receiver lock and fills the buffer without either. */
fl_buf *fl_gate_claim(fl_chan *c, uint8_t kind, uint32_t len, fl_buf_owner **lp_owner);
/* Hands a claimed and filled buffer to c (receiver lock held, c still registered): queued
 * (a priority event ahead of the data), floating buffers borrowed against the backlog, the
 * reader woken if it is going to sleep. Takes the gate lock. */
void fl_gate_deliver(fl_chan *c, fl_buf *b, uint8_t kind, uint8_t flags, uint32_t len,
                     int backlog);
/* The sender of c has `backlog` buffers queued and no credit (a BACKLOG frame): c borrows
 * floating buffers for them. Takes the gate lock. */
void fl_gate_backlog(fl_chan *c, int backlog);
/* Moves c's unannounced credit to announced and returns it (gate lock taken). */
int fl_gate_take_credit(fl_chan *c);
/* Publishes a local channel's attachment (under the registry lock). */
void fl_gate_attached(fl_chan *c, fl_partition *p, fl_subpart *sp);
/* Fails the gate because c's producer or connection is gone, unless c already finished. */
void fl_gate_channel_lost(fl_chan *c, const char *why);

#endif
