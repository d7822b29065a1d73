/* tm_metrics.h -- a TaskManager's metrics (issue 12): its tasks' samples as the
 * TaskMetrics it reports to the JobMaster, its process as the MetricsTaskManager of its
 * heartbeats, and both in the Prometheus text format for its reporter
 * (metrics.reporter.prom.port), with Flink's names and labels. Called on the TaskExecutor's
 * thread, about once a second and per scrape: never on a record's path.
 */
#ifndef FL_TM_METRICS_H
#define FL_TM_METRICS_H

#include "proto/rpc.pb-c.h"
#include "taskmanager/network/netenv.h"
#include "taskmanager/task/task.h"

struct evbuffer;

/* m is initialised here; t NULL leaves it zero. Its operator counters are allocated:
 * fl_tm_task_metrics_clear frees them. */
void fl_tm_fill_task_metrics(fl_task *t, Fl__Pb__TaskMetrics *m);
void fl_tm_task_metrics_clear(Fl__Pb__TaskMetrics *m);
void fl_tm_fill_process_metrics(fl_netenv *net, const fl_conf *conf,
                                Fl__Pb__MetricsTaskManager *m);

/* Adds the task's latency histograms (metrics.latency.interval) to m, in hist/ptrs (room
 * for FL_TASK_LATENCY_SOURCES each), which must live until m is packed. */
void fl_tm_fill_task_latency(fl_task *t, Fl__Pb__TaskMetrics *m, Fl__Pb__LatencyHistogram *hist,
                             Fl__Pb__LatencyHistogram **ptrs);

/* Writes the TaskManager's metrics and those of its n running tasks. */
void fl_tm_prom_write(struct evbuffer *out, const char *tm_id, const char *host, fl_netenv *net,
                      const fl_conf *conf, fl_task **tasks, int n);

/* Answers a LogRequest of the JobManager (GET /taskmanagers/:tmid/logs[/:name]): the list of
 * the log directory's files, or the last max_bytes of one (at most a frame), from
 * common/logfiles.h. Owns msg. */
struct fl_rpc;
struct fl_rpc_msg;
void fl_tm_answer_log_request(struct fl_rpc *rpc, const fl_conf *conf, struct fl_rpc_msg *msg);

#endif
