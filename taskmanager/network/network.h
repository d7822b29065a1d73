/* network.h -- the data plane API the task runtime uses (DESIGN.md §4, README.md here).
 *
 * Producer side: a task writes records into a result partition (fl_partition), one
 * subpartition per consumer subtask. Records are length-prefixed into 32 KiB buffers and
 * may span buffers. A buffer is handed on when full, when the buffer timeout passes
 * (fl_partition_flush_if_due), and before every event. Events (end of partition, barrier,
 * watermark, cancel) travel in-band, in order with the records.
 *
 * Consumer side: a task reads from an input gate (fl_gate), one input channel per producer
 * subtask. A channel is local (producer in this TaskManager: buffers are handed over in
 * memory) or remote (over the one TCP connection to the producer's TaskManager, with
 * credit-based flow control). fl_gate_read returns the next record or event of any ready
 * channel without blocking; fl_gate_fd tells when to call it again.
 *
 * Threads: a partition is written by one task thread and a gate read by one task thread;
 * the network thread and other tasks touch them only through the locked hand-over points.
 */
#ifndef FL_NETWORK_H
#define FL_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include "buffer.h"
#include "common/err.h"
#include "metrics.h"
#include "netenv.h"

/* In-band event types (first byte of an event buffer). */
enum fl_event_type {
    FL_EV_END_OF_PARTITION = 1,
    FL_EV_BARRIER = 2,
    FL_EV_WATERMARK = 3,
    FL_EV_CANCEL = 4, /* cancel a checkpoint (abort alignment) */
    FL_EV_USER = 16,  /* first type free for the runtime's own events */
};

#define FL_EVENT_MAX_PAYLOAD 1024

/* A task thread calls this before it reads or writes data, with its job's buffer timeout:
 * unless that is 0 (flush every record: the job asked for the lowest latency), the thread
 * becomes SCHED_BATCH, so that woken (by the network thread, by a local producer or
 * consumer) it does not preempt the thread that woke it but runs on a free core or after
 * that thread's slice. Producers, the network thread and consumers then pass buffers in
 * bursts instead of switching at every buffer (README.md, "Waking the reader"). */
void fl_net_task_thread(int64_t buffer_timeout_ms);

/* ---- producer --------------------------------------------------------------------- */

typedef struct fl_partition fl_partition;

/* Creates a partition with nsubs subpartitions, reserving its buffers, and registers it
 * under id (unique in this TaskManager, at most 200 bytes) so consumers can request it.
 * buffer_timeout_ms: 0 = flush after every record, -1 = only full buffers. metrics may be
 * shared by the partitions of one task. */
fl_partition *fl_partition_new(fl_netenv *net, const char *id, int nsubs,
                               int64_t buffer_timeout_ms, fl_io_metrics *metrics, fl_err *err);
int fl_partition_subpartitions(const fl_partition *p);

/* Appends one record (hdr then payload, either may be empty) to subpartition sub. Returns
 * 0, or -1 when the partition failed or was cancelled (fl_partition_error says why). May
 * block while no buffer is free: that is backpressure, and it is measured. */
int fl_partition_emit(fl_partition *p, int sub, const void *hdr, uint32_t hlen,
                      const void *payload, uint32_t plen);
/* The same record to every subpartition. */
int fl_partition_broadcast(fl_partition *p, const void *hdr, uint32_t hlen, const void *payload,
                           uint32_t plen);
/* Flushes, then sends an event to subpartition sub, or to all when sub < 0. */
int fl_partition_emit_event(fl_partition *p, int sub, uint8_t type, const void *payload,
                            uint32_t len);
/* Hands every partly filled buffer to its consumer. */
void fl_partition_flush(fl_partition *p);
/* Flushes when the buffer timeout has passed since the oldest unflushed record; returns the
 * nanoseconds until the next flush is due (INT64_MAX when nothing waits). */
int64_t fl_partition_flush_if_due(fl_partition *p, int64_t now_ns);
/* Whether a buffer is free right now, without a lock (a hint): the producing task looks
 * before each record, so that it never blocks inside one deaf to its mailbox. */
bool fl_partition_has_free(const fl_partition *p);
/* Waits until buffers are free again (the pool's wake batch), one of fds (at most 7, e.g.
 * the mailbox's) is readable, or timeout_ms passed; the ns waited (backpressure). */
struct pollfd;
uint64_t fl_partition_await(fl_partition *p, struct pollfd *fds, int nfds, int timeout_ms);
/* The share (0..1) of the partition's buffers taken: Flink's outPoolUsage. Any thread. */
float fl_partition_pool_usage(fl_partition *p);
/* How long the producer has been blocked for a buffer so far (0: it is not): the
 * backpressure its counter gets only when the wait ends. Any thread. */
