/* cli_run.c -- `flint run`, `flint info`, `flint cancel` and `flint rescale`.
 *
 *   flint run [-p N] [-d] [-D k=v]... BUNDLE [ARGS]   build, compile, submit (and wait)
 *   flint info [-p N] BUNDLE [ARGS]                   print the plan as JSON
 *   flint cancel JOBID
 */
#include "cli.h"
#include "common/api/streamgraph.h"
#include "common/bundle.h"
#include "common/bundle_sign.h"
#include "common/crash.h"
#include "common/log.h"
#include "common/plan.h"
#include "common/util.h"
#include "compiler.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct run_opts {
    int parallelism; /* -1: parallelism.default */
    bool detached;
    const char *savepoint;   /* -s */
    bool allow_non_restored; /* -n */
    const char *entry;       /* -c: the entry point's symbol (default flint_main) */
    bool sae;                /* -sae: cancel the job when the attached client is stopped */
    const char *bundle;
    int argc;        /* job arguments, argv[0] = the bundle */
    char **argv;
} run_opts;

/* A local path given as Flink prints them (file:/x, file:///x) or plainly. */
static const char *without_scheme(const char *path)
{
    if (strncmp(path, "file:", 5) != 0)
        return path;
    return path + (strncmp(path, "file://", 7) ? 5 : 7);
}

static int parse_run(fl_cli *cli, run_opts *o, const char *action)
{
    memset(o, 0, sizeof *o);
    o->parallelism = -1;
    int i = 0;
    for (; i < cli->argc; i++) {
        const char *a = cli->argv[i];
        if ((!strcmp(a, "-p") || !strcmp(a, "--parallelism")) && i + 1 < cli->argc) {
            int64_t p;
            if (fl_parse_int(cli->argv[++i], &p) < 0 || p < 1 || p > 32768) {
                fprintf(stderr, "The parallelism must be a positive number: %s\n", cli->argv[i]);
                return -1;
            }
            o->parallelism = (int)p;
        } else if (!strcmp(a, "-d") || !strcmp(a, "--detached")) {
            o->detached = true;
        } else if ((!strcmp(a, "-s") || !strcmp(a, "--fromSavepoint")) && i + 1 < cli->argc) {
            o->savepoint = cli->argv[++i];
        } else if (!strcmp(a, "-n") || !strcmp(a, "--allowNonRestoredState")) {
            o->allow_non_restored = true;
        } else if (!strcmp(a, "-sae") || !strcmp(a, "--shutdownOnAttachedExit")) {
            o->sae = true;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--class")) && i + 1 < cli->argc) {
            o->entry = cli->argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "Unrecognized option for %s: %s\n\n%s", action, a,
                    cli->usage ? cli->usage : "");
            return -1;
        } else {
            break;
        }
    }
    if (i == cli->argc) {
        fprintf(stderr, "Missing the job bundle: flint %s [OPTIONS] BUNDLE [ARGUMENTS]\n",
                action);
        return -1;
    }
    o->bundle = cli->argv[i];
    o->argc = cli->argc - i;
    o->argv = cli->argv + i;
    return 0;
}

