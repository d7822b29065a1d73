/* task_metrics.h -- what the JobMaster keeps of one subtask's metrics (issue 12): the
 * latest counters a TaskManager reported (TaskMetrics) and the rates derived from them
 * (Flink's numRecordsInPerSecond, busyTimeMsPerSecond, ...), each over the last window of
 * at least FL_RATE_WINDOW_MS between two reports. JobMaster thread only.
 */
#ifndef FL_TASK_METRICS_H
#define FL_TASK_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/rpc.pb-c.h"

#define FL_RATE_WINDOW_MS 900 /* reports come every metrics.report-interval (1 s) */

enum {
    FL_TM_RIN,
    FL_TM_ROUT,
    FL_TM_BIN,
    FL_TM_BOUT,
    FL_TM_BP_MS,
    FL_TM_IDLE_MS,
    FL_TM_BUSY_MS,
    FL_TM_NCOUNTERS
};

typedef struct fl_subtask_metrics {
    uint64_t v[FL_TM_NCOUNTERS];     /* the latest counters */
    double rate[FL_TM_NCOUNTERS];    /* per second over the last window */
    uint64_t base[FL_TM_NCOUNTERS];  /* the counters at the window's start */
    int64_t base_ms;                 /* mono ms of the window's start; 0: none yet */
    int64_t wm;                      /* currentInputWatermark */
    float in_pool, out_pool;
    bool has_rates;
    int nlat;                        /* latency markers' histograms, per source vertex */
    struct fl_subtask_latency {
        int source;
        double min, max, mean, p50, p95, p99;
    } lat[8];
} fl_subtask_metrics;

void fl_subtask_metrics_take(fl_subtask_metrics *sm, const Fl__Pb__TaskMetrics *m,
                             int64_t now_mono_ms);

/* Operator scope: one operator of a subtask's chain, its latest counters and their rates
 * over the subtask's rate window (Flink's numRecordsIn/OutPerSecond of an operator). */
typedef struct fl_op_counts {
    uint64_t in, out;
    uint64_t base_in, base_out;      /* at the window's start */
    double in_rate, out_rate;
} fl_op_counts;

/* The nc operators of m (when it has nc of them) into c, after fl_subtask_metrics_take
 * moved sm's window: old_base_ms is where the window started before that call. */
void fl_op_counts_take(fl_op_counts *c, size_t nc, const Fl__Pb__TaskMetrics *m,
                       const fl_subtask_metrics *sm, int64_t old_base_ms);

/* A TaskManager's process as its heartbeats tell (ResourceManager thread, then copied into
 * the cluster view for the Dispatcher). */
typedef struct fl_tm_process {
    bool known;              /* a heartbeat carried metrics */
    uint64_t cpu_time_ms, rss_bytes, vm_bytes, segment_bytes;
    int64_t net_total, net_available;
    int threads, cores;
    double cpu_load;         /* 0..1 of all cores, between the last two heartbeats */
    int64_t at_mono_ms;      /* of the last heartbeat with metrics */
} fl_tm_process;

void fl_tm_process_take(fl_tm_process *p, const Fl__Pb__MetricsTaskManager *m,
                        int64_t now_mono_ms);

#endif
