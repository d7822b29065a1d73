/* writer.h -- record writers: a task's network outputs (DESIGN.md §4). A writer takes the
 * records an operator emits (output.h) and serializes each, as a stream element, into the
 * subpartition(s) of its result partition that the edge's partitioner picks: forward and
 * global to the one, hash by key group, rebalance and rescale round robin, shuffle at
 * random, broadcast to all, custom by the bundle's function. Events (watermarks,
 * idleness, barriers) go to every subpartition in order with the records. The task sets
 * writers up; a failure of the partition (cancelled, consumer gone) fails the task
 * through the writer's failure slot. Task thread; nothing allocates per record.
 */
#ifndef FL_CHAIN_WRITER_H
#define FL_CHAIN_WRITER_H

#include <stdint.h>

#include <flint/flint.h>

#include "keysel.h"
#include "taskmanager/network/network.h"
#include "view.h"

#include "proto/jobgraph.pb-c.h"

/* A stream element on the wire: tag, event timestamp, then the record's bytes. */
#define FL_ELEM_RECORD 0
#define FL_ELEM_HDR 9

/* The runtime's events in the network stream, beside FL_EV_WATERMARK (payload: int64): a
 * source's idleness changes (payload: u8 1 = idle, 0 = active again). */
#define FL_EV_WATERMARK_STATUS FL_EV_USER
/* A latency marker (metrics.latency.interval, issue 12): payload int64 wall-clock ms when
 * its source sent it, int32 source vertex id, int32 source subtask. */
#define FL_EV_LATENCY_MARKER (FL_EV_USER + 1)
#define FL_LATENCY_MARKER_LEN 16

typedef struct fl_writer {
    fl_partition *part;
    int nsub;                 /* subpartitions: the consumer's parallelism */
    Fl__Pb__Partitioner partitioner;
    fl_keysel key;            /* hash and custom partitioners */
    fl_partitioner_fn custom;
    int max_parallelism;      /* the consumer's key groups */
    uint32_t rr;              /* round robin position */
    uint64_t rng;             /* shuffle */
    fl_failure *failure;
} fl_writer;

/* The record goes to its subpartition(s). */
void fl_writer_write(fl_writer *w, const fl_rec *r);
/* An event to every subpartition, after the records written before it. */
void fl_writer_event(fl_writer *w, uint8_t type, const void *payload, uint32_t len);
/* An event to subpartition sub % the writer's subpartitions only (a latency marker, which
 * Flink sends down one channel, not all). */
void fl_writer_event_to(fl_writer *w, uint32_t sub, uint8_t type, const void *payload,
                        uint32_t len);

#endif
