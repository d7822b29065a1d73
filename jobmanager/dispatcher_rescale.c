/* dispatcher_rescale.c -- Flink's resource requirements of a job: GET and PUT
 * /jobs/:jobid/resource-requirements, per vertex {"parallelism": {"lowerBound": L,
 * "upperBound": U}}. A PUT that changes a running job's parallelism (the upper bounds)
 * rescales it: the JobMaster stops its tasks and restores the latest completed checkpoint
 * at the new parallelism (fl_sched_rescale). The latest completed checkpoint rather than a
 * fresh one: it is there already, so the rescale starts at once, and it replays at most a
 * checkpoint interval. Everything a request can get wrong is refused here with its reason,
 * before the JobMaster hears of it. Dispatcher thread only.
 */
#include "common/log.h"
#include "common/util.h"
#include "dispatcher_internal.h"

#include <stdlib.h>
#include <string.h>

static void get_requirements(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (!j)
        return;
    json_t *out = json_object(), *v;
    size_t i;
    json_array_foreach(json_object_get(j->details, "vertices"), i, v) {
        const char *id = json_string_value(json_object_get(v, "id"));
        if (id)
            json_object_set_new(out, id,
                                json_pack("{s:{s:i, s:I}}", "parallelism", "lowerBound", 1,
                                          "upperBound",
                                          json_integer_value(json_object_get(v, "parallelism"))));
    }
    fl_rest_reply_json(req, 200, out);
}

/* The vertex of the job with this id (its index into `vertices`), or -1. */
static int vertex_index(json_t *vertices, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(vertices, i, v) {
        const char *vid = json_string_value(json_object_get(v, "id"));
        if (vid && !strcmp(vid, id))
            return (int)i;
    }
    return -1;
}

/* The new parallelism of every vertex from the body into par; 0, or -1 with why. */
static int parse_requirements(json_t *body, json_t *vertices, int *par, char *why, size_t len)
{
    const char *id;
    json_t *r;
    json_object_foreach(body, id, r) {
        int vi = vertex_index(vertices, id);
        if (vi < 0) {
            snprintf(why, len, "the job has no vertex '%.64s'", id);
            return -1;
        }
        json_t *pp = json_object_get(r, "parallelism");
        json_t *lo = json_object_get(pp, "lowerBound"), *hi = json_object_get(pp, "upperBound");
        json_t *vx = json_array_get(vertices, (size_t)vi);
        json_int_t maxp = json_integer_value(json_object_get(vx, "maxParallelism"));
        if (!json_is_integer(hi) || (lo && !json_is_integer(lo))) {
            snprintf(why, len, "vertex %s: parallelism.upperBound (and lowerBound) must be "
                     "integers", id);
            return -1;
        }
        json_int_t l = lo ? json_integer_value(lo) : 1, u = json_integer_value(hi);
        if (l < 1 || u < l || u > maxp) {
            snprintf(why, len, "vertex %s: the bounds must satisfy 1 <= lowerBound <= upperBound "
                     "<= its max parallelism %lld, not %lld..%lld", id, (long long)maxp,
                     (long long)l, (long long)u);
            return -1;
        }
        par[vi] = (int)u;
    }
    return 0;
}

/* Forward edges connect subtask i to subtask i: both ends need one parallelism. */
static int check_forward(json_t *details, const int *par, char *why, size_t len)
{
    size_t i, k;
    json_t *node, *in;
    json_array_foreach(json_object_get(json_object_get(details, "plan"), "nodes"), i, node) {
        json_array_foreach(json_object_get(node, "inputs"), k, in) {
            const char *ship = json_string_value(json_object_get(in, "ship_strategy"));
            json_int_t src = json_integer_value(json_object_get(in, "id"));
            json_int_t dst = json_integer_value(json_object_get(node, "id"));
            if (ship && !strcmp(ship, "FORWARD") && src >= 0 && dst >= 0 &&
                par[src] != par[dst]) {
                snprintf(why, len, "vertices %lld and %lld are connected by a forward edge, "
                         "so their parallelism must stay equal (%d and %d asked)",
                         (long long)src, (long long)dst, par[src], par[dst]);
                return -1;
            }
        }
    }
    return 0;
}

