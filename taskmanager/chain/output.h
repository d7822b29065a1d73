/* output.h -- where a record leaves an operator: its output (fl_out, the Collector the
 * user's functions get), and nowhere else. fl_out_emit (operator.h) hands the record to
 * every operator chained after this one, by a direct call of its process function, and to
 * every record writer (writer.h), which serializes it into the subpartitions its
 * partitioner picks. A user function's fl_emit reaches it through the bundle API's table
 * (context.c); a side output is an fl_out of its own, found by tag (fl_op_emit_side);
 * watermarks, idleness changes and barriers take the same paths as events (time.c,
 * fl_writer_event). An output in capture mode keeps the record instead (a reduce
 * function's result). Task thread; nothing here allocates per record.
 */
#ifndef FL_CHAIN_OUTPUT_H
#define FL_CHAIN_OUTPUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <flint/flint.h>

#include "writer.h"

typedef struct fl_op fl_op;

struct fl_out {
    int64_t ts;               /* timestamp of the record being processed (fl_emit keeps it) */
    /* records emitted through this output: Flink's operator numRecordsOut, and the
     * numRecordsIn of the operators it feeds. One writer (the task thread, relaxed load and
     * store: no lock prefix); the TaskManager's metrics sampler reads it. */
    _Atomic uint64_t emitted;
    fl_op **chained;          /* operators fed by direct calls */
    int nchained;
    fl_writer **writers;      /* network outputs */
    int nwriters;
    /* capture mode: a reduce function's result is kept here instead of forwarded */
    bool capture;
    uint8_t *cap;
    uint32_t cap_len, cap_size;
    int ncaptured;
};

/* A side output that has consumers (an OutputTag). */
typedef struct fl_side {
    const char *tag;          /* the spec's: lives as long as the deployment descriptor */
    fl_out out;
} fl_side;

/* Wiring, before the first record: the output feeds op by call / writes through w. */
void fl_out_connect_op(fl_out *out, fl_op *op);
void fl_out_connect_writer(fl_out *out, fl_writer *w);
/* Frees what the output holds (connections, capture buffer); the operators and writers it
 * feeds are not its own. */
void fl_out_release(fl_out *out);

#endif
