/* tm_metrics.c -- see tm_metrics.h. TaskExecutor thread. */
#include "tm_metrics.h"
#include "common/logfiles.h"
#include "common/metrics.h"
#include "common/rpc.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>

void fl_tm_fill_task_metrics(fl_task *t, Fl__Pb__TaskMetrics *m)
{
    fl__pb__task_metrics__init(m);
    if (!t)
        return;
    fl_task_sample s;
    fl_task_sample_get(t, &s);
    m->records_in = s.records_in;
    m->records_out = s.records_out;
    m->bytes_in = s.bytes_in;
    m->bytes_out = s.bytes_out;
    m->backpressure_ms = s.backpressure_ms;
    m->idle_ms = s.idle_ms;
    m->busy_ms = s.busy_ms;
    m->current_input_watermark = s.current_input_watermark;
    m->in_pool_usage = s.in_pool_usage;
    m->out_pool_usage = s.out_pool_usage;
    int nops = fl_task_nops(t);
    uint64_t *ops = fl_xcalloc(2 * (size_t)nops + 1, sizeof *ops);
    int n = fl_task_op_metrics(t, ops, ops + nops, nops);
    if (n == 0) {
        free(ops);
        return;
    }
    m->n_operator_records_in = m->n_operator_records_out = (size_t)n;
    m->operator_records_in = ops;
    m->operator_records_out = ops + nops;
}

void fl_tm_task_metrics_clear(Fl__Pb__TaskMetrics *m)
{
    free(m->operator_records_in); /* one allocation with operator_records_out */
    m->operator_records_in = m->operator_records_out = NULL;
    m->n_operator_records_in = m->n_operator_records_out = 0;
}

void fl_tm_fill_task_latency(fl_task *t, Fl__Pb__TaskMetrics *m, Fl__Pb__LatencyHistogram *hist,
                             Fl__Pb__LatencyHistogram **ptrs)
{
    fl_task_latency lat[FL_TASK_LATENCY_SOURCES];
    int n = t ? fl_task_latency_get(t, lat, FL_TASK_LATENCY_SOURCES) : 0;
    for (int i = 0; i < n; i++) {
        fl__pb__latency_histogram__init(&hist[i]);
        hist[i].source_vertex = lat[i].source_vertex;
        hist[i].count = (uint64_t)lat[i].count;
        hist[i].min = lat[i].min;
        hist[i].max = lat[i].max;
        hist[i].mean = lat[i].mean;
        hist[i].p50 = lat[i].p50;
        hist[i].p95 = lat[i].p95;
        hist[i].p99 = lat[i].p99;
        ptrs[i] = &hist[i];
    }
    m->n_latency = (size_t)n;
    m->latency = n ? ptrs : NULL;
}

void fl_tm_fill_process_metrics(fl_netenv *net, const fl_conf *conf,
                                Fl__Pb__MetricsTaskManager *m)
{
    fl__pb__metrics_task_manager__init(m);
    fl_proc_stats ps;
    fl_proc_stats_read(&ps);
    m->cpu_time_ms = ps.cpu_time_ms;
    m->rss_bytes = ps.rss_bytes;
    m->vm_bytes = ps.vm_bytes;
    m->threads = ps.threads;
    m->cpu_cores = ps.cpu_cores;
    m->network_total = fl_netenv_buffers_total(net);
    m->network_available = fl_netenv_buffers_available(net);
    m->network_segment_bytes = (uint64_t)fl_conf_get_bytes(conf, "taskmanager.memory.segment-size");
}

/* ---- Prometheus ------------------------------------------------------------------------ */

enum { T_RIN, T_ROUT, T_BIN, T_BOUT, T_BP, T_IDLE, T_BUSY, T_WM, T_INPOOL, T_OUTPOOL, T_N };

static const struct {
    const char *name, *type;
} task_metric[T_N] = {
    [T_RIN] = {"numRecordsIn", "counter"},
    [T_ROUT] = {"numRecordsOut", "counter"},
    [T_BIN] = {"numBytesIn", "counter"},
    [T_BOUT] = {"numBytesOut", "counter"},
    [T_BP] = {"accumulatedBackPressuredTimeMs", "counter"},
    [T_IDLE] = {"accumulatedIdleTimeMs", "counter"},
    [T_BUSY] = {"accumulatedBusyTimeMs", "counter"},
    [T_WM] = {"currentInputWatermark", "gauge"},
    [T_INPOOL] = {"Shuffle_Netty_Input_Buffers_inPoolUsage", "gauge"},
    [T_OUTPOOL] = {"Shuffle_Netty_Output_Buffers_outPoolUsage", "gauge"},
};

