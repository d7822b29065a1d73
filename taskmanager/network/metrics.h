/* metrics.h -- per-subtask I/O measurements, cheap enough for the per-record path.
 *
 * One task thread writes a set of counters (plain loads and stores on x86: relaxed atomics
 * with a single writer, no lock prefix); any thread may read them for REST and heartbeats.
 * Busy time is what is left of the wall time after idle and backpressured time.
 */
#ifndef FL_NET_METRICS_H
#define FL_NET_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct fl_io_metrics {
    _Atomic uint64_t records_in, records_out;
    _Atomic uint64_t bytes_in, bytes_out;
    _Atomic uint64_t backpressure_ns; /* waiting for an output buffer */
    _Atomic uint64_t idle_ns;         /* waiting for input */
    int64_t start_ns;                 /* fl_mono_ns() when the task started */
} fl_io_metrics;

/* Single-writer increment. */
#define FL_METRIC_ADD(m, field, v)                                                             \
    atomic_store_explicit(&(m)->field,                                                         \
                          atomic_load_explicit(&(m)->field, memory_order_relaxed) + (v),       \
                          memory_order_relaxed)
#define FL_METRIC_GET(m, field) atomic_load_explicit(&(m)->field, memory_order_relaxed)

#endif
