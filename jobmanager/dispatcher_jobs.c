/* dispatcher_jobs.c -- the Dispatcher's job table and the request helpers every part of it
 * shares (dispatcher_jobs.h): the job list and its store of completed jobs (bounded by
 * jobstore.max-capacity and jobstore.expiration-time), a job's configuration and bundle
 * blob, and the checks of what a request names (its :jobid, its JSON body, its paths). It
 * calls nothing of the Dispatcher above it. Dispatcher thread only.
 */
#include "common/fs.h"
#include "common/job_state.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"
#include "dispatcher_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

/* ---- jobs ------------------------------------------------------------------------- */

job_entry *fl_disp_find_job(fl_dispatcher *d, const char *id)
{
    for (job_entry *j = d->jobs; j; j = j->next)
        if (strcmp(j->id, id) == 0)
            return j;
    return NULL;
}

job_entry *fl_disp_job_param(fl_dispatcher *d, struct evhttp_request *req,
                             const fl_rest_params *p)
{
    const char *id = fl_rest_param(p, "jobid");
    job_entry *j = fl_disp_find_job(d, id);
    if (!j || !j->details) {
        fl_rest_error(req, 404, "Job %s not found", id);
        return NULL;
    }
    return j;
}

/* A path a request names (a savepoint's directory, one to restore from) is a sane string:
 * no NUL inside (len is its length as sent), no control character, at most max bytes after
 * an optional file://. Where it may point is the security issue's (roots); this keeps every
 * buffer and message it reaches whole. 0, or -1 with why. */
int fl_disp_check_path(const char *path, size_t len, size_t max, char *why, size_t whylen)
{
    if (strlen(path) != len) {
        snprintf(why, whylen, "it holds a NUL character");
        return -1;
    }
    if (!strncmp(path, "file://", 7)) {
        path += 7;
        len -= 7;
    }
    if (len == 0 || len > max) {
        snprintf(why, whylen, "it must be 1 to %zu bytes long, not %zu", max, len);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
            snprintf(why, whylen, "it holds a control character (0x%02x)",
                     (unsigned char)path[i]);
            return -1;
        }
    return 0;
}

/* The JSON body of a request, or NULL (answered with 400). Empty body: {}. */
json_t *fl_disp_json_body(struct evhttp_request *req)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(b);
    if (n == 0)
        return json_object();
    json_error_t jerr;
    json_t *j = json_loadb((const char *)evbuffer_pullup(b, (ssize_t)n), n, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        fl_rest_error(req, 400, "The request body is not a JSON object: %s", jerr.text);
        return NULL;
    }
    return j;
}

/* A savepoint directory a request names must lie under state.savepoints.dir or one of
 * state.savepoints.allowed-dirs of the cluster's configuration (never a job's own, which its
 * submitter chose), resolved: no "..", no symlink out, a directory where it exists. With
 * neither set, any absolute path, as in Flink. */
int fl_disp_confine_target(fl_dispatcher *d, const char *target, fl_err *err)
{
    const char *dir = !strncmp(target, "file://", 7) ? target + 7
                    : !strncmp(target, "file:", 5)   ? target + 5
                                                     : target;
    const char *spdir = fl_conf_get_str(d->conf, "state.savepoints.dir");
    const char *allowed = fl_conf_get_str(d->conf, "state.savepoints.allowed-dirs");
    if (fl_fs_check(target, err) < 0)
        return -1;
    if ((!spdir || !*spdir) && (!allowed || !*allowed)) {
        if (dir[0] != '/' && !fl_fs_is_remote(dir)) {
            fl_err_set(err, "it is not an absolute path");
            return -1;
        }
        return 0;
    }
    char roots[4200];
    snprintf(roots, sizeof roots, "%s;%s", spdir ? spdir : "", allowed ? allowed : "");
    fl_err e;
    e.msg[0] = '\0';
    char *save = NULL;
    for (char *r = strtok_r(roots, ";,", &save); r; r = strtok_r(NULL, ";,", &save)) {
        while (*r == ' ')
            r++;
        if (*r && fl_fs_check_below(r, dir, true, &e) == 0)
            return 0;
    }
    fl_err_set(err, "savepoints go under state.savepoints.dir or a directory of "
                    "state.savepoints.allowed-dirs (%s)",
               e.msg[0] ? e.msg : "none of them exists");
    return -1;
}

/* ---- the job store: completed jobs, bounded ------------------------------------------ */

