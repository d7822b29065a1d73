/* dispatcher.c -- see dispatcher.h: the REST API, submissions and the messages of
 * TaskManagers. What changes with leadership (and the JobMasters' status) is
 * dispatcher_leader.c's; the job table, the job store and the request helpers are
 * dispatcher_jobs.c's, the shared layout dispatcher_jobs.h. Everything after start runs on
 * the dispatcher thread. */
#include "checkpoint_coordinator.h"
#include "common/bundle_sign.h"
#include "common/job_state.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/netaddr.h"
#include "common/path.h"
#include "common/sha256.h"
#include "common/tls.h"
#include "common/userdir.h"
#include "common/util.h"
#include "common/version.h"
#include "dispatcher_internal.h"
#include "job_master.h"
#include "rest_auth.h"

#include <flint/flint.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

/* The savepoint directory a request may name, after file://: it must fit the JobManager's
 * directory buffers and, with the checkpoint's shared directory, one checkpoint barrier:
 * the coordinator's bound. */
#define SAVEPOINT_TARGET_MAX SAVEPOINT_DIR_MAX
/* A savepoint to restore from (flint run -s) and a bundle's file name. */
#define RESTORE_PATH_MAX 1000
#define BUNDLE_NAME_MAX 255

void fl_dispatcher_on_cluster_view(void *ctx, fl_cluster_view *view)
{
    fl_dispatcher *d = ctx;
    fl_cluster_view_free(d->view);
    d->view = view;
    fl_disp_reactive_view(d);
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
    if (!fl_disp_is_leader(d)) { /* a standby shows no cluster state: it has none */
        json_t *o = json_pack("{s:s}", "flint-version", FL_VERSION);
        fl_disp_overview_ha(d, o);
        fl_rest_reply_json(req, 200, o);
        return;
    }
    count_slots(d, &total, &avail);
    json_t *o = json_object();
    json_object_set_new(o, "taskmanagers", json_integer(d->view ? d->view->n : 0));
    json_object_set_new(o, "slots-total", json_integer(total));
    json_object_set_new(o, "slots-available", json_integer(avail));
    int running = 0, finished = 0, cancelled = 0, failed = 0;
    for (job_entry *j = d->jobs; j; j = j->next) {
        running += !fl_job_state_is_terminal(j->state);
        finished += j->state == FL_JOB_FINISHED;
        cancelled += j->state == FL_JOB_CANCELED;
        failed += j->state == FL_JOB_FAILED;
    }
    json_object_set_new(o, "jobs-running", json_integer(running));
    json_object_set_new(o, "jobs-finished", json_integer(finished));
    json_object_set_new(o, "jobs-cancelled", json_integer(cancelled));
    json_object_set_new(o, "jobs-failed", json_integer(failed));
    json_object_set_new(o, "flint-version", json_string(FL_VERSION));
    fl_disp_overview_ha(d, o);
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
                  "flint-revision", FL_VERSION, "features", "web-submit", 0, "web-cancel",
                  fl_conf_get_bool(d->conf, "web.cancel.enable")));
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
    fl_disp_config_ha(d, arr);
    fl_rest_reply_json(req, 200, arr);
}

/* ---- jobs ------------------------------------------------------------------------- */

static void get_jobs(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    json_t *arr = json_array();
    for (job_entry *j = d->jobs; j; j = j->next)
        json_array_append_new(arr, json_pack("{s:s, s:s}", "id", j->id, "status",
                                             fl_job_state_name(j->state)));
    fl_rest_reply_json(req, 200, json_pack("{s:o}", "jobs", arr));
}

static void get_jobs_overview(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    json_t *arr = json_array();
    for (job_entry *j = d->jobs; j; j = j->next)
        if (j->overview)
            json_array_append(arr, j->overview);
    fl_rest_reply_json(req, 200, json_pack("{s:o}", "jobs", arr));
}

