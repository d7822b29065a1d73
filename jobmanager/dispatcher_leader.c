/* dispatcher_leader.c -- the Dispatcher's side of leadership (jobmanager/ha/ha.h), on its
 * thread: the HA services' listener.
 *
 *   granted    the ResourceManager is granted the term first (TaskManagers may register),
 *              then every recovered job gets a JobMaster that starts from its latest
 *              retained checkpoint, every recorded result an entry; then the HA services
 *              publish this JobManager as the leader.
 *   suspended  nothing to do (the JobMasters read the term's state); resumed: the
 *              JobMasters go on with what they held back.
 *   revoked    every JobMaster is stopped at once (nothing cancelled: the tasks are the new
 *              leader's to restart) and the job list emptied; the ResourceManager forgets
 *              its TaskManagers and slot requests; only then are the JobMasters freed.
 *
 * While it does not lead, REST answers every request but /overview, /config and
 * /jobmanager/config with a redirect to the leader (307, Location and a JSON error saying
 * where it is), or 503 while none is known: never with job state that may be stale. While
 * its leadership is suspended it answers them 503 too: it cannot tell whether another
 * JobManager leads by now.
 */
#include "common/fs.h"
#include "common/job_state.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"
#include "dispatcher_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

bool fl_disp_is_leader(const fl_dispatcher *d)
{
    return d->term != NULL;
}

/* ---- a standby's REST -------------------------------------------------------------------- */

static bool leader_is_other(const fl_dispatcher *d)
{
    return d->have_leader && strcmp(d->leader.rest_url, d->self_rest) != 0;
}

static bool standby_gate(void *ctx, struct evhttp_request *req, const char *method,
                         const char *path)
{
    fl_dispatcher *d = ctx;
    if (!strcmp(path, "/overview") || !strcmp(path, "/config") ||
        !strcmp(path, "/jobmanager/config") || (fl_disp_is_leader(d) && !d->suspended))
        return false;
    if (fl_disp_is_leader(d)) {
        fl_rest_error(req, 503, "This JobManager's leadership is suspended: ZooKeeper is "
                                "unreachable, and another JobManager may lead by now; retry "
                                "shortly.");
        return true;
    }
    if (!leader_is_other(d)) {
        fl_rest_error(req, 503, "This JobManager does not lead the cluster and no leader is "
                                "known yet (a leader is being elected); retry shortly.");
        return true;
    }
    const char *uri = evhttp_request_get_uri(req);
    char location[1400];
    snprintf(location, sizeof location, "%s%s", d->leader.rest_url, uri ? uri : path);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
    fl_rest_error(req, 307, "This JobManager is not the leader; the leader is at %s.",
                  d->leader.rest_url);
    return true;
}

void fl_disp_overview_ha(fl_dispatcher *d, json_t *o)
{
    json_object_set_new(o, "ha-mode", json_string(d->ha ? "zookeeper" : "NONE"));
    json_object_set_new(o, "leader", json_boolean(fl_disp_is_leader(d)));
    json_object_set_new(o, "leadership", json_string(!fl_disp_is_leader(d) ? "STANDBY"
                                                     : d->suspended         ? "SUSPENDED"
                                                                            : "ACTIVE"));
    if (d->ha)
        json_object_set_new(o, "leader-address",
                            d->have_leader ? json_string(d->leader.rest_url) : json_null());
}

void fl_disp_config_ha(fl_dispatcher *d, json_t *arr)
{
    if (!fl_conf_contains(d->conf, "high-availability.type"))
        json_array_append_new(arr, json_pack("{s:s, s:s}", "key", "high-availability.type",
                                             "value", d->ha ? "zookeeper" : "NONE"));
    json_array_append_new(arr, json_pack("{s:s, s:s}", "key", "high-availability.leader",
                                         "value", fl_disp_is_leader(d) ? "true" : "false"));
}

/* ---- results --------------------------------------------------------------------------- */

/* A job of this leadership ended: its result is recorded (with high availability). */
static void job_ended(fl_dispatcher *d, const job_entry *j)
{
    if (!d->ha || !d->term || j->unrecoverable)
        return;
    Fl__Pb__JobResult *r = fl_xmalloc(sizeof *r);
    fl__pb__job_result__init(r);
    json_t *name = json_object_get(j->details, "name");
    json_t *cause = json_object_get(j->details, "root-exception");
    r->job_id = fl_xstrdup(j->id);
    r->name = fl_xstrdup(json_string_value(name) ? json_string_value(name) : "");
    r->state = fl_xstrdup(fl_job_state_name(j->state));
    r->start_ms = json_integer_value(json_object_get(j->details, "start-time"));
    r->end_ms = json_integer_value(json_object_get(j->details, "end-time"));
    r->root_cause = fl_xstrdup(json_string_value(cause) ? json_string_value(cause) : "");
    fl_ha_job_ended(d->ha, d->term, r);
}