void fl_disp_remove_job(fl_dispatcher *d, job_entry *j)
{
    job_entry **pp = &d->jobs;
    while (*pp != j)
        pp = &(*pp)->next;
    *pp = j->next;
    if (j->ended_mono)
        d->ncompleted--;
    fl_jm_free(j->jm);
    json_decref(j->details);
    json_decref(j->overview);
    json_decref(j->metrics);
    fl_ckpt_view_free(j->ckpt_view);
    free(j);
}

/* Drops the completed jobs beyond jobstore.max-capacity (those that ended first) and those
 * that ended more than jobstore.expiration-time ago (Flink's job store, in memory). */
void fl_disp_jobstore_trim(fl_dispatcher *d)
{
    int64_t now = fl_mono_ms();
    for (job_entry *j = d->jobs, *next; j; j = next) {
        next = j->next;
        if (j->ended_mono && now - j->ended_mono >= d->expire_ms) {
            fl_info("Job %s (%s) expired from the job store (jobstore.expiration-time)", j->id,
                    fl_job_state_name(j->state));
            fl_disp_remove_job(d, j);
        }
    }
    while (d->ncompleted > d->max_completed) {
        job_entry *oldest = NULL;
        for (job_entry *j = d->jobs; j; j = j->next)
            if (j->ended_mono && (!oldest || j->ended_mono < oldest->ended_mono))
                oldest = j;
        fl_info("Job %s (%s) dropped from the job store: more than %d completed jobs "
                "(jobstore.max-capacity)", oldest->id, fl_job_state_name(oldest->state),
                d->max_completed);
        fl_disp_remove_job(d, oldest);
    }
}

job_entry *fl_disp_add_job(fl_dispatcher *d, const char *id)
{
    job_entry *j = fl_xcalloc(1, sizeof *j);
    snprintf(j->id, sizeof j->id, "%s", id);
    j->state = FL_JOB_CREATED;
    j->submitted_ms = fl_now_ms();
    j->next = d->jobs;
    d->jobs = j;
    return j;
}

void fl_disp_job_terminal(fl_dispatcher *d, job_entry *j)
{
    if (j->ended_mono)
        return;
    j->ended_mono = fl_mono_ms();
    d->ncompleted++;
    fl_disp_jobstore_trim(d);
}

/* Writes the bundle to the blob store under its hash (once). */
int fl_disp_store_blob(fl_dispatcher *d, const uint8_t *data, size_t len, uint8_t digest[32],
                       fl_err *err)
{
    char hex[65], path[4200], tmp[4300];
    fl_sha256(data, len, digest);
    fl_sha256_hex(digest, hex);
    snprintf(path, sizeof path, "%s/%s.so", d->blob_dir, hex);
    if (access(path, F_OK) == 0)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fl_err_set(err, "cannot write the bundle to the blob store (%s): %s", tmp,
                   strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) {
            fl_err_set(err, "cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        fl_err_set(err, "cannot rename %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

fl_conf *fl_disp_job_conf(fl_dispatcher *d, Fl__Pb__JobGraph *g, fl_err *err)
{
    fl_conf *job_conf = fl_conf_copy(d->conf);
    for (size_t i = 0; i < g->n_config; i++)
        if (fl_conf_set(job_conf, g->config[i]->key, g->config[i]->value, err) < 0)
            goto fail;
    /* the default checkpoint storage is the private per-user one, named in the job's
     * configuration so that every part of the job (and REST) sees the same; and in its
     * graph, so that a new leader uses it too */
    if (!fl_conf_contains(job_conf, "state.checkpoints.dir") && d->ckpt_default[0]) {
        if (fl_conf_set(job_conf, "state.checkpoints.dir", d->ckpt_default, err) < 0) {
            fl_err_prefix(err, "the default checkpoint directory is unusable");
            goto fail;
        }
        Fl__Pb__ConfigEntry *e = fl_xmalloc(sizeof *e);
        fl__pb__config_entry__init(e);
        e->key = fl_xstrdup("state.checkpoints.dir");
        e->value = fl_xstrdup(d->ckpt_default);
        g->config = fl_xrealloc(g->config, (g->n_config + 1) * sizeof *g->config);
        g->config[g->n_config++] = e;
    }
    /* a scheme no file system serves is refused now, as Flink does, not taken for a
     * relative local path */
    static const char *const dirs[] = {"state.checkpoints.dir", "state.savepoints.dir"};
    for (size_t i = 0; i < FL_ARRAY_LEN(dirs); i++)
        if (fl_fs_check(fl_conf_get_str(job_conf, dirs[i]), err) < 0) {
            fl_err_prefix(err, "%s", dirs[i]);
            goto fail;
        }
    return job_conf;
fail:
    fl_conf_free(job_conf);
    return NULL;
}