/* Loads the bundle, runs flint_main and compiles. */
static Fl__Pb__JobGraph *build(fl_cli *cli, const run_opts *o, fl_bundle *b)
{
    fl_err err;
    if (fl_bundle_open(b, o->bundle, !o->entry, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    if (o->entry) {
        /* Flink's -c names the class with main(); a bundle's entry point is a function */
        b->main = (fl_main_fn)dlsym(b->handle, o->entry);
        if (!b->main) {
            fprintf(stderr, "Bundle '%s' has no entry point '%s' (-c/--class): it must define "
                            "int %s(fl_env *env, int argc, char **argv).\n",
                    o->bundle, o->entry, o->entry);
            fl_bundle_close(b);
            return NULL;
        }
    }
    int par = o->parallelism > 0 ? o->parallelism
                                 : (int)fl_conf_get_int(cli->conf, "parallelism.default");
    fl_env *env =
        fl_sg_env_new(par, fl_conf_get_duration_ms(cli->conf, "execution.buffer-timeout"));
    int64_t maxp = fl_conf_get_int(cli->conf, "pipeline.max-parallelism");
    if (maxp > 0)
        fl_env_set_max_parallelism(env, (int)FL_MIN(maxp, INT32_MAX));
    /* a crash in the user's flint_main is reported (signal, function) and exits 1 */
    fl_crash_install("flint", FL_CRASH_EXIT);
    fl_crash_set_summary_prefix(o->entry ? o->entry : "flint_main");
    int rc = b->main(env, o->argc, o->argv);
    fl_crash_uninstall();
    if (rc != 0 && !env->error[0])
        snprintf(env->error, sizeof env->error, "flint_main returned %d", rc);
    char jid[33];
    fl_random_hex(jid, 16);
    Fl__Pb__JobGraph *g = fl_compile(env, jid, &err);
    if (!g)
        fprintf(stderr, "The program of '%s' could not be compiled into a job: %s\n", o->bundle,
                err.msg);
    fl_sg_env_free(env);
    return g;
}

int fl_cli_info(fl_cli *cli)
{
    run_opts o;
    fl_bundle b;
    if (parse_run(cli, &o, "info") < 0)
        return 1;
    Fl__Pb__JobGraph *g = build(cli, &o, &b);
    if (!g)
        return 1;
    json_t *plan = fl_plan_json(g);
    char *s = json_dumps(plan, JSON_INDENT(2));
    printf("----------------------- Execution Plan -----------------------\n%s\n"
           "--------------------------------------------------------------\n",
           s);
    free(s);
    json_decref(plan);
    protobuf_c_message_free_unpacked(&g->base, NULL);
    fl_bundle_close(&b);
    return 0;
}

/* -sae: the signal that stops the attached client, seen by its wait loop */
static volatile sig_atomic_t client_stopped;

static void on_client_stop(int sig)
{
    client_stopped = sig;
}

static const char *job_state(json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "state"));
    return s ? s : "UNKNOWN";
}

