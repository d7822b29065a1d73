/* rest.h -- a small JSON router over libevent's evhttp, for the Dispatcher's REST API.
 *
 * Routes are a method plus a path pattern whose ":name" segments capture values
 * ("/jobs/:jobid"). A path no route matches is a 404; a path that matches only with another
 * method is a 405; both answer {"errors":[...]} as Flink's REST API does. Runs on the thread
 * of the event_base it was created on.
 */
#ifndef FL_REST_H
#define FL_REST_H

#include <jansson.h>

#include "err.h"

struct event_base;
struct evhttp_request;

#define FL_REST_MAX_PARAMS 4

typedef struct fl_rest_params {
    int n;
    const char *names[FL_REST_MAX_PARAMS];
    char values[FL_REST_MAX_PARAMS][128];
} fl_rest_params;

typedef void (*fl_rest_handler)(void *ctx, struct evhttp_request *req, const fl_rest_params *p);

typedef struct fl_rest fl_rest;

fl_rest *fl_rest_new(struct event_base *base, void *ctx, size_t max_body);
int fl_rest_listen(fl_rest *rest, const char *host, int port, int *bound_port, fl_err *err);
/* method: "GET", "POST", "PATCH", "DELETE", "PUT". */
void fl_rest_route(fl_rest *rest, const char *method, const char *pattern, fl_rest_handler fn);
void fl_rest_free(fl_rest *rest);

const char *fl_rest_param(const fl_rest_params *p, const char *name);
/* Value of a query-string parameter (caller's buffer), or NULL. */
const char *fl_rest_query(struct evhttp_request *req, const char *name, char *buf, size_t len);
/* Sends body (taken over: decref'd) as JSON with the given status. */
void fl_rest_reply_json(struct evhttp_request *req, int status, json_t *body);
void fl_rest_reply_text(struct evhttp_request *req, int status, const char *content_type,
                        const char *body, size_t len);
void fl_rest_error(struct evhttp_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
