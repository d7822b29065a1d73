/* latency.c -- Flink's latency tracking (metrics.latency.interval, issue 12).
 *
 * A source task sends a latency marker every interval (checked where the source loop
 * already reads the clock for its periodic work, every 16 polls or when idle: nothing per
 * record) down one subpartition of each of its writers, the next one each time (Flink
 * sends each marker down one random channel: a marker per channel would multiply by the
 * parallelism at every shuffle). A marker is an event: it passes no user function and no
 * operator, only the tasks. A task that receives one records the time since it left its
 * source in the histogram of that source vertex (the last FL_TASK_LATENCY_WINDOW markers,
 * as Flink's DescriptiveStatisticsHistogram) and sends it on the same way. Chained
 * operators share their task's latency: Flint records it per vertex (Flink's operator_id is
 * the vertex's id here). The marker carries wall-clock ms: across hosts the result includes
 * their clock difference, as in Flink.
 *
 * fl_task_vertex_id (the id a marker carries, by which the TaskManager's metrics name the
 * histograms) is defined here, so that this file calls nothing back in task.c.
 *
 * Task thread, except fl_task_latency_get (the TaskExecutor's, under lat_lock, which the
 * task takes once per marker, never per record).
 */
#include "common/util.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct fl_lat_hist {
    int source;
    int64_t count;
    int n, pos;
    int64_t ring[FL_TASK_LATENCY_WINDOW];
} fl_lat_hist;

void fl_task_latency_init(fl_task *t)
{
    pthread_mutex_init(&t->lat_lock, NULL);
    t->latency_interval_ms = fl_conf_get_duration_ms(t->conf, "metrics.latency.interval");
    t->next_latency_ms = 0;
    /* the job's setting, the same at every task of it: no markers, no histograms */
    if (t->latency_interval_ms > 0)
        t->lat = fl_xcalloc(FL_TASK_LATENCY_SOURCES, sizeof *t->lat);
}

void fl_task_latency_destroy(fl_task *t)
{
    pthread_mutex_destroy(&t->lat_lock);
    free(t->lat);
}

int fl_task_vertex_id(const fl_task *t) { return t->tdd->vertex->id; }

static void send_on(fl_task *t, const uint8_t *marker)
{
    uint32_t rr = t->latency_rr++;
    for (int k = 0; k < t->nwriters; k++)
        fl_writer_event_to(&t->writers[k], rr, FL_EV_LATENCY_MARKER, marker,
                           FL_LATENCY_MARKER_LEN);
}

void fl_task_latency_emit_due(fl_task *t)
{
    int64_t now = fl_now_ms();
    if (now < t->next_latency_ms)
        return;
    t->next_latency_ms = now + t->latency_interval_ms;
    uint8_t m[FL_LATENCY_MARKER_LEN];
    int32_t vertex = (int32_t)fl_task_vertex_id(t), subtask = (int32_t)t->view.subtask;
    memcpy(m, &now, 8);
    memcpy(m + 8, &vertex, 4);
    memcpy(m + 12, &subtask, 4);
    send_on(t, m);
}

void fl_task_latency_on_marker(fl_task *t, const uint8_t *data, uint32_t len)
{
    if (len != FL_LATENCY_MARKER_LEN || !t->lat)
        return;
    int64_t sent;
    int32_t source;
    memcpy(&sent, data, 8);
    memcpy(&source, data + 8, 4);
    int64_t lat = fl_now_ms() - sent;
    if (lat < 0)
        lat = 0; /* another host's clock ahead of ours */
    pthread_mutex_lock(&t->lat_lock);
    fl_lat_hist *h = NULL;
    for (int i = 0; i < t->nlat && !h; i++)
        if (t->lat[i].source == source)
            h = &t->lat[i];
    if (!h && t->nlat < FL_TASK_LATENCY_SOURCES) {
        h = &t->lat[t->nlat++];
        h->source = source;
    }
    if (h) { /* a job of more source vertices than that: the first ones are kept */
        h->ring[h->pos] = lat;
        h->pos = (h->pos + 1) % FL_TASK_LATENCY_WINDOW;
        if (h->n < FL_TASK_LATENCY_WINDOW)
            h->n++;
        h->count++;
    }
    pthread_mutex_unlock(&t->lat_lock);
    send_on(t, data);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of the n sorted values, interpolated as Apache Commons Math's default
 * (which Flink's histogram statistics use): position q * (n + 1). */
static double quantile(const int64_t *v, int n, double q)
{
    double pos = q * (n + 1);
    if (pos < 1)
        return (double)v[0];
    if (pos >= n)
        return (double)v[n - 1];
    int i = (int)pos;
    double frac = pos - i;
    return (double)v[i - 1] + frac * (double)(v[i] - v[i - 1]);
}

int fl_task_latency_get(fl_task *t, fl_task_latency *out, int max)
{
    int64_t sorted[FL_TASK_LATENCY_WINDOW];
    int k = 0;
    pthread_mutex_lock(&t->lat_lock);
    for (int i = 0; i < t->nlat && k < max; i++) {
        const fl_lat_hist *h = &t->lat[i];
        if (h->n == 0)
            continue;
        memcpy(sorted, h->ring, (size_t)h->n * sizeof *sorted);
        fl_task_latency *o = &out[k++];
        o->source_vertex = h->source;
        o->count = h->count;
        qsort(sorted, (size_t)h->n, sizeof *sorted, cmp_i64);
        double sum = 0;
        for (int j = 0; j < h->n; j++)
            sum += (double)sorted[j];
        o->min = (double)sorted[0];
        o->max = (double)sorted[h->n - 1];
        o->mean = sum / h->n;
        o->p50 = quantile(sorted, h->n, 0.5);
        o->p95 = quantile(sorted, h->n, 0.95);
        o->p99 = quantile(sorted, h->n, 0.99);
    }
    pthread_mutex_unlock(&t->lat_lock);
    return k;
}
