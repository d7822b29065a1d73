/* task_metrics.c -- see task_metrics.h. JobMaster thread. */
#include "task_metrics.h"
#include "common/util.h"

#include <string.h>

void fl_subtask_metrics_take(fl_subtask_metrics *sm, const Fl__Pb__TaskMetrics *m,
                             int64_t now_mono_ms)
{
    if (!m)
        return;
    uint64_t v[FL_TM_NCOUNTERS] = {m->records_in, m->records_out, m->bytes_in, m->bytes_out,
                                   m->backpressure_ms, m->idle_ms, m->busy_ms};
    bool reset = sm->base_ms == 0;
    for (int k = FL_TM_RIN; k <= FL_TM_BOUT; k++)
        reset |= v[k] < sm->v[k]; /* a new attempt counts from zero */
    memcpy(sm->v, v, sizeof v);
    sm->wm = m->current_input_watermark;
    sm->in_pool = m->in_pool_usage;
    sm->out_pool = m->out_pool_usage;
    sm->nlat = 0;
    for (size_t i = 0; i < m->n_latency && sm->nlat < (int)FL_ARRAY_LEN(sm->lat); i++) {
        const Fl__Pb__LatencyHistogram *h = m->latency[i];
        sm->lat[sm->nlat++] = (struct fl_subtask_latency){h->source_vertex, h->min, h->max,
                                                          h->mean, h->p50, h->p95, h->p99};
    }
    if (reset) {
        memcpy(sm->base, v, sizeof v);
        sm->base_ms = now_mono_ms;
        memset(sm->rate, 0, sizeof sm->rate);
        sm->has_rates = false;
        return;
    }
    int64_t dt = now_mono_ms - sm->base_ms;
    if (dt < FL_RATE_WINDOW_MS)
        return;
    for (int k = 0; k < FL_TM_NCOUNTERS; k++)
        /* busy time is wall minus idle and backpressure, each rounded: it may step back
         * a millisecond */
        sm->rate[k] = v[k] > sm->base[k] ? (double)(v[k] - sm->base[k]) * 1000.0 / (double)dt : 0;
    /* time per second is a share of the second: rounding between reports must not show
     * 1,003 ms of a second */
    for (int k = FL_TM_BP_MS; k <= FL_TM_BUSY_MS; k++)
        if (sm->rate[k] > 1000)
            sm->rate[k] = 1000;
    memcpy(sm->base, v, sizeof v);
    sm->base_ms = now_mono_ms;
    sm->has_rates = true;
}

void fl_op_counts_take(fl_op_counts *c, size_t nc, const Fl__Pb__TaskMetrics *m,
                       const fl_subtask_metrics *sm, int64_t old_base_ms)
{
    /* a report from before the chain was built has none; another length is not this
     * vertex's chain */
    if (!m || m->n_operator_records_in != nc || m->n_operator_records_out != nc)
        return;
    bool moved = sm->base_ms != old_base_ms;
    double dt = (double)(sm->base_ms - old_base_ms);
    for (size_t k = 0; k < nc; k++) {
        fl_op_counts *o = &c[k];
        o->in = m->operator_records_in[k];
        o->out = m->operator_records_out[k];
        if (!moved)
            continue;
        /* the subtask's window rolled (rates) or restarted (a new attempt: none yet) */
        if (sm->has_rates && dt > 0 && o->in >= o->base_in && o->out >= o->base_out) {
            o->in_rate = (double)(o->in - o->base_in) * 1000.0 / dt;
            o->out_rate = (double)(o->out - o->base_out) * 1000.0 / dt;
        } else {
            o->in_rate = o->out_rate = 0;
        }
        o->base_in = o->in;
        o->base_out = o->out;
    }
}

void fl_tm_process_take(fl_tm_process *p, const Fl__Pb__MetricsTaskManager *m,
                        int64_t now_mono_ms)
{
    if (!m)
        return;
    if (p->known && now_mono_ms > p->at_mono_ms && m->cpu_time_ms >= p->cpu_time_ms) {
        double load = (double)(m->cpu_time_ms - p->cpu_time_ms) /
                      (double)(now_mono_ms - p->at_mono_ms) / (m->cpu_cores > 0 ? m->cpu_cores : 1);
        p->cpu_load = load > 1 ? 1 : load;
    }
    p->known = true;
    p->cpu_time_ms = m->cpu_time_ms;
    p->rss_bytes = m->rss_bytes;
    p->vm_bytes = m->vm_bytes;
    p->segment_bytes = m->network_segment_bytes;
    p->net_total = m->network_total;
    p->net_available = m->network_available;
    p->threads = m->threads;
    p->cores = m->cpu_cores;
    p->at_mono_ms = now_mono_ms;
}