/* JobMaster -> Dispatcher status (mail on this thread). */
void fl_disp_on_job_status(void *ctx, void *arg)
{
    fl_dispatcher *d = ctx;
    fl_job_status *st = arg;
    job_entry *j = fl_disp_find_job(d, st->job_id);
    if (j && j->jm && j->jm_serial == st->serial) { /* not a stale one */
        json_decref(j->details);
        json_decref(j->overview);
        j->details = st->details;
        j->overview = st->overview;
        json_decref(j->metrics);
        j->metrics = st->metrics;
        fl_ckpt_view_free(j->ckpt_view);
        j->ckpt_view = st->ckpt_view;
        st->details = st->overview = st->metrics = NULL;
        st->ckpt_view = NULL;
        j->state = st->state;
        if (fl_job_state_is_terminal(j->state)) {
            fl_jm_free(j->jm); /* its thread has nothing left to do */
            j->jm = NULL;
            job_ended(d, j);
            fl_disp_job_terminal(d, j); /* may remove j */
        }
    }
    fl_job_status_free(st);
}

/* A terminal state's name (a recorded result), FAILED when it is none. */
static fl_job_state terminal_state(const char *name)
{
    for (fl_job_state s = FL_JOB_FINISHED; s <= FL_JOB_FAILED; s++)
        if (!strcmp(name, fl_job_state_name(s)))
            return s;
    return FL_JOB_FAILED;
}

/* REST bodies for a job that ended under an earlier leader (GET /jobs/:id, its overview). */
static void result_entry(fl_dispatcher *d, const Fl__Pb__JobResult *r)
{
    if (strlen(r->job_id) != 32 || strspn(r->job_id, "0123456789abcdef") != 32 ||
        fl_disp_find_job(d, r->job_id))
        return;
    fl_job_state state = terminal_state(r->state);
    job_entry *j = fl_disp_add_job(d, r->job_id);
    j->state = state;
    j->submitted_ms = r->start_ms;
    int64_t dur = r->end_ms > r->start_ms ? r->end_ms - r->start_ms : 0;
    j->details = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:[], s:{}, s:{}}",
                           "jid", r->job_id, "name", r->name, "isStoppable", 0, "state",
                           fl_job_state_name(state), "start-time", (json_int_t)r->start_ms,
                           "end-time", (json_int_t)r->end_ms, "duration", (json_int_t)dur,
                           "now", (json_int_t)fl_now_ms(), "vertices", "status-counts",
                           "plan");
    if (r->root_cause && r->root_cause[0])
        json_object_set_new(j->details, "root-exception", json_string(r->root_cause));
    json_object_set_new(j->details, "recovered-result", json_true());
    j->overview = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:{s:i}}", "jid", r->job_id,
                            "name", r->name, "state", fl_job_state_name(state), "start-time",
                            (json_int_t)r->start_ms, "end-time", (json_int_t)r->end_ms,
                            "duration", (json_int_t)dur, "last-modification",
                            (json_int_t)r->end_ms, "tasks", "total", 0);
    fl_disp_job_terminal(d, j);
}

/* A job the new leader cannot run: shown FAILED with why (naming the file), not recorded as
 * ended (once the file is repaired, the next leader runs it). */
static void unrecoverable(fl_dispatcher *d, const char *job_id, const char *why)
{
    fl_error("Cannot recover job %s: %s", job_id, why);
    job_entry *j = fl_disp_add_job(d, job_id);
    j->state = FL_JOB_FAILED;
    j->unrecoverable = true;
    char cause[1200];
    snprintf(cause, sizeof cause, "Cannot recover job %s: %s", job_id, why);
    int64_t now = fl_now_ms();
    j->details = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:[], s:{}, s:{}, s:s}",
                           "jid", job_id, "name", "(unrecoverable)", "isStoppable", 0, "state",
                           "FAILED", "start-time", (json_int_t)now, "end-time", (json_int_t)now,
                           "duration", (json_int_t)0, "now", (json_int_t)now, "vertices",
                           "status-counts", "plan", "root-exception", cause);
    j->overview = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:{s:i}}", "jid", job_id,
                            "name", "(unrecoverable)", "state", "FAILED", "start-time",
                            (json_int_t)now, "end-time", (json_int_t)now, "duration",
                            (json_int_t)0, "last-modification", (json_int_t)now, "tasks",
                            "total", 0);
    fl_disp_job_terminal(d, j);
}

/* Runs a job the store recorded: its bundle into the blob directory (checked against its
 * hash), a JobMaster from its latest retained checkpoint. */