static void put_requirements(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (!j)
        return;
    json_t *body = fl_disp_json_body(req);
    if (!body)
        return;
    json_t *vertices = json_object_get(j->details, "vertices");
    size_t nv = json_array_size(vertices);
    int *par = fl_xcalloc(nv + 1, sizeof *par);
    bool change = false;
    char why[512];
    for (size_t i = 0; i < nv; i++)
        par[i] = (int)json_integer_value(
            json_object_get(json_array_get(vertices, i), "parallelism"));
    int status = 400;
    if (parse_requirements(body, vertices, par, why, sizeof why) < 0 ||
        check_forward(j->details, par, why, sizeof why) < 0)
        goto refuse;
    for (size_t i = 0; i < nv; i++)
        change |= par[i] != (int)json_integer_value(
                                json_object_get(json_array_get(vertices, i), "parallelism"));
    status = 409;
    if (!j->jm || j->state != FL_JOB_RUNNING) {
        snprintf(why, sizeof why, "job %s is not running: it is %s", j->id,
                 fl_job_state_name(j->state));
        goto refuse;
    }
    if (!change) {
        fl_rest_reply_json(req, 200, json_object());
        goto done;
    }
    json_t *cfg = json_object_get(j->details, "checkpoints-config");
    json_t *counts = json_object_get(json_object_get(j->details, "checkpoints"), "counts");
    if (json_is_true(json_object_get(cfg, "unaligned_checkpoints"))) {
        snprintf(why, sizeof why, "job %s uses unaligned checkpoints, whose in-flight data "
                 "can be restored only at the same parallelism", j->id);
        goto refuse;
    }
    if (json_integer_value(json_object_get(counts, "completed")) < 1) {
        snprintf(why, sizeof why, "job %s has no completed checkpoint to rescale from yet "
                 "(it needs execution.checkpointing.interval)", j->id);
        goto refuse;
    }
    fl_jm_rescale(j->jm, par);
    par = NULL;
    fl_rest_reply_json(req, 200, json_object());
    goto done;
refuse:
    fl_rest_error(req, status, "Cannot change the resource requirements: %s.", why);
done:
    free(par);
    json_decref(body);
}

/* scheduler-mode: reactive, or jobmanager.scheduler: adaptive: the jobs follow the slots */
static bool reactive(const fl_dispatcher *d)
{
    const char *mode = fl_conf_get_str(d->conf, "scheduler-mode");
    const char *sched = fl_conf_get_str(d->conf, "jobmanager.scheduler");
    return (mode && !strcmp(mode, "reactive")) || (sched && !strcmp(sched, "adaptive"));
}

static int cluster_slots(const fl_dispatcher *d)
{
    int n = 0;
    for (int i = 0; d->view && i < d->view->n; i++)
        n += d->view->tms[i].slots_total;
    return n;
}

void fl_disp_reactive_view(fl_dispatcher *d)
{
    int n = cluster_slots(d);
    if (!reactive(d) || n == d->reactive_slots)
        return; /* a heartbeat's view: the slots are the same */
    fl_info("The cluster has %d slots now (%d before); the running jobs follow (%s).", n,
            d->reactive_slots, fl_conf_get_str(d->conf, "scheduler-mode") ? "reactive mode"
                                                                          : "adaptive scheduler");
    d->reactive_slots = n;
    for (job_entry *j = d->jobs; j; j = j->next)
        if (j->jm && !fl_job_state_is_terminal(j->state))
            fl_jm_cluster_slots(j->jm, n);
}

void fl_disp_reactive_new_job(fl_dispatcher *d, fl_jm *jm)
{
    if (reactive(d))
        fl_jm_cluster_slots(jm, cluster_slots(d));
}

void fl_disp_rescale_routes(fl_dispatcher *d)
{
    fl_rest_route(d->rest, "GET", "/jobs/:jobid/resource-requirements", get_requirements);
    fl_rest_route(d->rest, "PUT", "/jobs/:jobid/resource-requirements", put_requirements);
}
