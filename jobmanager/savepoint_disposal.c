/* savepoint_disposal.c -- Flink's savepoint disposal (`flint savepoint -d PATH`):
 *
 *   POST /savepoint-disposal {"savepoint-path": "..."}  -> 202 {"request-id": "..."}
 *   GET  /savepoint-disposal/:triggerid                 -> {"status": {"id": "COMPLETED"},
 *                                     "operation": {} or {"failure-cause": "why"}}
 *
 * The operation's result is known at once (it is one directory), and kept for the last
 * DISPOSALS_KEPT requests. Refused (the operation's failure-cause) unless the path is a
 * savepoint: a directory under state.savepoints.dir / .allowed-dirs (any absolute path
 * when neither is set, as in Flink) with a _metadata that reads back whole (magic,
 * version, CRC, every file inside the directory) and says savepoint, not checkpoint. The
 * directory is removed without following symbolic links (fl_remove_tree). Dispatcher
 * thread only.
 */
#include "checkpoint_coordinator.h"
#include "common/log.h"
#include "common/util.h"
#include "dispatcher_internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DISPOSALS_KEPT 64
#define DISPOSAL_PATH_MAX 1000

static struct disposal {
    char id[33];
    char error[600]; /* "" : completed */
} disposals[DISPOSALS_KEPT];
static unsigned ndisposals;

static int dispose(fl_dispatcher *d, const char *path, fl_err *err)
{
    const char *dir = !strncmp(path, "file://", 7) ? path + 7
                    : !strncmp(path, "file:", 5)   ? path + 5
                                                   : path;
    if (fl_disp_confine_target(d, dir, err) < 0)
        return -1;
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fl_err_set(err, "%s is not a savepoint directory", dir);
        return -1;
    }
    fl_err merr;
    Fl__Pb__CheckpointMetadata *m = fl_cc_load_metadata(dir, &merr);
    if (!m) {
        fl_err_set(err, "%s is not a savepoint: %s", dir, merr.msg);
        return -1;
    }
    bool savepoint = m->savepoint;
    fl__pb__checkpoint_metadata__free_unpacked(m, NULL);
    if (!savepoint) {
        fl_err_set(err, "%s is a checkpoint, not a savepoint: checkpoints are removed by "
                        "their job", dir);
        return -1;
    }
    if (fl_remove_tree(dir) < 0) {
        fl_err_set(err, "cannot remove %s", dir);
        return -1;
    }
    fl_info("Disposed of savepoint %s", dir);
    return 0;
}

static void post_disposal(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    json_t *body = fl_disp_json_body(req);
    if (!body)
        return;
    json_t *jpath = json_object_get(body, "savepoint-path");
    const char *path = json_string_value(jpath);
    char why[160];
    if (!path) {
        fl_rest_error(req, 400, "savepoint-path must be a string.");
    } else if (fl_disp_check_path(path, json_string_length(jpath), DISPOSAL_PATH_MAX, why,
                                  sizeof why) < 0) {
        fl_rest_error(req, 400, "Invalid savepoint-path: %s.", why);
    } else {
        struct disposal *x = &disposals[ndisposals++ % DISPOSALS_KEPT];
        fl_random_hex(x->id, 16);
        fl_err err;
        x->error[0] = 0;
        if (dispose(d, path, &err) < 0)
            snprintf(x->error, sizeof x->error, "%s", err.msg);
        fl_rest_reply_json(req, 202, json_pack("{s:s}", "request-id", x->id));
    }
    json_decref(body);
}

static void get_disposal(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    const char *tid = fl_rest_param(p, "triggerid");
    for (unsigned i = 0; i < DISPOSALS_KEPT; i++) {
        const struct disposal *x = &disposals[i];
        if (!x->id[0] || strcmp(x->id, tid) != 0)
            continue;
        json_t *op = x->error[0] ? json_pack("{s:s}", "failure-cause", x->error)
                                 : json_object();
        fl_rest_reply_json(req, 200, json_pack("{s:{s:s},s:o}", "status", "id", "COMPLETED",
                                               "operation", op));
        return;
    }
    fl_rest_error(req, 404, "No savepoint disposal %s.", tid);
}

void fl_disp_disposal_routes(fl_dispatcher *d)
{
    fl_rest_route(d->rest, "POST", "/savepoint-disposal", post_disposal);
    fl_rest_route(d->rest, "GET", "/savepoint-disposal/:triggerid", get_disposal);
}
