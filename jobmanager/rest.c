/* rest.c -- see rest.h. */
#include "rest.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

typedef struct rest_route {
    char method[8];
    char pattern[128];
    fl_rest_handler fn;
} rest_route;

struct fl_rest {
    struct evhttp *http;
    void *ctx;
    rest_route routes[64];
    int nroutes;
};

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "?";
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    }
    return "Status";
}

/* Matches path against pattern; fills p. Both start with '/'. */
static bool match(const char *pattern, const char *path, fl_rest_params *p)
{
    p->n = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return false;
        pattern++;
        path++;
        size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");
        if (*pattern == ':') {
            if (slen == 0 || slen >= sizeof p->values[0] || p->n == FL_REST_MAX_PARAMS)
                return false;
            p->names[p->n] = pattern + 1; /* up to the next '/' */
            memcpy(p->values[p->n], path, slen);
            p->values[p->n][slen] = '\0';
            p->n++;
        } else if (plen != slen || strncmp(pattern, path, plen) != 0) {
            return false;
        }
        pattern += plen;
        path += slen;
    }
    /* allow one trailing slash on the request */
    return !*pattern && (!*path || (path[0] == '/' && !path[1]));
}

const char *fl_rest_param(const fl_rest_params *p, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < p->n; i++)
        if (strncmp(p->names[i], name, n) == 0 && (p->names[i][n] == '/' || !p->names[i][n]))
            return p->values[i];
    return NULL;
}

const char *fl_rest_query(struct evhttp_request *req, const char *name, char *buf, size_t len)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq kv;
    const char *out = NULL;
    if (!q || evhttp_parse_query_str(q, &kv) < 0)
        return NULL;
    const char *v = evhttp_find_header(&kv, name);
    if (v) {
        snprintf(buf, len, "%s", v);
        out = buf;
    }
    evhttp_clear_headers(&kv);
    return out;
}

void fl_rest_reply_text(struct evhttp_request *req, int status, const char *content_type,
                        const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, body, len);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Access-Control-Allow-Origin", "*");
    evhttp_send_reply(req, status, reason(status), buf);
    evbuffer_free(buf);
}

void fl_rest_reply_json(struct evhttp_request *req, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s) {
        static const char err[] = "{\"errors\":[\"cannot encode response\"]}";
        fl_rest_reply_text(req, 500, "application/json", err, sizeof err - 1);
        return;
    }
    fl_rest_reply_text(req, status, "application/json; charset=UTF-8", s, strlen(s));
    free(s);
}

void fl_rest_error(struct evhttp_request *req, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fl_rest_reply_json(req, status, json_pack("{s:[s]}", "errors", msg));
}

static void on_request(struct evhttp_request *req, void *arg)
{
    fl_rest *rest = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *method = method_name(evhttp_request_get_command(req));
    fl_rest_params p;
    bool path_known = false;

    if (!path || path[0] != '/') {
        fl_rest_error(req, 400, "Bad request path.");
        return;
    }
    for (int i = 0; i < rest->nroutes; i++) {
        if (!match(rest->routes[i].pattern, path, &p))
            continue;
        path_known = true;
        if (strcmp(rest->routes[i].method, method) == 0) {
            rest->routes[i].fn(rest->ctx, req, &p);
            return;
        }
    }
    if (path_known)
        fl_rest_error(req, 405, "Request method %s is not allowed for %s.", method, path);
    else
        fl_rest_error(req, 404, "Not found: %s", path);
}

fl_rest *fl_rest_new(struct event_base *base, void *ctx, size_t max_body)
{
    fl_rest *rest = fl_xcalloc(1, sizeof *rest);
    rest->http = evhttp_new(base);
    if (!rest->http) {
        free(rest);
        return NULL;
    }
    rest->ctx = ctx;
    evhttp_set_allowed_methods(rest->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                               EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_max_body_size(rest->http, (ev_ssize_t)max_body);
    evhttp_set_max_headers_size(rest->http, 64 * 1024);
    evhttp_set_timeout(rest->http, 60);
    evhttp_set_gencb(rest->http, on_request, rest);
    return rest;
}

int fl_rest_listen(fl_rest *rest, const char *host, int port, int *bound_port, fl_err *err)
{
    struct sockaddr_storage ss;
    int sslen;
    char addr[64];
    if (fl_resolve(host, port, &ss, &sslen, err) < 0)
        return -1;
    fl_sockaddr_str((struct sockaddr *)&ss, addr, sizeof addr);
    char ip[64];
    snprintf(ip, sizeof ip, "%s", addr);
    *strrchr(ip, ':') = '\0';
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(rest->http, ip, (ev_uint16_t)port);
    if (!bs) {
        fl_err_set(err, "cannot bind the REST server to %s", addr);
        return -1;
    }
    if (bound_port) {
        struct sockaddr_storage got;
        socklen_t len = sizeof got;
        getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&got, &len);
        char s[64];
        fl_sockaddr_str((struct sockaddr *)&got, s, sizeof s);
        *bound_port = atoi(strrchr(s, ':') + 1);
    }
    return 0;
}

void fl_rest_route(fl_rest *rest, const char *method, const char *pattern, fl_rest_handler fn)
{
    if (rest->nroutes == (int)FL_ARRAY_LEN(rest->routes)) {
        fl_error("BUG: too many REST routes");
        abort();
    }
    rest_route *r = &rest->routes[rest->nroutes++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->pattern, sizeof r->pattern, "%s", pattern);
    r->fn = fn;
}

void fl_rest_free(fl_rest *rest)
{
    if (!rest)
        return;
    evhttp_free(rest->http);
    free(rest);
}