static double sample_value(const fl_task_sample *s, int k)
{
    switch (k) {
    case T_RIN: return (double)s->records_in;
    case T_ROUT: return (double)s->records_out;
    case T_BIN: return (double)s->bytes_in;
    case T_BOUT: return (double)s->bytes_out;
    case T_BP: return (double)s->backpressure_ms;
    case T_IDLE: return (double)s->idle_ms;
    case T_BUSY: return (double)s->busy_ms;
    case T_WM: return (double)s->current_input_watermark;
    case T_INPOOL: return s->in_pool_usage;
    default: return s->out_pool_usage;
    }
}

/* Latency markers' histograms as Flink's Prometheus reporter writes them: a summary per
 * source vertex and task, the groups source_id, operator_id and operator_subtask_index
 * as labels. */
static void prom_latency(struct evbuffer *out, const char *host, const char *tm_id,
                         fl_task **tasks, int n)
{
    static const char name[] =
        "flint_taskmanager_job_latency_source_id_operator_id_operator_subtask_index_latency";
    fl_task_latency *lat = fl_xcalloc((size_t)n * FL_TASK_LATENCY_SOURCES + 1, sizeof *lat);
    int *nlat = fl_xcalloc((size_t)n + 1, sizeof *nlat), total = 0;
    for (int i = 0; i < n; i++)
        total += nlat[i] = fl_task_latency_get(tasks[i], &lat[i * FL_TASK_LATENCY_SOURCES],
                                               FL_TASK_LATENCY_SOURCES);
    if (total > 0) {
        char count_name[sizeof name + 8];
        snprintf(count_name, sizeof count_name, "%s_count", name);
        fl_prom_family(out, name, "summary");
        for (int i = 0; i < n; i++)
            for (int j = 0; j < nlat[i]; j++) {
                const fl_task_latency *l = &lat[i * FL_TASK_LATENCY_SOURCES + j];
                char src[16], op[16], sub[16];
                snprintf(src, sizeof src, "%d", l->source_vertex);
                snprintf(op, sizeof op, "%d", fl_task_vertex_id(tasks[i]));
                snprintf(sub, sizeof sub, "%d", fl_task_subtask(tasks[i]));
                const struct {
                    const char *q;
                    double v;
                } qs[] = {{"0.5", l->p50}, {"0.95", l->p95}, {"0.99", l->p99}};
                for (size_t k = 0; k < FL_ARRAY_LEN(qs); k++)
                    fl_prom_sample(out, name, qs[k].v, "host", host, "tm_id", tm_id, "job_id",
                                   fl_task_job_id(tasks[i]), "job_name",
                                   fl_task_job_name(tasks[i]), "source_id", src, "operator_id",
                                   op, "operator_subtask_index", sub, "quantile", qs[k].q, NULL);
                fl_prom_sample(out, count_name, (double)l->count, "host", host, "tm_id", tm_id,
                               "job_id", fl_task_job_id(tasks[i]), "job_name",
                               fl_task_job_name(tasks[i]), "source_id", src, "operator_id", op,
                               "operator_subtask_index", sub, NULL);
            }
    }
    free(lat);
    free(nlat);
}

/* Operator scope, as Flink's reporter names it: flint_taskmanager_job_task_operator_X with
 * the task's labels and the operator's name and id (the vertex and its place in the chain:
 * two operators of a chain may share a name). */
static void prom_operators(struct evbuffer *out, const char *host, const char *tm_id,
                           fl_task **tasks, int n)
{
    int *nops = fl_xcalloc((size_t)n + 1, sizeof *nops), total = 0;
    for (int i = 0; i < n; i++)
        total += nops[i] = fl_task_nops(tasks[i]);
    uint64_t *v = fl_xcalloc(2 * (size_t)total + 1, sizeof *v);
    uint64_t *in = v, *outs = v + total;
    int *filled = fl_xcalloc((size_t)n + 1, sizeof *filled);
    for (int i = 0, at = 0; i < n; at += nops[i], i++)
        filled[i] = fl_task_op_metrics(tasks[i], in + at, outs + at, nops[i]);
    static const char *const names[2] = {"flint_taskmanager_job_task_operator_numRecordsIn",
                                         "flint_taskmanager_job_task_operator_numRecordsOut"};
    for (int k = 0; k < 2; k++) {
        fl_prom_family(out, names[k], "counter");
        for (int i = 0, at = 0; i < n; at += nops[i], i++) {
            char sub[16], att[16];
            snprintf(sub, sizeof sub, "%d", fl_task_subtask(tasks[i]));
            snprintf(att, sizeof att, "%d", fl_task_attempt(tasks[i]));
            for (int j = 0; j < filled[i]; j++) {
                char opid[32];
                snprintf(opid, sizeof opid, "%d.%d", fl_task_vertex_id(tasks[i]), j);
                fl_prom_sample(out, names[k], (double)(k ? outs : in)[at + j], "host", host,
                               "tm_id", tm_id, "job_id", fl_task_job_id(tasks[i]), "job_name",
                               fl_task_job_name(tasks[i]), "task_name",
                               fl_task_vertex_name(tasks[i]), "subtask_index", sub,
                               "task_attempt_num", att, "operator_id", opid, "operator_name",
                               fl_task_op_name(tasks[i], j), NULL);
            }
        }
    }
    free(filled);
    free(v);
    free(nops);
}

