/* rest_history.c -- what a job went through, from its JobMaster's latest status (issue 12):
 *
 *   GET /jobs/:jobid/exceptions                           Flink's root exception and its
 *       exceptionHistory ({"entries":[{exceptionName, stacktrace, timestamp, taskName,
 *       location, taskManagerId, failureLabels, concurrentExceptions}], "truncated"}),
 *       newest first, at most web.exception-history-size (exception_history.h)
 *   GET /jobs/:jobid/checkpoints/details/:checkpointid    one checkpoint of the history
 *
 * Dispatcher thread.
 */
#include "dispatcher_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void get_job_exceptions(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (!j)
        return;
    json_t *cause = json_object_get(j->details, "root-exception");
    json_t *hist = json_object_get(j->details, "exceptionHistory");
    json_t *o = json_pack("{s:O, s:[], s:b}", "root-exception", cause ? cause : json_null(),
                          "all-exceptions", "truncated", 0);
    /* Flink's timestamp is the root exception's: the newest entry's, else the end */
    json_t *newest = json_array_get(json_object_get(hist, "entries"), 0);
    json_object_set(o, "timestamp", newest ? json_object_get(newest, "timestamp")
                                           : json_object_get(j->details, "end-time"));
    json_object_set_new(o, "exceptionHistory",
                        hist ? json_incref(hist) : json_pack("{s:[], s:b}", "entries",
                                                             "truncated", 0));
    fl_rest_reply_json(req, 200, o);
}


static void get_checkpoint_details(void *ctx, struct evhttp_request *req,
                                   const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (!j)
        return;
    const char *s = fl_rest_param(p, "checkpointid");
    char *end;
    errno = 0;
    long long id = strtoll(s, &end, 10);
    if (*end || errno || id < 0) {
        fl_rest_error(req, 400, "'%.64s' is not a checkpoint id.", s);
        return;
    }
    json_t *hist = json_object_get(json_object_get(j->details, "checkpoints"), "history");
    size_t i;
    json_t *h;
    json_array_foreach(hist, i, h) {
        if (json_integer_value(json_object_get(h, "id")) != id)
            continue;
        json_t *o = json_deep_copy(h);
        /* Flink adds the per-vertex acknowledgements; Flint keeps the checkpoint's totals */
        json_object_set_new(o, "@class", json_string(json_is_true(json_object_get(
                                                         h, "is_savepoint"))
                                                         ? "savepoint"
                                                         : "checkpoint"));
        json_object_set_new(o, "tasks", json_object());
        fl_rest_reply_json(req, 200, o);
        return;
    }
    fl_rest_error(req, 404, "Could not find checkpointing statistics for checkpoint %lld.", id);
}

void fl_disp_history_routes(fl_dispatcher *d)
{
    fl_rest_route(d->rest, "GET", "/jobs/:jobid/exceptions", get_job_exceptions);
    fl_rest_route(d->rest, "GET", "/jobs/:jobid/checkpoints/details/:checkpointid",
                  get_checkpoint_details);
}
