/* rest_logs.c -- the daemons' log files over REST (issue 12), Flink's endpoints:
 *
 *   GET /jobmanager/logs                         {"logs":[{"name","size"}]}
 *   GET /jobmanager/logs/:name                   the file (text/plain)
 *   GET /taskmanagers/:taskmanagerid/logs        the TaskManager's list
 *   GET /taskmanagers/:taskmanagerid/logs/:name  one of its files
 *
 * Only the regular files directly in the daemon's log directory (common/logfiles.h: plain
 * names, no symlinks); anything else is a 400 (not a plain name) or a 404. A TaskManager's
 * files come through a LogRequest RPC on its connection; the HTTP request waits for the
 * answer (at most rpc.ask-timeout), libevent keeps it alive if the client goes away meanwhile.
 *
 * A file is served from its end, at most LOG_READ_MAX bytes (and less than one RPC frame):
 * a larger file's older part is left out and the response says so in its headers,
 * X-Flint-Log-Offset (bytes left out at the start) and X-Flint-Log-Size (the file's size
 * when read). Dispatcher thread.
 */
#include "common/logfiles.h"
#include "common/util.h"
#include "dispatcher_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#define LOG_READ_MAX ((uint64_t)8 << 20)

static uint64_t read_max(const fl_dispatcher *d)
{
    uint64_t frame = (uint64_t)fl_conf_get_bytes(d->conf, "rpc.frame.max-size") - 4096;
    return FL_MIN(LOG_READ_MAX, frame);
}

static json_t *list_json(const char *const *names, const uint64_t *sizes, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:I}", "name", names[i], "size",
                                             (json_int_t)sizes[i]));
    return json_pack("{s:o}", "logs", arr);
}

static void send_log(struct evhttp_request *req, const uint8_t *data, size_t len,
                     uint64_t offset, uint64_t size)
{
    char num[32];
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    snprintf(num, sizeof num, "%llu", (unsigned long long)offset);
    evhttp_add_header(h, "X-Flint-Log-Offset", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)size);
    evhttp_add_header(h, "X-Flint-Log-Size", num);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-store");
    fl_rest_reply_text(req, 200, "text/plain; charset=utf-8", (const char *)data, len);
}

static void get_jm_logs(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_logfile *files = NULL;
    int n = fl_logfiles_list(&files);
    const char **names = fl_xcalloc((size_t)n + 1, sizeof *names);
    uint64_t *sizes = fl_xcalloc((size_t)n + 1, sizeof *sizes);
    for (int i = 0; i < n; i++) {
        names[i] = files[i].name;
        sizes[i] = files[i].size;
    }
    fl_rest_reply_json(req, 200, list_json(names, sizes, (size_t)n));
    free(names);
    free(sizes);
    free(files);
}

static void get_jm_log(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    uint8_t *data = NULL;
    size_t len = 0;
    uint64_t offset = 0, size = 0;
    fl_err err;
    int st = fl_logfiles_read(fl_rest_param(p, "name"), read_max(ctx), &data, &len, &offset,
                              &size, &err);
    if (st)
        fl_rest_error(req, st, "%s", err.msg);
    else
        send_log(req, data, len, offset, size);
    free(data);
}

static const fl_tm_view *tm_param(fl_dispatcher *d, struct evhttp_request *req,
                                  const fl_rest_params *p)
{
    const char *id = fl_rest_param(p, "taskmanagerid");
    for (int i = 0; d->view && i < d->view->n; i++)
        if (strcmp(d->view->tms[i].resource_id, id) == 0)
            return &d->view->tms[i];
    fl_rest_error(req, 404, "TaskManager %s does not exist.", id);
    return NULL;
}

/* A request waiting for a TaskManager: on the Dispatcher's list until answered, so that
 * one still out when the JobManager stops (its answer is dropped then) is freed too. */
typedef struct log_call {
    struct log_call *next, **prev;
    struct evhttp_request *req;
    bool read; /* a file, not the list */
} log_call;

static void unlink_call(log_call *call)
{
    *call->prev = call->next;
    if (call->next)
        call->next->prev = call->prev;
}

void fl_disp_log_calls_free(fl_dispatcher *d)
{
    while (d->log_calls) {
        log_call *call = d->log_calls;
        unlink_call(call);
        free(call);
    }
}

static void on_tm_log_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    log_call *call = arg;
    struct evhttp_request *req = call->req;
    bool read = call->read;
    unlink_call(call);
    free(call);
    if (!reply) {
        fl_rest_error(req, 503, "The TaskManager did not answer: %s.", error ? error : "?");
        return;
    }
    const Fl__Pb__LogResponse *r = (const Fl__Pb__LogResponse *)reply->pb;
    if (r->status != 200) {
        fl_rest_error(req, r->status >= 400 && r->status < 600 ? r->status : 500, "%.400s",
                      r->error ? r->error : "refused");
    } else if (read) {
        send_log(req, r->data.data, r->data.len, r->offset, r->size);
    } else {
        const char **names = fl_xcalloc(r->n_files + 1, sizeof *names);
        uint64_t *sizes = fl_xcalloc(r->n_files + 1, sizeof *sizes);
        for (size_t i = 0; i < r->n_files; i++) {
            names[i] = r->files[i]->name;
            sizes[i] = r->files[i]->size;
        }
        fl_rest_reply_json(req, 200, list_json(names, sizes, r->n_files));
        free(names);
        free(sizes);
    }
    fl_rpc_msg_free(reply);
}

static void ask_tm(fl_dispatcher *d, struct evhttp_request *req, const fl_rest_params *p,
                   const char *name)
{
    const fl_tm_view *tm = tm_param(d, req, p);
    if (!tm)
        return;
    Fl__Pb__LogRequest lr = FL__PB__LOG_REQUEST__INIT;
    lr.name = (char *)(name ? name : "");
    lr.max_bytes = read_max(d);
    log_call *call = fl_xmalloc(sizeof *call);
    call->req = req;
    call->read = name != NULL;
    call->next = d->log_calls;
    call->prev = &d->log_calls;
    if (d->log_calls)
        d->log_calls->prev = &call->next;
    d->log_calls = call;
    fl_rpc_call(d->rpc, tm->conn, FL_RPC_LOG_REQUEST, &lr.base,
                fl_conf_get_duration_ms(d->conf, "rpc.ask-timeout"), d->ep, on_tm_log_reply,
                call);
}

static void get_tm_logs(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    ask_tm(ctx, req, p, NULL);
}

static void get_tm_log(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    ask_tm(ctx, req, p, fl_rest_param(p, "name"));
}

void fl_disp_log_routes(fl_dispatcher *d)
{
    fl_rest_route(d->rest, "GET", "/jobmanager/logs", get_jm_logs);
    fl_rest_route(d->rest, "GET", "/jobmanager/logs/:name", get_jm_log);
    fl_rest_route(d->rest, "GET", "/taskmanagers/:taskmanagerid/logs", get_tm_logs);
    fl_rest_route(d->rest, "GET", "/taskmanagers/:taskmanagerid/logs/:name", get_tm_log);
}