static void get_job(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (j)
        fl_rest_reply_json(req, 200, json_incref(j->details));
}

static void patch_job(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (!j)
        return;
    /* Flink's default mode is cancel; anything but cancel is refused, never defaulted */
    const char *mode = fl_rest_query(p, "mode");
    if (mode && strcmp(mode, "cancel") != 0) {
        fl_rest_error(req, 400, "Unsupported mode '%.64s' (only mode=cancel).", mode);
        return;
    }
    if (!j->jm || fl_job_state_is_terminal(j->state)) {
        fl_rest_error(req, 409, "Job %s is not running: it is %s.", j->id,
                      fl_job_state_name(j->state));
        return;
    }
    fl_jm_cancel(j->jm);
    fl_rest_reply_json(req, 202, json_object());
}

static void get_checkpoints(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    json_t *c = j ? json_object_get(j->details, "checkpoints") : NULL;
    if (j)
        fl_rest_reply_json(req, 200, c ? json_incref(c) : json_object());
}

static void get_checkpoints_config(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    json_t *c = j ? json_object_get(j->details, "checkpoints-config") : NULL;
    if (!j)
        return;
    if (!c || json_integer_value(json_object_get(c, "interval")) == INT64_MAX)
        fl_rest_error(req, 404, "Checkpointing is not enabled for job %s.", j->id);
    else
        fl_rest_reply_json(req, 200, json_incref(c));
}

static void savepoint_common(fl_dispatcher *d, struct evhttp_request *req,
                             const fl_rest_params *p, bool stop)
{
    job_entry *j = fl_disp_job_param(d, req, p);
    if (!j)
        return;
    json_t *body = fl_disp_json_body(req);
    if (!body)
        return;
    if (!j->jm || j->state != FL_JOB_RUNNING) {
        fl_rest_error(req, 409, "Job %s is not running: it is %s.", j->id,
                      fl_job_state_name(j->state));
        json_decref(body);
        return;
    }
    const char *field = stop ? "targetDirectory" : "target-directory";
    json_t *jdir = json_object_get(body, field), *jcancel = json_object_get(body, "cancel-job");
    json_t *jdrain = stop ? json_object_get(body, "drain") : NULL;
    const char *dir = json_string_value(jdir);
    char why[160];
    if ((jdir && !json_is_null(jdir) && !dir) || (jcancel && !json_is_boolean(jcancel)) ||
        (jdrain && !json_is_boolean(jdrain))) {
        fl_rest_error(req, 400, "%s must be a string, cancel-job and drain true or false.",
                      field);
        json_decref(body);
        return;
    }
    if (dir && json_string_length(jdir) > 0 && /* "": the default directory */
        fl_disp_check_path(dir, json_string_length(jdir), SAVEPOINT_TARGET_MAX, why,
                           sizeof why) < 0) {
        fl_rest_error(req, 400, "Invalid %s: %s.", field, why);
        json_decref(body);
        return;
    }
    fl_err perr;
    if (dir && json_string_length(jdir) > 0 && fl_disp_confine_target(d, dir, &perr) < 0) {
        fl_rest_error(req, 403, "%s %.200s refused: %s.", field, dir, perr.msg);
        json_decref(body);
        return;
    }
    bool cancel = json_is_true(jcancel);
    uint64_t token;
    char hex[17];
    fl_random_hex(hex, 8);
    token = strtoull(hex, NULL, 16);
    fl_jm_trigger_savepoint(j->jm, dir, token, stop, cancel, json_is_true(jdrain));
    char id[32];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)token);
    fl_rest_reply_json(req, 202, json_pack("{s:s}", "request-id", id));
    json_decref(body);
}

static void post_savepoint(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    savepoint_common(ctx, req, p, false);
}

static void post_stop(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    savepoint_common(ctx, req, p, true);
}