int fl_cli_run(fl_cli *cli)
{
    run_opts o;
    fl_bundle b;
    int rc = 1;
    if (parse_run(cli, &o, "run") < 0)
        return 1;
    Fl__Pb__JobGraph *g = build(cli, &o, &b);
    if (!g)
        return 1;
    fl_err err;
    char *bundle_bytes = NULL;
    size_t bundle_len = 0;
    if (fl_read_file(o.bundle, &bundle_bytes, &bundle_len, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    const char *base = strrchr(o.bundle, '/');
    g->bundle_name = fl_xstrdup(base ? base + 1 : o.bundle);
    if (o.savepoint) {
        char abs[4096];
        const char *sp = o.savepoint;
        sp = without_scheme(sp);
        g->savepoint_path = fl_xstrdup(sp[0] == '/' || !realpath(sp, abs) ? sp : abs);
        g->allow_non_restored = o.allow_non_restored;
    }
    g->n_config = (size_t)cli->ndyn;
    g->config = fl_xcalloc((size_t)cli->ndyn + 1, sizeof *g->config);
    for (int i = 0; i < cli->ndyn; i++) {
        Fl__Pb__ConfigEntry *e = g->config[i] = fl_xmalloc(sizeof *e);
        fl__pb__config_entry__init(e);
        const char *eq = strchr(cli->dyn[i], '=');
        e->key = fl_xasprintf("%.*s", (int)(eq - cli->dyn[i]), cli->dyn[i]);
        e->value = fl_xstrdup(eq + 1);
    }
    uint8_t sig[FL_BUNDLE_SIG_LEN];
    bool signed_ = false;
    if (fl_cli_bundle_signature(cli, o.bundle, bundle_bytes, bundle_len, sig, &signed_, &err) <
        0) {
        fprintf(stderr, "%s\n", err.msg);
        goto out;
    }
    if (signed_) {
        g->bundle_signature.data = fl_xmalloc(sizeof sig);
        memcpy(g->bundle_signature.data, sig, sizeof sig);
        g->bundle_signature.len = sizeof sig;
    }
    Fl__Pb__SubmitJob sub = FL__PB__SUBMIT_JOB__INIT;
    sub.graph = g;
    sub.bundle.data = (uint8_t *)bundle_bytes;
    sub.bundle.len = bundle_len;
    size_t n = protobuf_c_message_get_packed_size(&sub.base);
    uint8_t *body = fl_xmalloc(n);
    protobuf_c_message_pack(&sub.base, body);
    int status;
    json_t *resp = fl_cli_rest(cli, "POST", "/jobs", "application/x-protobuf", body, n, &status);
    free(body);
    if (!resp)
        goto out;
    if (status != 202 && status != 200) {
        fprintf(stderr, "Job submission failed: %s\n", fl_cli_rest_error(resp));
        json_decref(resp);
        goto out;
    }
    json_decref(resp);
    printf("Job has been submitted with JobID %s\n", g->job_id);
    fflush(stdout);
    if (o.detached) {
        rc = 0;
        goto out;
    }
    /* attached: wait for the end */
    char path[128];
    snprintf(path, sizeof path, "/jobs/%s", g->job_id);
    if (o.sae) {
        /* Flink's shutdown hook: a client stopped (Ctrl-C, kill) cancels its job first */
        struct sigaction sa = {.sa_handler = on_client_stop};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
    }
    bool cancelled = false;
    for (;;) {
        usleep(100000);
        if (client_stopped && !cancelled) {
            cancelled = true;
            fprintf(stderr, "Shutting down: cancelling job %s (-sae, %s).\n", g->job_id,
                    strsignal(client_stopped));
            char cpath[160];
            snprintf(cpath, sizeof cpath, "/jobs/%s?mode=cancel", g->job_id);
            json_t *c = fl_cli_rest(cli, "PATCH", cpath, "application/json", NULL, 0, &status);
            json_decref(c);
        }
        json_t *j = fl_cli_rest(cli, "GET", path, NULL, NULL, 0, &status);
        if (!j)
            goto out;
        const char *state = job_state(j);
        if (!strcmp(state, "FINISHED")) {
            printf("Program execution finished\nJob with JobID %s has finished.\nJob Runtime: "
                   "%lld ms\n",
                   g->job_id, (long long)json_integer_value(json_object_get(j, "duration")));
            json_decref(j);
            rc = 0;
            break;
        }
        if (!strcmp(state, "FAILED") || !strcmp(state, "CANCELED")) {
            const char *cause = json_string_value(json_object_get(j, "root-exception"));
            fprintf(stderr,
                    "\n------------------------------------------------------------\n"
                    " The program finished with the following exception:\n\n"
                    "Job %s (JobID %s) %s.\n%s%s\n",
                    g->name, g->job_id, !strcmp(state, "FAILED") ? "failed" : "was cancelled",
                    cause ? "Caused by: " : "", cause ? cause : "");
            rc = !strcmp(state, "FAILED") ? 1 : 2;
            json_decref(j);
            break;
        }
        json_decref(j);
    }
out:
    free(bundle_bytes);
    protobuf_c_message_free_unpacked(&g->base, NULL);
    fl_bundle_close(&b);
    return rc;
}

int fl_cli_cancel(fl_cli *cli)
{
    if (cli->argc != 1) {
        fprintf(stderr, "Usage: flint cancel JOBID\n");
        return 1;
    }
    const char *jid = cli->argv[0];
    char path[160];
    snprintf(path, sizeof path, "/jobs/%.64s?mode=cancel", jid);
    printf("Cancelling job %s.\n", jid);
    int status;
    json_t *j = fl_cli_rest(cli, "PATCH", path, NULL, NULL, 0, &status);
    if (!j)
        return 1;
    if (status != 202 && status != 200) {
        fprintf(stderr, "Could not cancel job %s: %s\n", jid, fl_cli_rest_error(j));
        json_decref(j);
        return 1;
    }
    json_decref(j);
    printf("Cancelled job %s.\n", jid);
    return 0;
}

/* Polls a savepoint trigger until it is done; prints Flink's lines. 0 on success. */
static int wait_savepoint(fl_cli *cli, const char *jid, const char *trigger)
{
    char path[256];
    snprintf(path, sizeof path, "/jobs/%.64s/savepoints/%.32s", jid, trigger);
    for (int i = 0; i < 6000; i++) {
        int status;
        json_t *j = fl_cli_rest(cli, "GET", path, NULL, NULL, 0, &status);
        if (!j)
            return 1;
        if (status != 200) {
            fprintf(stderr, "Savepoint failed: %s\n", fl_cli_rest_error(j));
            json_decref(j);
            return 1;
        }
        const char *st = json_string_value(json_object_get(json_object_get(j, "status"), "id"));
        json_t *op = json_object_get(j, "operation");
        if (st && !strcmp(st, "COMPLETED")) {
            const char *loc = json_string_value(json_object_get(op, "location"));
            const char *cause = json_string_value(json_object_get(op, "failure-cause"));
            int rc = 0;
            if (loc) {
                printf("Savepoint completed. Path: %s%s\n", strstr(loc, "://") ? "" : "file:",
                       loc);
                printf("You can resume your program from this savepoint with the run command.\n");
            } else {
                fprintf(stderr, "Triggering the savepoint for the job %s failed: %s\n", jid,
                        cause ? cause : "unknown error");
                rc = 1;
            }
            json_decref(j);
            return rc;
        }
        json_decref(j);
        usleep(100000);
    }
    fprintf(stderr, "Timed out waiting for the savepoint of job %s.\n", jid);
    return 1;
}

static int trigger_savepoint(fl_cli *cli, const char *jid, const char *dir, bool stop,
                             bool drain)
{
    char path[256], abs[4096];
    snprintf(path, sizeof path, "/jobs/%.64s/%s", jid, stop ? "stop" : "savepoints");
    json_t *body = json_object();
    if (dir) {
        const char *d = dir;
        d = without_scheme(d);
        /* a URI (s3://...) goes as it is: the JobManager serves or refuses its scheme */
        if (d[0] != '/' && !strstr(d, "://") && realpath(".", abs)) {
            size_t n = strlen(abs);
            snprintf(abs + n, sizeof abs - n, "/%s", d);
            d = abs;
        }
        json_object_set_new(body, stop ? "targetDirectory" : "target-directory", json_string(d));
    }
    if (drain)
        json_object_set_new(body, "drain", json_true());
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int status;
    json_t *j = fl_cli_rest(cli, "POST", path, "application/json", s, strlen(s), &status);
    free(s);
    if (!j)
        return 1;
    if (status != 202) {
        fprintf(stderr, "Could not %s job %s: %s\n", stop ? "stop" : "take a savepoint of", jid,
                fl_cli_rest_error(j));
        json_decref(j);
        return 1;
    }
    char trigger[64];
    snprintf(trigger, sizeof trigger, "%s", json_string_value(json_object_get(j, "request-id")));
    json_decref(j);
    return wait_savepoint(cli, jid, trigger);
}

/* flint savepoint -d PATH: the JobManager removes the savepoint (POST
 * /savepoint-disposal), refusing a path that is not one. */
static int dispose_savepoint(fl_cli *cli, const char *sp)
{
    char abs[4096];
    sp = without_scheme(sp);
    if (sp[0] != '/' && realpath(sp, abs))
        sp = abs;
    printf("Disposing savepoint '%s'.\nWaiting for response...\n", sp);
    json_t *body = json_pack("{s:s}", "savepoint-path", sp);
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int status;
    json_t *j = fl_cli_rest(cli, "POST", "/savepoint-disposal", "application/json", s, strlen(s),
                            &status);
    free(s);
    if (!j)
        return 1;
    if (status != 202) {
        fprintf(stderr, "Could not dispose of savepoint '%s': %s\n", sp, fl_cli_rest_error(j));
        json_decref(j);
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "/savepoint-disposal/%.32s",
             json_string_value(json_object_get(j, "request-id")));
    json_decref(j);
    j = fl_cli_rest(cli, "GET", path, NULL, NULL, 0, &status);
    if (!j)
        return 1;
    const char *cause =
        json_string_value(json_object_get(json_object_get(j, "operation"), "failure-cause"));
    int rc = status == 200 && !cause ? 0 : 1;
    if (rc == 0)
        printf("Savepoint '%s' disposed.\n", sp);
    else
        fprintf(stderr, "Could not dispose of savepoint '%s': %s\n", sp,
                cause ? cause : fl_cli_rest_error(j));
    json_decref(j);
    return rc;
}

/* flint savepoint JOBID [DIR] | flint savepoint -d PATH */
int fl_cli_savepoint(fl_cli *cli)
{
    if (cli->argc == 2 && (!strcmp(cli->argv[0], "-d") || !strcmp(cli->argv[0], "--dispose")))
        return dispose_savepoint(cli, cli->argv[1]);
    if (cli->argc < 1 || cli->argc > 2 || cli->argv[0][0] == '-') {
        fputs(cli->usage ? cli->usage : "Usage: flint savepoint JOBID [DIR] | -d PATH\n",
              stderr);
        return 1;
    }
    printf("Triggering savepoint for job %s.\nWaiting for response...\n", cli->argv[0]);
    return trigger_savepoint(cli, cli->argv[0], cli->argc == 2 ? cli->argv[1] : NULL, false,
                             false);
}

/* flint stop [-p|--savepointPath DIR] [-d|--drain] JOBID */
int fl_cli_stop(fl_cli *cli)
{
    const char *dir = NULL, *jid = NULL;
    bool drain = false;
    for (int i = 0; i < cli->argc; i++) {
        if ((!strcmp(cli->argv[i], "--savepointPath") || !strcmp(cli->argv[i], "-p")) &&
            i + 1 < cli->argc)
            dir = cli->argv[++i];
        else if (!strcmp(cli->argv[i], "--drain") || !strcmp(cli->argv[i], "-d"))
            drain = true;
        else if (cli->argv[i][0] != '-' && !jid)
            jid = cli->argv[i];
        else {
            fputs(cli->usage ? cli->usage : "Usage: flint stop [-p DIR] [-d] JOBID\n", stderr);
            return 1;
        }
    }
    if (!jid) {
        fputs(cli->usage ? cli->usage : "Usage: flint stop [-p DIR] [-d] JOBID\n", stderr);
        return 1;
    }
    printf("Suspending job \"%s\" with a savepoint%s.\n", jid,
           drain ? ", after MAX_WATERMARK (--drain)" : "");
    return trigger_savepoint(cli, jid, dir, true, drain);
}

/* Every vertex's upper bound set to the parallelism, through PUT
 * /jobs/:jobid/resource-requirements (the JobManager checks the bounds). */
int fl_cli_rescale(fl_cli *cli)
{
    int64_t p;
    if (cli->argc != 2 || fl_parse_int(cli->argv[1], &p) < 0 || p < 1 || p > INT32_MAX) {
        fprintf(stderr, "Usage: flint rescale JOBID PARALLELISM (an integer >= 1)\n");
        return 1;
    }
    const char *jid = cli->argv[0];
    char path[160];
    snprintf(path, sizeof path, "/jobs/%.64s/resource-requirements", jid);
    int status;
    json_t *req = fl_cli_rest(cli, "GET", path, NULL, NULL, 0, &status);
    if (!req)
        return 1;
    if (status != 200 || !json_is_object(req)) {
        fprintf(stderr, "Could not rescale job %s: %s\n", jid, fl_cli_rest_error(req));
        json_decref(req);
        return 1;
    }
    const char *vid;
    json_t *v;
    json_object_foreach(req, vid, v)
        json_object_set_new(v, "parallelism", json_pack("{s:i, s:I}", "lowerBound", 1,
                                                        "upperBound", (json_int_t)p));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *j = fl_cli_rest(cli, "PUT", path, "application/json", body, strlen(body), &status);
    free(body);
    if (!j)
        return 1;
    if (status != 200) {
        fprintf(stderr, "Could not rescale job %s: %s\n", jid, fl_cli_rest_error(j));
        json_decref(j);
        return 1;
    }
    json_decref(j);
    printf("Rescaling job %s to parallelism %lld.\n", jid, (long long)p);
    return 0;
}
