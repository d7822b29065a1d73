/* rest.c -- see rest.h. The router and what every request must be before a handler sees
 * it (query string, media type, origin); body memory is rest_budget.c's. */
#include "rest.h"
#include "common/config.h"
#include "common/connlimit.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/rpc.h"
#include "common/util.h"
#include "rest_auth.h"
#include "rest_budget.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define MAX_ORIGINS 16

typedef struct rest_route {
    char method[8];
    char pattern[128];
    char media_type[48]; /* of a state-changing route's body */
    fl_rest_handler fn;
} rest_route;

struct fl_rest {
    struct evhttp *http;
    void *ctx;
    rest_route routes[64];
    int nroutes;
    fl_rest_budget *budget;
    bool cors_any;               /* web.access-control-allow-origin: * */
    int norigins;
    char *origins[MAX_ORIGINS];  /* the listed origins, without a trailing '/' */
    fl_connlimit cl;             /* only its pause on a descriptor shortage */
    const fl_rest_auth *auth;    /* bearer tokens, NULL: open */
    fl_rest_gate gate;           /* may answer a routed request itself (a standby) */
};


/* The REST server of this process (one per JobManager): the listener's error callback gets
 * evhttp's argument, not ours. */
static fl_rest *the_rest;

/* accept(2) failed (EMFILE under a connection flood): pause accepting rather than retry at
 * once, which spins at 100 % CPU and floods the log. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    if (the_rest)
        fl_connlimit_accept_error(&the_rest->cl);
}

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

static bool changes_state(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
           !strcmp(method, "DELETE");
}

/* The role a request needs: reading for GET, submitting for POST /jobs, admin for every
 * other change (cancel, stop, savepoints, rescaling). */