static void get_savepoint(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (!j)
        return;
    const char *tid = fl_rest_param(p, "triggerid");
    json_t *s = json_object_get(json_object_get(j->details, "savepoints"), tid);
    if (s)
        fl_rest_reply_json(req, 200, json_incref(s));
    else if (j->jm && !fl_job_state_is_terminal(j->state))
        /* triggered, not yet seen in the JobMaster's status */
        fl_rest_reply_json(req, 200, json_pack("{s:{s:s}}", "status", "id", "IN_PROGRESS"));
    else
        fl_rest_error(req, 404, "No savepoint %s for job %s.", tid, j->id);
}

/* Checks a submitted graph; the network never gets to hand us an inconsistent one. */
static int validate_graph(const Fl__Pb__JobGraph *g, fl_err *err)
{
    if (!g || strlen(g->job_id) != 32 || strspn(g->job_id, "0123456789abcdef") != 32) {
        fl_err_set(err, "the job id must be 32 lowercase hex characters");
        return -1;
    }
    if (g->n_vertices == 0 || g->n_vertices > 10000) {
        fl_err_set(err, "the job graph has no vertices (or too many)");
        return -1;
    }
    if (g->max_parallelism < 0 || g->max_parallelism > FL_MAX_MAX_PARALLELISM) {
        fl_err_set(err, "invalid max parallelism %d", g->max_parallelism);
        return -1;
    }
    for (size_t v = 0; v < g->n_vertices; v++) {
        const Fl__Pb__JobVertex *jv = g->vertices[v];
        if (jv->id != (int)v || jv->max_parallelism < 1 ||
            jv->max_parallelism > FL_MAX_MAX_PARALLELISM || jv->parallelism < 1 ||
            jv->parallelism > jv->max_parallelism || jv->n_chain == 0) {
            fl_err_set(err, "vertex %zu is malformed (id, parallelism 1..max or empty chain)", v);
            return -1;
        }
        for (size_t k = 0; k < jv->n_chain; k++) {
            const Fl__Pb__OperatorSpec *op = jv->chain[k];
            for (size_t c = 0; c < op->n_chained_outputs; c++)
                if (op->chained_outputs[c] <= (int)k || op->chained_outputs[c] >= (int)jv->n_chain) {
                    fl_err_set(err, "vertex %zu: bad chained output", v);
                    return -1;
                }
            for (size_t c = 0; c < op->n_network_outputs; c++)
                if (op->network_outputs[c] < 0 || op->network_outputs[c] >= (int)jv->n_outputs) {
                    fl_err_set(err, "vertex %zu: bad network output", v);
                    return -1;
                }
        }
        for (size_t k = 0; k < jv->n_outputs; k++) {
            const Fl__Pb__VertexOutput *o = jv->outputs[k];
            if (o->target_vertex <= (int)v || o->target_vertex >= (int)g->n_vertices ||
                o->from_op < 0 || o->from_op >= (int)jv->n_chain || o->partitioner < 0 ||
                o->partitioner > FL__PB__PARTITIONER__PART_CUSTOM) {
                fl_err_set(err, "vertex %zu: bad output %zu", v, k);
                return -1;
            }
        }
        for (size_t k = 0; k < jv->n_inputs; k++) {
            const Fl__Pb__VertexInput *in = jv->inputs[k];
            if (in->source_vertex < 0 || in->source_vertex >= (int)v ||
                in->source_output < 0 ||
                in->source_output >= (int)g->vertices[in->source_vertex]->n_outputs ||
                g->vertices[in->source_vertex]->outputs[in->source_output]->target_vertex !=
                    (int)v) {
                fl_err_set(err, "vertex %zu: bad input %zu", v, k);
                return -1;
            }
        }
    }
    return 0;
}

/* The graph's names and paths that the JobManager keeps, shows and logs are bounded: the job
 * name by jobmanager.job-name.max-length (a job store of huge names made GET /jobs/overview
 * take seconds), the bundle's name and the savepoint to restore from by fixed limits; none
 * may hold a control character. */