int64_t fl_partition_waiting_ns(fl_partition *p);
/* Unaligned checkpoints: sends an event to every subpartition AHEAD of the data queued
 * there (but after the bytes that finish a record begun in an already sent buffer), without
 * waiting for credit. The data it overtakes -- whole length-prefixed records, in order --
 * is handed to overtaken(arg, sub, bytes, len) before the call returns. */
int fl_partition_emit_priority(fl_partition *p, uint8_t type, const void *payload, uint32_t len,
                               void (*overtaken)(void *arg, int sub, const uint8_t *data,
                                                 uint32_t len),
                               void *arg);
/* Sends END_OF_PARTITION to every subpartition (after flushing). */
int fl_partition_finish(fl_partition *p);
/* Fails the partition: blocked and later emits return -1, consumers see the error. */
void fl_partition_fail(fl_partition *p, const char *why);
const char *fl_partition_error(fl_partition *p);
/* The producer lets go; the partition lives on until its consumers are done with it. */
void fl_partition_release(fl_partition *p);

/* Fails and drops every registered partition whose id starts with prefix (job cancelled). */
void fl_netenv_release_partitions(fl_netenv *net, const char *prefix, const char *why);

/* ---- consumer --------------------------------------------------------------------- */

typedef struct fl_gate fl_gate;

enum fl_input_kind { FL_IN_RECORD = 1, FL_IN_EVENT = 2 };

typedef struct fl_input {
    enum fl_input_kind kind;
    int channel;
    bool persist;         /* a record a priority event overtook: unaligned channel state */
    bool priority;        /* an event that overtook data */
    uint8_t event_type;   /* for events */
    const uint8_t *data;  /* record bytes or event payload: valid until the next read */
    uint32_t len;
} fl_input;

fl_gate *fl_gate_new(fl_netenv *net, int nchannels, const char *owner_name,
                     fl_io_metrics *metrics);
/* Channel idx reads subpartition sub of partition_id, produced in this TaskManager when
 * host is NULL, else at host:data_port. Before fl_gate_start. */
void fl_gate_set_channel(fl_gate *g, int idx, const char *partition_id, int sub,
                         const char *host, int data_port);
/* Reserves buffers and requests every partition. -1 with err (e.g. too few buffers). */
int fl_gate_start(fl_gate *g, fl_err *err);
/* Readable when fl_gate_read may have something new. */
int fl_gate_fd(const fl_gate *g);
/* 1 with *in filled, 0 when nothing is ready, -1 on failure (fl_gate_error). Never blocks.
 * END_OF_PARTITION is returned as an event; after it the channel is done. */
int fl_gate_read(fl_gate *g, fl_input *in);
/* Only a priority event (an unaligned barrier) that reached the head of a channel, for a
 * task whose outputs are full and that reads no records meanwhile: 1 with it in *in, 0
 * when none. */
int fl_gate_read_priority(fl_gate *g, fl_input *in);
/* Readable once a priority event arrived (drained by the reads that take it). */
int fl_gate_priority_fd(fl_gate *g);
/* True when every channel has delivered END_OF_PARTITION. */
bool fl_gate_is_finished(const fl_gate *g);
int fl_gate_channels(const fl_gate *g);
/* A blocked channel is not read (its data waits) until unblocked: barrier alignment. */
void fl_gate_block(fl_gate *g, int channel);
void fl_gate_unblock(fl_gate *g, int channel);
bool fl_gate_is_blocked(const fl_gate *g, int channel);
const char *fl_gate_error(fl_gate *g);
/* The share (0..1) of the gate's buffers holding data: Flink's inPoolUsage. Any thread. */
float fl_gate_pool_usage(fl_gate *g);
/* Stops every channel (cancelling remote requests) and returns all buffers. */
void fl_gate_free(fl_gate *g);

/* Checks the gate's invariants (listed in gate.c): 0, or -1 with the first one broken in
 * err. For tests, after mutations; the reading task's thread (takes the gate lock). */
int fl_gate_validate(fl_gate *g, fl_err *err);

/* For tests: the credit a remote channel has announced and not seen used, and the buffers
 * it holds free; -1 for local channels. */
int fl_gate_channel_credit(fl_gate *g, int channel, int *free_buffers);
/* For tests: whether the gate has failed (any thread). */
bool fl_gate_failed(fl_gate *g);

#endif