static void recover_job(fl_dispatcher *d, fl_ha_job_recovery *jr)
{
    fl_err err;
    char *data = NULL;
    size_t len;
    uint8_t digest[32];
    if (!jr->stored) {
        unrecoverable(d, jr->job_id, jr->error);
        return;
    }
    Fl__Pb__JobGraph *g = jr->stored->graph;
    if (fl_fs_get(jr->bundle_path, &data, &len, &err) < 0) { /* local or S3 */
        unrecoverable(d, jr->job_id, err.msg);
        return;
    }
    fl_sha256((const uint8_t *)data, len, digest);
    if (memcmp(digest, g->bundle_sha256.data, 32) != 0) {
        char why[1400];
        snprintf(why, sizeof why, "its bundle %s is damaged (its SHA-256 does not match)",
                 jr->bundle_path);
        free(data);
        unrecoverable(d, jr->job_id, why);
        return;
    }
    int rc = fl_disp_store_blob(d, (const uint8_t *)data, len, digest, &err);
    free(data);
    if (rc < 0) {
        unrecoverable(d, jr->job_id, err.msg);
        return;
    }
    fl_conf *job_conf = fl_disp_job_conf(d, g, &err);
    if (!job_conf) {
        unrecoverable(d, jr->job_id, err.msg);
        return;
    }
    jr->stored->graph = NULL; /* the JobMaster's now */
    fl_jm_deps deps = {d->rpc, d->rm, d->ep, fl_disp_on_job_status, d->term, d->ha};
    fl_jm *jm = fl_jm_new(&deps, g, job_conf, &err);
    if (!jm) {
        unrecoverable(d, jr->job_id, err.msg);
        return;
    }
    fl_jm_recover(jm, jr->checkpoints, jr->ncheckpoints, jr->stored->submitted_ms);
    fl_disp_reactive_new_job(d, jm);
    if (fl_jm_start(jm, &err) < 0) {
        fl_jm_free(jm);
        unrecoverable(d, jr->job_id, err.msg);
        return;
    }
    job_entry *j = fl_disp_add_job(d, jr->job_id);
    j->jm = jm;
    j->jm_serial = fl_jm_serial(jm);
    j->submitted_ms = jr->stored->submitted_ms;
    fl_info("Recovered job %s (%s) with %d retained checkpoint(s)", g->name, jr->job_id,
            jr->ncheckpoints);
}

/* ---- the listener ------------------------------------------------------------------------ */

static void on_granted(void *ctx, fl_leader_term *term, fl_ha_recovery *rec)
{
    fl_dispatcher *d = ctx;
    fl_leader_term_unref(d->term);
    d->term = term;
    d->suspended = false;
    fl_rm_grant(d->rm, term); /* before anything can reach it: TaskManagers come after */
    for (int i = rec->nresults - 1; i >= 0; i--) /* oldest first: the newest lead the list */
        result_entry(d, rec->results[i]);
    for (int i = 0; i < rec->njobs; i++)
        recover_job(d, &rec->jobs[i]);
    fl_ha_recovery_free(rec);
    fl_ha_ready(d->ha, term);
}

static void on_suspended(void *ctx, fl_leader_term *term, bool suspended)
{
    fl_dispatcher *d = ctx;
    if (term == d->term) {
        d->suspended = suspended;
        for (job_entry *j = d->jobs; j && !suspended; j = j->next)
            if (j->jm)
                fl_jm_resume(j->jm);
    }
    fl_leader_term_unref(term);
}

static void rm_revoked(void *ctx, void *arg)
{
    fl_disp_free_retired(ctx); /* no slot grant or loss can reach them any more */
}

static void on_revoked(void *ctx, fl_leader_term *term, const char *why)
{
    fl_dispatcher *d = ctx;
    if (term != d->term) {
        fl_leader_term_unref(term);
        return;
    }
    int n = 0;
    for (job_entry *j = d->jobs; j; j = j->next)
        if (j->jm) {
            fl_jm_stop(j->jm); /* joins it: it sends nothing more */
            d->retired = fl_xrealloc(d->retired, (size_t)(d->nretired + 1) * sizeof *d->retired);
            d->retired[d->nretired++] = j->jm;
            j->jm = NULL;
            n++;
        }
    while (d->jobs)
        fl_disp_remove_job(d, d->jobs);
    fl_warn("Stopped %d JobMaster(s): %s. Their jobs are the next leader's.", n, why);
    fl_rm_revoke(d->rm, d->ep, rm_revoked);
    fl_leader_term_unref(d->term);
    d->term = NULL;
    fl_leader_term_unref(term);
}

static void on_leader(void *ctx, const fl_leader_info *leader)
{
    fl_dispatcher *d = ctx;
    d->have_leader = leader != NULL;
    if (leader)
        d->leader = *leader;
}

void fl_disp_leadership_init(fl_dispatcher *d, fl_ha *ha, fl_leader_term *term)
{
    snprintf(d->self_rest, sizeof d->self_rest, "%s://%s:%d", d->rest_tls ? "https" : "http",
             fl_conf_get_str(d->conf, "rest.address"), d->rest_port);
    d->ha = ha;
    if (!ha) {
        d->term = fl_leader_term_ref(term); /* leads from the start, for good */
        return;
    }
    fl_rest_set_gate(d->rest, standby_gate);
    fl_ha_listener l = {on_granted, on_suspended, on_revoked, on_leader};
    fl_ha_set_listener(ha, d->ep, &l);
}

void fl_disp_free_retired(fl_dispatcher *d)
{
    for (int i = 0; i < d->nretired; i++)
        fl_jm_free(d->retired[i]);
    free(d->retired);
    d->retired = NULL;
    d->nretired = 0;
}