static enum fl_rest_role role_needed(const char *method, const char *pattern)
{
    if (!changes_state(method))
        return FL_ROLE_READ;
    if (!strcmp(method, "POST") && !strcmp(pattern, "/jobs"))
        return FL_ROLE_SUBMIT;
    return FL_ROLE_ADMIN;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
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

/* ---- query string ------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes len bytes of s (form encoding: %XX, '+' is a space) into out (size cap). -1 with
 * why on a bad escape, a control character (NUL included) or a result too long. */
static int decode_part(const char *s, size_t len, char *out, size_t cap, char *why,
                       size_t whylen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                snprintf(why, whylen, "a %% not followed by two hex digits");
                return -1;
            }
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, whylen, "a control character (0x%02x)", c);
            return -1;
        }
        if (n + 1 >= cap) {
            snprintf(why, whylen, "a part longer than %zu bytes", cap - 1);
            return -1;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* Parses the query string q into p. -1 with why when it is malformed (see rest.h). */
static int parse_query(const char *q, fl_rest_params *p, char *why, size_t whylen)
{
    p->nq = 0;
    while (q && *q) {
        size_t len = strcspn(q, "&");
        if (len) {
            const char *eq = memchr(q, '=', len);
            size_t nlen = eq ? (size_t)(eq - q) : len;
            if (p->nq == FL_REST_MAX_QUERY) {
                snprintf(why, whylen, "more than %d parameters", FL_REST_MAX_QUERY);
                return -1;
            }
            char *name = p->qnames[p->nq], *value = p->qvalues[p->nq];
            if (decode_part(q, nlen, name, FL_REST_QUERY_NAME_MAX, why, whylen) < 0 ||
                decode_part(eq ? eq + 1 : "", eq ? len - nlen - 1 : 0, value,
                            FL_REST_QUERY_VALUE_MAX, why, whylen) < 0)
                return -1;
            if (!*name) {
                snprintf(why, whylen, "a parameter without a name");
                return -1;
            }
            for (int i = 0; i < p->nq; i++)
                if (!strcmp(p->qnames[i], name)) {
                    snprintf(why, whylen, "'%s' given twice", name);
                    return -1;
                }
            p->nq++;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return 0;
}

const char *fl_rest_query(const fl_rest_params *p, const char *name)
{
    for (int i = 0; i < p->nq; i++)
        if (!strcmp(p->qnames[i], name))
            return p->qvalues[i];
    return NULL;
}

/* ---- origins and media types ------------------------------------------------------- */

/* True when origin is one web.access-control-allow-origin lists. */
static bool origin_listed(const fl_rest *rest, const char *origin)
{
    if (rest->cors_any)
        return true;
    for (int i = 0; i < rest->norigins; i++)
        if (!strcasecmp(rest->origins[i], origin))
            return true;
    return false;
}

/* True when origin is this server's own (the page came from the dashboard): its
 * host[:port] is the request's Host. */
static bool origin_is_own(struct evhttp_request *req, const char *origin)
{
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    const char *sep = strstr(origin, "://");
    return host && sep && !strncasecmp(origin, "http", 4) && !strcasecmp(sep + 3, host);
}

/* The media type of a Content-Type value ("application/json; charset=utf-8") is type
 * (case-insensitive, parameters ignored). */
static bool media_type_is(const char *value, const char *type)
{
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strcspn(value, ";");
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    return n == strlen(type) && !strncasecmp(value, type, n);
}

/* Answers a CORS preflight for path: the methods its routes take, from a listed origin. */
static void preflight(fl_rest *rest, struct evhttp_request *req, const char *path,
                      const char *origin)
{
    if (!origin || !origin_listed(rest, origin)) {
        fl_rest_error(req, 403, "Cross-origin requests are not allowed from %.200s "
                                "(web.access-control-allow-origin).",
                      origin ? origin : "(no Origin)");
        return;
    }
    char methods[128] = "";
    fl_rest_params p;
    for (int i = 0; i < rest->nroutes; i++)
        if (match(rest->routes[i].pattern, path, &p) && !strstr(methods, rest->routes[i].method)) {
            size_t n = strlen(methods);
            snprintf(methods + n, sizeof methods - n, "%s%s", n ? ", " : "",
                     rest->routes[i].method);
        }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Access-Control-Allow-Methods", methods);
    evhttp_add_header(h, "Access-Control-Allow-Headers", "Content-Type");
    evhttp_add_header(h, "Access-Control-Max-Age", "600");
    evhttp_send_reply(req, 204, reason(204), NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    fl_rest *rest = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *method = method_name(evhttp_request_get_command(req));
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *origin = evhttp_find_header(in, "Origin");
    fl_rest_params p;
    char why[128];
    int route = -1;
    bool path_known = false;

    /* CORS: only a listed origin, echoed (not *, which would let every page read) */
    if (origin && origin_listed(rest, origin)) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
        evhttp_add_header(h, "Vary", "Origin");
    }
    if (!path || path[0] != '/') {
        fl_rest_error(req, 400, "Bad request path.");
        goto done;
    }
    for (int i = 0; i < rest->nroutes && route < 0; i++) {
        if (!match(rest->routes[i].pattern, path, &p))
            continue;
        path_known = true;
        if (strcmp(rest->routes[i].method, method) == 0)
            route = i;
    }
    if (route < 0) {
        if (path_known && !strcmp(method, "OPTIONS"))
            preflight(rest, req, path, origin);
        else if (path_known)
            fl_rest_error(req, 405, "Request method %s is not allowed for %.200s.", method,
                          path);
        else
            fl_rest_error(req, 404, "Not found: %.200s", path);
        goto done;
    }
    if (rest->auth) {
        enum fl_rest_role need = role_needed(method, rest->routes[route].pattern);
        enum fl_rest_role role = fl_rest_auth_role(rest->auth, evhttp_find_header(in, "Authorization"));
        if (role == FL_ROLE_NONE) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"flint\"");
            fl_rest_error(req, 401, "Missing or unknown bearer token (security.rest.auth.tokens): "
                                    "%s %.200s needs the role %s.",
                          method, path, fl_rest_role_name(need));
            goto done;
        }
        if (role < need) {
            fl_rest_error(req, 403, "The token's role %s may not %s %.200s: that needs %s.",
                          fl_rest_role_name(role), method, path, fl_rest_role_name(need));
            goto done;
        }
    }
    match(rest->routes[route].pattern, path, &p);
    if (parse_query(uri ? evhttp_uri_get_query(uri) : NULL, &p, why, sizeof why) < 0) {
        fl_rest_error(req, 400, "Malformed query string: %s.", why);
        goto done;
    }
    if (changes_state(method)) {
        const rest_route *r = &rest->routes[route];
        if (origin && !origin_listed(rest, origin) && !origin_is_own(req, origin)) {
            fl_rest_error(req, 403, "%s %.200s from the web page of %.200s refused: that origin "
                                    "is not allowed (web.access-control-allow-origin).",
                          method, path, origin);
            goto done;
        }
        const char *ctype = evhttp_find_header(in, "Content-Type");
        if (!media_type_is(ctype, r->media_type)) {
            fl_rest_error(req, 415, "%s %.200s needs Content-Type: %s, not %.100s.", method,
                          path, r->media_type, ctype ? ctype : "none");
            goto done;
        }
    }
    if (rest->gate && rest->gate(rest->ctx, req, method, path))
        goto done;
    rest->routes[route].fn(rest->ctx, req, &p);
done:
    fl_rest_budget_request_done(rest->budget, req);
}

const char *fl_rest_param(const fl_rest_params *p, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < p->n; i++)
        if (strncmp(p->names[i], name, n) == 0 && (p->names[i][n] == '/' || !p->names[i][n]))
            return p->values[i];
    return NULL;
}

void fl_rest_reply_text(struct evhttp_request *req, int status, const char *content_type,
                        const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, body, len);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
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

