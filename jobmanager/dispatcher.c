/* dispatcher.c -- see dispatcher.h. Everything after start runs on the dispatcher thread. */
#include "dispatcher.h"
#include "log.h"
#include "rest.h"
#include "util.h"
#include "version.h"

#include <stdlib.h>
#include <string.h>

struct fl_dispatcher {
    fl_endpoint *ep;
    const fl_conf *conf;
    fl_rest *rest;
    int rest_port;
    fl_cluster_view *view; /* latest snapshot from the ResourceManager */
    int jobs_running, jobs_finished, jobs_cancelled, jobs_failed;
};

void fl_dispatcher_on_cluster_view(void *ctx, fl_cluster_view *view)
{
    fl_dispatcher *d = ctx;
    fl_cluster_view_free(d->view);
    d->view = view;
}

static void count_slots(const fl_dispatcher *d, int *total, int *free_slots)
{
    *total = *free_slots = 0;
    for (int i = 0; d->view && i < d->view->n; i++) {
        *total += d->view->tms[i].slots_total;
        *free_slots += d->view->tms[i].slots_free;
    }
}

static void get_overview(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    int total, avail;
    count_slots(d, &total, &avail);
    json_t *o = json_object();
    json_object_set_new(o, "taskmanagers", json_integer(d->view ? d->view->n : 0));
    json_object_set_new(o, "slots-total", json_integer(total));
    json_object_set_new(o, "slots-available", json_integer(avail));
    json_object_set_new(o, "jobs-running", json_integer(d->jobs_running));
    json_object_set_new(o, "jobs-finished", json_integer(d->jobs_finished));
    json_object_set_new(o, "jobs-cancelled", json_integer(d->jobs_cancelled));
    json_object_set_new(o, "jobs-failed", json_integer(d->jobs_failed));
    json_object_set_new(o, "flint-version", json_string(FL_VERSION));
    fl_rest_reply_json(req, 200, o);
}

static json_t *tm_json(const fl_tm_view *t)
{
    return json_pack("{s:s, s:s, s:i, s:i, s:I, s:i, s:i}", "id", t->resource_id, "path",
                     t->path, "dataPort", t->data_port, "jmxPort", -1, "timeSinceLastHeartbeat",
                     (json_int_t)t->last_heartbeat_ms, "slotsNumber", t->slots_total,
                     "freeSlots", t->slots_free);
}

static void get_taskmanagers(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    json_t *arr = json_array();
    for (int i = 0; d->view && i < d->view->n; i++)
        json_array_append_new(arr, tm_json(&d->view->tms[i]));
    fl_rest_reply_json(req, 200, json_pack("{s:o}", "taskmanagers", arr));
}

static void get_taskmanager(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    const char *id = fl_rest_param(p, "taskmanagerid");
    for (int i = 0; d->view && i < d->view->n; i++)
        if (strcmp(d->view->tms[i].resource_id, id) == 0) {
            fl_rest_reply_json(req, 200, tm_json(&d->view->tms[i]));
            return;
        }
    fl_rest_error(req, 404, "TaskManager %s does not exist.", id);
}

/* Flink's dashboard configuration. */
static void get_config(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    fl_rest_reply_json(
        req, 200,
        json_pack("{s:I, s:s, s:i, s:s, s:s, s:{s:b, s:b}}", "refresh-interval",
                  (json_int_t)fl_conf_get_duration_ms(d->conf, "web.refresh-interval"),
                  "timezone-name", "UTC", "timezone-offset", 0, "flint-version", FL_VERSION,
                  "flint-revision", FL_VERSION, "features", "web-submit", 0, "web-cancel", 1));
}

static void add_kv(void *arg, const char *key, const char *value)
{
    json_array_append_new(arg, json_pack("{s:s, s:s}", "key", key, "value", value));
}

/* The effective configuration, secrets masked (Flink's /jobmanager/config). */
static void get_jm_config(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    json_t *arr = json_array();
    fl_conf_foreach(d->conf, true, add_kv, arr);
    fl_rest_reply_json(req, 200, arr);
}

static void get_jobs(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_rest_reply_json(req, 200, json_pack("{s:[]}", "jobs"));
}

static void get_jobs_overview(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_rest_reply_json(req, 200, json_pack("{s:[]}", "jobs"));
}

fl_dispatcher *fl_dispatcher_new(const fl_conf *conf, fl_rm *rm, fl_err *err)
{
    fl_dispatcher *d = fl_xcalloc(1, sizeof *d);
    d->conf = conf;
    d->ep = fl_endpoint_new("dispatcher");
    if (!d->ep)
        goto fail;
    d->rest = fl_rest_new(fl_endpoint_base(d->ep), d, 512u << 20);
    if (!d->rest)
        goto fail;
    fl_rest_route(d->rest, "GET", "/overview", get_overview);
    fl_rest_route(d->rest, "GET", "/config", get_config);
    fl_rest_route(d->rest, "GET", "/jobmanager/config", get_jm_config);
    fl_rest_route(d->rest, "GET", "/taskmanagers", get_taskmanagers);
    fl_rest_route(d->rest, "GET", "/taskmanagers/:taskmanagerid", get_taskmanager);
    fl_rest_route(d->rest, "GET", "/jobs", get_jobs);
    fl_rest_route(d->rest, "GET", "/jobs/overview", get_jobs_overview);
    if (fl_rest_listen(d->rest, fl_conf_get_str(conf, "rest.bind-address"),
                       (int)fl_conf_get_int(conf, "rest.port"), &d->rest_port, err) < 0)
        goto fail;
    fl_rm_watch(rm, d->ep, fl_dispatcher_on_cluster_view);
    return d;
fail:
    fl_dispatcher_free(d);
    return NULL;
}

fl_endpoint *fl_dispatcher_endpoint(fl_dispatcher *d)
{
    return d->ep;
}

int fl_dispatcher_rest_port(const fl_dispatcher *d)
{
    return d->rest_port;
}

int fl_dispatcher_start(fl_dispatcher *d, fl_err *err)
{
    return fl_endpoint_start(d->ep, d, err);
}

void fl_dispatcher_free(fl_dispatcher *d)
{
    if (!d)
        return;
    fl_endpoint_stop(d->ep);
    fl_rest_free(d->rest);
    fl_cluster_view_free(d->view);
    fl_endpoint_free(d->ep);
    free(d);
}
