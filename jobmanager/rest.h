/* rest.h -- a small JSON router over libevent's evhttp, for the Dispatcher's REST API.
 *
 * Routes are a method plus a path pattern whose ":name" segments capture values
 * ("/jobs/:jobid"). A path no route matches is a 404; a path that matches only with another
 * method is a 405; both answer {"errors":[...]} as Flink's REST API does. Runs on the thread
 * of the event_base it was created on.
 *
 * What a request must be before any handler sees it (issue 20, REST from a web page):
 *   - Its query string parses strictly: %XX escapes of two hex digits, no NUL or control
 *     character, no name twice, at most FL_REST_MAX_QUERY parameters of bounded length;
 *     anything else is a 400 (a malformed ?mode= must never fall through to a default).
 *   - A state-changing request (POST, PUT, PATCH, DELETE) names its body's media type in
 *     Content-Type: application/json, or the one its route declares (POST /jobs takes the
 *     CLI's application/x-protobuf); else 415. A web page cannot send such a request to
 *     another origin without a CORS preflight, which is refused unless allowed.
 *   - CORS is off unless web.access-control-allow-origin lists origins: then a listed Origin
 *     (only that one) is echoed in Access-Control-Allow-Origin and preflights from it are
 *     answered; a state-changing request whose Origin is neither this server's own nor
 *     listed is a 403.
 *   - Bodies are bounded (rest_budget.c): one by rest.server.max-content-length, all those
 *     being received at once by rest.server.max-concurrent-content-length; beyond, 413.
 */
#ifndef FL_REST_H
#define FL_REST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct event_base;
struct evhttp_request;

#define FL_REST_MAX_PARAMS 4
#define FL_REST_MAX_QUERY 8
#define FL_REST_QUERY_NAME_MAX 64
#define FL_REST_QUERY_VALUE_MAX 256

typedef struct fl_rest_params {
    int n;
    const char *names[FL_REST_MAX_PARAMS];
    char values[FL_REST_MAX_PARAMS][128];
    /* the query string, decoded */
    int nq;
    char qnames[FL_REST_MAX_QUERY][FL_REST_QUERY_NAME_MAX];
    char qvalues[FL_REST_MAX_QUERY][FL_REST_QUERY_VALUE_MAX];
} fl_rest_params;

typedef void (*fl_rest_handler)(void *ctx, struct evhttp_request *req, const fl_rest_params *p);

typedef struct fl_rest_opts {
    size_t max_body;         /* rest.server.max-content-length */
    size_t max_body_total;   /* rest.server.max-concurrent-content-length */
    const char *cors_origins; /* web.access-control-allow-origin (copied); NULL: CORS off */
    struct fl_tls *tls;       /* security.ssl.rest.* (common/tls.h), NULL: plain HTTP; the
                                 context outlives the server */
    const struct fl_rest_auth *auth; /* security.rest.auth.tokens (rest_auth.h), NULL: open;
                                        outlives the server */
} fl_rest_opts;

typedef struct fl_rest fl_rest;

/* The options from a configuration: 0, or -1 with err when they contradict each other. */
struct fl_conf;
int fl_rest_opts_from_conf(const struct fl_conf *conf, fl_rest_opts *opts, fl_err *err);

fl_rest *fl_rest_new(struct event_base *base, void *ctx, const fl_rest_opts *opts);
int fl_rest_listen(fl_rest *rest, const char *host, int port, int *bound_port, fl_err *err);
/* method: "GET", "POST", "PATCH", "DELETE", "PUT". A state-changing route takes
 * application/json bodies; fl_rest_route_body names another media type. */
void fl_rest_route(fl_rest *rest, const char *method, const char *pattern, fl_rest_handler fn);
void fl_rest_route_body(fl_rest *rest, const char *method, const char *pattern,
                        const char *media_type, fl_rest_handler fn);
void fl_rest_free(fl_rest *rest);
/* A request that passed every check and matched a route goes to gate first; when it
 * returns true it has answered (a standby JobManager redirects to the leader so). */
typedef bool (*fl_rest_gate)(void *ctx, struct evhttp_request *req, const char *method,
                             const char *path);
void fl_rest_set_gate(fl_rest *rest, fl_rest_gate gate);

const char *fl_rest_param(const fl_rest_params *p, const char *name);
/* Value of a query-string parameter (decoded, validated), or NULL when absent. */
const char *fl_rest_query(const fl_rest_params *p, const char *name);
/* Sends body (taken over: decref'd) as JSON with the given status. */
void fl_rest_reply_json(struct evhttp_request *req, int status, json_t *body);
void fl_rest_reply_text(struct evhttp_request *req, int status, const char *content_type,
                        const char *body, size_t len);
void fl_rest_error(struct evhttp_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Bytes of request bodies held right now (rest_budget.c), for logs and tests. */
size_t fl_rest_body_bytes(const fl_rest *rest);

#endif