static int check_strings(const fl_dispatcher *d, const Fl__Pb__JobGraph *g, fl_err *err)
{
    char why[160];
    size_t n = strlen(g->name);
    if (n > d->max_name) {
        fl_err_set(err, "The job name is %zu bytes long; at most %zu are accepted "
                        "(jobmanager.job-name.max-length).", n, d->max_name);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)g->name[i] < 0x20 || g->name[i] == 0x7f) {
            fl_err_set(err, "The job name holds a control character (0x%02x).",
                       (unsigned char)g->name[i]);
            return -1;
        }
    if (g->bundle_name && *g->bundle_name &&
        fl_disp_check_path(g->bundle_name, strlen(g->bundle_name), BUNDLE_NAME_MAX, why,
                           sizeof why) < 0) {
        fl_err_set(err, "Invalid bundle name: %s.", why);
        return -1;
    }
    if (g->savepoint_path && *g->savepoint_path &&
        fl_disp_check_path(g->savepoint_path, strlen(g->savepoint_path), RESTORE_PATH_MAX,
                           why, sizeof why) < 0) {
        fl_err_set(err, "Invalid savepoint path to restore from: %s.", why);
        return -1;
    }
    return 0;
}

static void on_expire_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_disp_jobstore_trim(arg);
}

static void post_job(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(body);
    fl_err err;
    Fl__Pb__SubmitJob *sub =
        fl__pb__submit_job__unpack(NULL, n, n ? evbuffer_pullup(body, (ssize_t)n) : (uint8_t *)"");
    evbuffer_drain(body, n); /* unpacked: the body's memory goes at once, not after the reply */
    if (!sub) {
        fl_rest_error(req, 400, "The request body is not a job submission (SubmitJob protobuf).");
        return;
    }
    uint8_t digest[32];
    fl_conf *job_conf = NULL;
    /* rpc.frame.max-size is at least 1 mb (config_keys.h): no underflow */
    size_t max_bundle = (size_t)fl_conf_get_bytes(d->conf, "rpc.frame.max-size") - 1024;
    if (validate_graph(sub->graph, &err) < 0) {
        fl_rest_error(req, 400, "Invalid job graph: %s", err.msg);
        goto out;
    }
    if (check_strings(d, sub->graph, &err) < 0) {
        fl_rest_error(req, 400, "%s", err.msg);
        goto out;
    }
    if (sub->bundle.len == 0 || sub->bundle.len > max_bundle) {
        fl_rest_error(req, 400, "The job bundle must be 1 byte to %zu bytes "
                                "(rpc.frame.max-size), not %zu.",
                      max_bundle, sub->bundle.len);
        goto out;
    }
    if (fl_disp_find_job(d, sub->graph->job_id)) {
        fl_rest_error(req, 409, "Job %s was already submitted.", sub->graph->job_id);
        goto out;
    }
    if (d->trusted && fl_bundle_verify(d->trusted, sub->graph->bundle_name, sub->bundle.data,
                                       sub->bundle.len, sub->graph->bundle_signature.data,
                                       sub->graph->bundle_signature.len, &err) < 0) {
        fl_warn("Refused job %s: %s", sub->graph->job_id, err.msg);
        fl_rest_error(req, 400, "Job submission refused: %s.", err.msg);
        goto out;
    }
    job_conf = fl_disp_job_conf(d, sub->graph, &err);
    if (!job_conf) {
        fl_rest_error(req, 400, "Invalid job configuration: %s", err.msg);
        goto out;
    }
    if (fl_disp_store_blob(d, sub->bundle.data, sub->bundle.len, digest, &err) < 0) {
        fl_rest_error(req, 500, "%s", err.msg);
        goto out;
    }
    /* The JobMaster takes the graph; the bundle stays in the blob store. */
    Fl__Pb__JobGraph *g = sub->graph;
    g->bundle_sha256.data = fl_xmalloc(32);
    memcpy(g->bundle_sha256.data, digest, 32);
    g->bundle_sha256.len = 32;
    /* with high availability the job is recorded (files synced, then the pointer) before
     * it runs: a new leader runs every job it was told about, and no other */
    int64_t now = fl_now_ms();
    if (d->ha) {
        int rc = fl_ha_store_job(d->ha, d->term, g, sub->bundle.data, sub->bundle.len, now,
                                 &err);
        if (rc < 0) {
            fl_rest_error(req, rc == FL_ZK_EXISTS ? 409 : rc == -1 ? 500 : 503, "%s", err.msg);
            goto out;
        }
    }
    sub->graph = NULL;
    fl_jm_deps deps = {d->rpc, d->rm, d->ep, fl_disp_on_job_status, d->term, d->ha};
    fl_jm *jm = fl_jm_new(&deps, g, job_conf, &err);
    job_conf = NULL;
    if (jm)
        fl_disp_reactive_new_job(d, jm);
    if (!jm || fl_jm_start(jm, &err) < 0) {
        fl_jm_free(jm);
        fl_rest_error(req, 500, "Cannot start the job: %s", err.msg);
        goto out;
    }
    job_entry *j = fl_disp_add_job(d, g->job_id);
    j->jm = jm;
    j->jm_serial = fl_jm_serial(jm);
    j->submitted_ms = now;
    char hex[65];
    fl_sha256_hex(digest, hex);
    fl_info("Received job %s (%s), bundle %s (%zu bytes, sha256 %.16s...)", g->name, g->job_id,
            g->bundle_name, sub->bundle.len, hex);
    fl_rest_reply_json(req, 202, json_pack("{s:s}", "jobid", j->id));
out:
    fl_conf_free(job_conf);
    fl__pb__submit_job__free_unpacked(sub, NULL);
}