void fl_tm_prom_write(struct evbuffer *out, const char *tm_id, const char *host, fl_netenv *net,
                      const fl_conf *conf, fl_task **tasks, int n)
{
    Fl__Pb__MetricsTaskManager pm;
    fl_tm_fill_process_metrics(net, conf, &pm);
    const struct {
        const char *name, *type;
        double v;
    } proc[] = {
        {"flint_taskmanager_Status_Process_CPU_Time", "counter", (double)pm.cpu_time_ms},
        {"flint_taskmanager_Status_Process_Memory_RSS", "gauge", (double)pm.rss_bytes},
        {"flint_taskmanager_Status_Process_Memory_Virtual", "gauge", (double)pm.vm_bytes},
        {"flint_taskmanager_Status_Process_Threads_Count", "gauge", (double)pm.threads},
        {"flint_taskmanager_Status_Shuffle_Netty_TotalMemorySegments", "gauge",
         (double)pm.network_total},
        {"flint_taskmanager_Status_Shuffle_Netty_AvailableMemorySegments", "gauge",
         (double)pm.network_available},
        {"flint_taskmanager_Status_Slots_Running_Tasks", "gauge", (double)n},
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(proc); i++) {
        fl_prom_family(out, proc[i].name, proc[i].type);
        fl_prom_sample(out, proc[i].name, proc[i].v, "host", host, "tm_id", tm_id, NULL);
    }
    if (n == 0)
        return;
    fl_task_sample *s = fl_xcalloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++)
        fl_task_sample_get(tasks[i], &s[i]);
    /* a family's samples together, as the format wants: metric outside, task inside */
    for (int k = 0; k < T_N; k++) {
        char name[160];
        snprintf(name, sizeof name, "flint_taskmanager_job_task_%s", task_metric[k].name);
        fl_prom_family(out, name, task_metric[k].type);
        for (int i = 0; i < n; i++) {
            char sub[16], att[16];
            snprintf(sub, sizeof sub, "%d", fl_task_subtask(tasks[i]));
            snprintf(att, sizeof att, "%d", fl_task_attempt(tasks[i]));
            fl_prom_sample(out, name, sample_value(&s[i], k), "host", host, "tm_id", tm_id,
                           "job_id", fl_task_job_id(tasks[i]), "job_name",
                           fl_task_job_name(tasks[i]), "task_name",
                           fl_task_vertex_name(tasks[i]), "subtask_index", sub,
                           "task_attempt_num", att, NULL);
        }
    }
    free(s);
    prom_operators(out, host, tm_id, tasks, n);
    prom_latency(out, host, tm_id, tasks, n);
}

/* ---- log files (issue 12) ----------------------------------------------------------- */

void fl_tm_answer_log_request(fl_rpc *rpc, const fl_conf *conf, fl_rpc_msg *msg)
{
    const Fl__Pb__LogRequest *r = (const Fl__Pb__LogRequest *)msg->pb;
    Fl__Pb__LogResponse resp = FL__PB__LOG_RESPONSE__INIT;
    fl_logfile *files = NULL;
    Fl__Pb__LogFileInfo *infos = NULL, **ptrs = NULL;
    uint8_t *data = NULL;
    fl_err err = {0};
    resp.status = 200;
    if (!r->name || !*r->name) {
        int n = fl_logfiles_list(&files);
        infos = fl_xcalloc((size_t)n + 1, sizeof *infos);
        ptrs = fl_xcalloc((size_t)n + 1, sizeof *ptrs);
        for (int i = 0; i < n; i++) {
            fl__pb__log_file_info__init(&infos[i]);
            infos[i].name = files[i].name;
            infos[i].size = files[i].size;
            ptrs[i] = &infos[i];
        }
        resp.n_files = (size_t)n;
        resp.files = ptrs;
    } else {
        /* the answer must fit one frame to the JobManager, whatever it asked for */
        uint64_t cap = (uint64_t)fl_conf_get_bytes(conf, "rpc.frame.max-size") - 4096;
        size_t len = 0;
        int st = fl_logfiles_read(r->name, (size_t)FL_MIN(r->max_bytes, cap), &data, &len,
                                  &resp.offset, &resp.size, &err);
        if (st) {
            resp.status = st;
            resp.error = err.msg;
        } else {
            resp.data.data = data;
            resp.data.len = len;
        }
    }
    fl_rpc_reply(rpc, msg, FL_RPC_LOG_RESPONSE, &resp.base);
    free(data);
    free(infos);
    free(ptrs);
    free(files);
    fl_rpc_msg_free(msg);
}