/* Adds the origins of the comma-separated list to rest (or opts-check only when rest is
 * NULL). -1 with err on an entry that is not * or scheme://host[:port]. */
static int parse_origins(fl_rest *rest, const char *list, fl_err *err)
{
    int n = 0;
    for (const char *seg = list; seg && *seg;) {
        size_t len = strcspn(seg, ",");
        const char *s = seg, *e = seg + len;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '/'))
            e--;
        size_t olen = (size_t)(e - s);
        if (olen == 1 && *s == '*') {
            if (rest)
                rest->cors_any = true;
        } else if (olen) {
            const char *sep = memchr(s, ':', olen);
            bool ok = sep && olen > (size_t)(sep - s) + 3 && !strncmp(sep, "://", 3) &&
                      !memchr(sep + 3, '/', (size_t)(e - sep - 3));
            for (const char *c = s; ok && c < e; c++)
                ok = *c > ' ' && *c < 0x7f;
            if (!ok || n == MAX_ORIGINS) {
                fl_err_set(err, "web.access-control-allow-origin: '%.*s' is not an origin "
                                "(scheme://host[:port], at most %d of them) or *",
                           (int)FL_MIN(olen, 200), s, MAX_ORIGINS);
                return -1;
            }
            if (rest)
                rest->origins[rest->norigins++] = fl_xasprintf("%.*s", (int)olen, s);
            n++;
        }
        seg += len;
        if (*seg == ',')
            seg++;
    }
    return 0;
}

int fl_rest_opts_from_conf(const fl_conf *conf, fl_rest_opts *opts, fl_err *err)
{
    opts->max_body = (size_t)fl_conf_get_bytes(conf, "rest.server.max-content-length");
    opts->max_body_total =
        (size_t)fl_conf_get_bytes(conf, "rest.server.max-concurrent-content-length");
    opts->cors_origins = fl_conf_get_str(conf, "web.access-control-allow-origin");
    opts->tls = NULL; /* the caller owns a TLS context and sets it */
    opts->auth = NULL; /* and the tokens */
    if (opts->max_body_total < opts->max_body) {
        fl_err_set(err, "rest.server.max-concurrent-content-length (%zu bytes) must be at least "
                        "rest.server.max-content-length (%zu bytes)",
                   opts->max_body_total, opts->max_body);
        return -1;
    }
    return parse_origins(NULL, opts->cors_origins, err);
}

fl_rest *fl_rest_new(struct event_base *base, void *ctx, const fl_rest_opts *opts)
{
    fl_rest *rest = fl_xcalloc(1, sizeof *rest);
    rest->http = evhttp_new(base);
    if (!rest->http || parse_origins(rest, opts->cors_origins, NULL) < 0) {
        fl_rest_free(rest);
        return NULL;
    }
    rest->ctx = ctx;
    evhttp_set_allowed_methods(rest->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                               EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_max_headers_size(rest->http, 64 * 1024);
    evhttp_set_timeout(rest->http, 60);
    evhttp_set_gencb(rest->http, on_request, rest);
    rest->budget = fl_rest_budget_new(base, rest->http, opts->max_body, opts->max_body_total,
                                      opts->tls);
    fl_connlimit_conf c = {.port = "REST", .prefix = "rest.", .max_conns = 1 << 30};
    fl_connlimit_init(&rest->cl, &c);
    rest->auth = opts->auth;
    the_rest = rest;
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
    fl_connlimit_watch(&rest->cl, evhttp_bound_socket_get_listener(bs), on_accept_error);
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

void fl_rest_route_body(fl_rest *rest, const char *method, const char *pattern,
                        const char *media_type, fl_rest_handler fn)
{
    if (rest->nroutes == (int)FL_ARRAY_LEN(rest->routes)) {
        fl_error("BUG: too many REST routes");
        abort();
    }
    rest_route *r = &rest->routes[rest->nroutes++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->pattern, sizeof r->pattern, "%s", pattern);
    snprintf(r->media_type, sizeof r->media_type, "%s", media_type);
    r->fn = fn;
}

void fl_rest_route(fl_rest *rest, const char *method, const char *pattern, fl_rest_handler fn)
{
    fl_rest_route_body(rest, method, pattern, "application/json", fn);
}

void fl_rest_set_gate(fl_rest *rest, fl_rest_gate gate)
{
    rest->gate = gate;
}

size_t fl_rest_body_bytes(const fl_rest *rest)
{
    return fl_rest_budget_held(rest->budget);
}

void fl_rest_free(fl_rest *rest)
{
    if (!rest)
        return;
    if (rest->http)
        evhttp_free(rest->http); /* closes the connections: the budget hears of each */
    fl_connlimit_free(&rest->cl);
    if (the_rest == rest)
        the_rest = NULL;
    fl_rest_budget_free(rest->budget);
    for (int i = 0; i < rest->norigins; i++)
        free(rest->origins[i]);
    free(rest);
}