/* ---- RPC from TaskManagers -------------------------------------------------------- */

static void on_job_msg(void *ctx, fl_rpc_msg *msg)
{
    fl_dispatcher *d = ctx;
    const char *id = msg->type == FL_RPC_TASK_STATE_UPDATE
                         ? ((Fl__Pb__TaskStateUpdate *)msg->pb)->job_id
                     : msg->type == FL_RPC_ACKNOWLEDGE_CHECKPOINT
                         ? ((Fl__Pb__AcknowledgeCheckpoint *)msg->pb)->job_id
                         : ((Fl__Pb__TaskMetricsReport *)msg->pb)->job_id;
    job_entry *j = fl_disp_find_job(d, id);
    if (j && j->jm)
        fl_jm_deliver(j->jm, msg);
    else
        fl_rpc_msg_free(msg);
}

static void on_blob_request(void *ctx, fl_rpc_msg *msg)
{
    fl_dispatcher *d = ctx;
    Fl__Pb__BlobRequest *r = (Fl__Pb__BlobRequest *)msg->pb;
    Fl__Pb__BlobResponse resp = FL__PB__BLOB_RESPONSE__INIT;
    char *data = NULL;
    size_t len = 0;
    if (r->sha256.len == 32) {
        char hex[65], path[4200];
        fl_sha256_hex(r->sha256.data, hex);
        snprintf(path, sizeof path, "%s/%s.so", d->blob_dir, hex);
        resp.found = fl_read_file(path, &data, &len, NULL) == 0;
    }
    resp.data.data = (uint8_t *)data;
    resp.data.len = len;
    fl_rpc_reply(d->rpc, msg, FL_RPC_BLOB_RESPONSE, &resp.base);
    free(data);
    fl_rpc_msg_free(msg);
}

/* The blob store: blob.storage.directory (the user's own, writable by no one else: the
 * TaskManagers run the bundles it serves), else a fresh directory in the per-user
 * directory, removed at shutdown. Also finds the default checkpoint directory (userdir.h). */
