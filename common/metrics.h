/* metrics.h -- what a daemon measures of its own process, and the Prometheus reporter
 * every daemon runs when metrics.reporter.prom.port is set (Flink's PrometheusReporter).
 *
 * Per-record counters live with their writers (taskmanager/network/metrics.h: one task
 * thread increments, others sample); this module is what turns samples into numbers a
 * person or a monitoring system reads. The reporter is an HTTP server on the event_base of
 * the thread that owns the data it reports (the JobManager's Dispatcher, a TaskManager's
 * TaskExecutor): a scrape calls the owner's fill function on that thread, so nothing is
 * shared and nothing is locked. Scrapes never touch the per-record path.
 */
#ifndef FL_METRICS_H
#define FL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct event_base;
struct evbuffer;
struct fl_conf;

/* The process's own numbers, from /proc/self (no JVM: CPU, memory, threads). */
typedef struct fl_proc_stats {
    uint64_t cpu_time_ms; /* user + system */
    uint64_t rss_bytes, vm_bytes;
    int threads;
    int cpu_cores;        /* online processors */
} fl_proc_stats;

/* 0, or -1 when /proc cannot be read (the fields are then 0). */
int fl_proc_stats_read(fl_proc_stats *s);

/* ---- Prometheus text format (version 0.0.4) ---------------------------------------- */

/* Writes "# TYPE name type\n"; samples of one name must follow it together. */
void fl_prom_family(struct evbuffer *out, const char *name, const char *type);
/* Writes one sample: name{labels} value. labels is "k1", "v1", "k2", "v2", ... NULL;
 * values are escaped as the format wants. */
void fl_prom_sample(struct evbuffer *out, const char *name, double value, ...);

/* Fills out with the daemon's metrics; runs on the reporter's thread. */
typedef void (*fl_prom_fill)(void *ctx, struct evbuffer *out);

typedef struct fl_prom_reporter fl_prom_reporter;

/* Starts the reporter on base when the configuration asks for one
 * (metrics.reporter.prom.port, a port or a range "9249-9260": the first free one, as Flink;
 * or metrics.reporter.prom.factory.class alone: 9249), bound to bind_host. *out is NULL when
 * none is configured. -1 with err when none of the ports can be bound. */
int fl_prom_reporter_start(struct event_base *base, const struct fl_conf *conf,
                           const char *bind_host, fl_prom_fill fill, void *ctx,
                           fl_prom_reporter **out, fl_err *err);
int fl_prom_reporter_port(const fl_prom_reporter *r);
void fl_prom_reporter_free(fl_prom_reporter *r);

/* Parses a port or a range "lo-hi" (1..65535, lo <= hi). 0 or -1 with err. */
int fl_prom_parse_ports(const char *spec, int *lo, int *hi, fl_err *err);

#endif