static int make_local_dirs(fl_dispatcher *d, fl_err *err)
{
    const char *dir = fl_conf_get_str(d->conf, "blob.storage.directory");
    char base[4096];
    if (dir && *dir) {
        snprintf(d->blob_dir, sizeof d->blob_dir, "%s", dir);
        if (fl_private_dir(dir, "blob.storage.directory", err) < 0)
            return -1;
    } else {
        if (fl_user_dir(NULL, base, sizeof base, err) < 0)
            return -1;
        snprintf(d->blob_dir, sizeof d->blob_dir, "%.4070s/blobs-XXXXXX", base);
        if (!mkdtemp(d->blob_dir)) { /* O_EXCL-like: a fresh name, 0700 */
            fl_err_set(err, "cannot create a blob directory in %s: %s", base, strerror(errno));
            return -1;
        }
        d->own_blob_dir = true;
    }
    if (!fl_conf_contains(d->conf, "state.checkpoints.dir") &&
        fl_user_dir("checkpoints", d->ckpt_default, sizeof d->ckpt_default, err) < 0)
        return -1;
    return 0;
}

fl_dispatcher *fl_dispatcher_new(const fl_conf *conf, fl_rm *rm, fl_rpc *rpc, fl_ha *ha,
                                 fl_leader_term *term, fl_err *err)
{
    fl_dispatcher *d = fl_xcalloc(1, sizeof *d);
    d->conf = conf;
    d->rm = rm;
    d->rpc = rpc;
    if (make_local_dirs(d, err) < 0)
        goto fail;
    d->ep = fl_endpoint_new("dispatcher");
    if (!d->ep)
        goto fail;
    fl_rest_opts opts;
    if (fl_rest_opts_from_conf(conf, &opts, err) < 0 ||
        fl_tls_new(conf, FL_TLS_REST_SERVER, &d->rest_tls, err) < 0 ||
        fl_rest_auth_load(conf, &d->auth, err) < 0 ||
        fl_trusted_keys_load(conf, &d->trusted, err) < 0)
        goto fail;
    if (d->trusted)
        fl_info("Job bundles must be signed by one of %d trusted key(s) "
                "(security.bundles.trusted-keys).",
                fl_trusted_keys_count(d->trusted));
    opts.tls = d->rest_tls;
    opts.auth = d->auth;
    const char *bind = fl_conf_get_str(conf, "rest.bind-address");
    if (!fl_host_is_loopback(bind) && (!d->rest_tls || !d->auth))
        fl_warn("REST listens on %s, beyond this machine, %s%s%s: anyone who reaches port %lld "
                "can %s (set security.ssl.rest.* and security.rest.auth.tokens)",
                bind, d->rest_tls ? "" : "without TLS", !d->rest_tls && !d->auth ? " and " : "",
                d->auth ? "" : "without tokens", (long long)fl_conf_get_int(conf, "rest.port"),
                d->auth ? "read what it sends" : "submit, cancel and savepoint jobs");
    d->rest = fl_rest_new(fl_endpoint_base(d->ep), d, &opts);
    if (!d->rest) {
        fl_err_set(err, "cannot create the REST server");
        goto fail;
    }
    d->max_name = (size_t)fl_conf_get_int(conf, "jobmanager.job-name.max-length");
    d->max_completed = (int)fl_conf_get_int(conf, "jobstore.max-capacity");
    d->expire_ms = fl_conf_get_duration_ms(conf, "jobstore.expiration-time");
    d->expire_timer = event_new(fl_endpoint_base(d->ep), -1, EV_PERSIST, on_expire_timer, d);
    struct timeval sweep = {d->expire_ms >= 2000 ? 1 : 0, d->expire_ms >= 2000 ? 0 : 100000};
    event_add(d->expire_timer, &sweep);
    fl_rest_route(d->rest, "GET", "/overview", get_overview);
    fl_rest_route(d->rest, "GET", "/config", get_config);
    fl_rest_route(d->rest, "GET", "/jobmanager/config", get_jm_config);
    fl_rest_route(d->rest, "GET", "/taskmanagers", get_taskmanagers);
    fl_rest_route(d->rest, "GET", "/taskmanagers/:taskmanagerid", get_taskmanager);
    fl_rest_route(d->rest, "GET", "/jobs", get_jobs);
    fl_rest_route(d->rest, "GET", "/jobs/overview", get_jobs_overview);
    /* the CLI uploads a SubmitJob protobuf: its own media type, on this route only */
    fl_rest_route_body(d->rest, "POST", "/jobs", "application/x-protobuf", post_job);
    fl_rest_route(d->rest, "GET", "/jobs/:jobid", get_job);
    fl_rest_route(d->rest, "PATCH", "/jobs/:jobid", patch_job);
    fl_rpc_route(rpc, FL_RPC_TASK_STATE_UPDATE, d->ep, on_job_msg);
    fl_rpc_route(rpc, FL_RPC_TASK_METRICS_REPORT, d->ep, on_job_msg);
    fl_rpc_route(rpc, FL_RPC_ACKNOWLEDGE_CHECKPOINT, d->ep, on_job_msg);
    fl_rest_route(d->rest, "GET", "/jobs/:jobid/checkpoints", get_checkpoints);
    fl_rest_route(d->rest, "GET", "/jobs/:jobid/checkpoints/config", get_checkpoints_config);
    fl_rest_route(d->rest, "POST", "/jobs/:jobid/savepoints", post_savepoint);
    fl_rest_route(d->rest, "GET", "/jobs/:jobid/savepoints/:triggerid", get_savepoint);
    fl_rest_route(d->rest, "POST", "/jobs/:jobid/stop", post_stop);
    fl_disp_rescale_routes(d);
    fl_disp_disposal_routes(d);
    fl_rpc_route(rpc, FL_RPC_BLOB_REQUEST, d->ep, on_blob_request);
    fl_disp_metrics_routes(d);
    fl_disp_web_routes(d);
    fl_disp_log_routes(d);
    fl_disp_history_routes(d);
    if (fl_rest_listen(d->rest, fl_conf_get_str(conf, "rest.bind-address"),
                       (int)fl_conf_get_int(conf, "rest.port"), &d->rest_port, err) < 0) {
        fl_err_prefix(err, "REST server (rest.port)");
        goto fail;
    }
    fl_err perr;
    if (fl_disp_prom_start(d, &perr) < 0) /* as Flink: the JobManager runs on without it */
        fl_error("No Prometheus reporter: %s", perr.msg);
    fl_rm_watch(rm, d->ep, fl_dispatcher_on_cluster_view);
    fl_disp_leadership_init(d, ha, term);
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

void fl_dispatcher_stop(fl_dispatcher *d)
{
    if (!d)
        return;
    fl_endpoint_stop(d->ep);
    for (job_entry *j = d->jobs; j; j = j->next)
        fl_jm_stop(j->jm);
}

void fl_dispatcher_free(fl_dispatcher *d)
{
    if (!d)
        return;
    fl_dispatcher_stop(d);
    while (d->jobs)
        fl_disp_remove_job(d, d->jobs);
    fl_disp_free_retired(d);
    fl_leader_term_unref(d->term);
    if (d->expire_timer)
        event_free(d->expire_timer);
    if (d->own_blob_dir) {
        if (fl_remove_tree(d->blob_dir) != 0)
            fl_warn("could not remove the blob directory %s", d->blob_dir);
    }
    fl_prom_reporter_free(d->prom);
    fl_disp_log_calls_free(d);
    fl_rest_free(d->rest);
    fl_tls_free(d->rest_tls);
    fl_rest_auth_free(d->auth);
    fl_trusted_keys_free(d->trusted);
    fl_cluster_view_free(d->view);
    fl_endpoint_free(d->ep);
    free(d);
}
