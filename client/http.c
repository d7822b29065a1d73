/* http.c -- see http.h. One event_base per request; the CLI is single-threaded. */
#include "http.h"
#include "common/tls.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

typedef struct req_state {
    struct event_base *base;
    fl_http_resp *resp;
    int done;
    char error[256];
} req_state;

static void on_done(struct evhttp_request *req, void *arg)
{
    req_state *st = arg;
    st->done = 1;
    event_base_loopexit(st->base, NULL); /* do not linger on the kept-alive connection */
    if (!req || evhttp_request_get_response_code(req) == 0) {
        snprintf(st->error, sizeof st->error, "connection refused or closed (is the cluster "
                                              "running?)");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    st->resp->status = evhttp_request_get_response_code(req);
    st->resp->body = fl_xmalloc(n + 1);
    evbuffer_remove(in, st->resp->body, n);
    st->resp->body[n] = '\0';
    st->resp->len = n;
    const char *loc = evhttp_find_header(evhttp_request_get_input_headers(req), "Location");
    if (loc && strlen(loc) < sizeof st->resp->location)
        snprintf(st->resp->location, sizeof st->resp->location, "%s", loc);
}

int fl_http_parse_url(const char *url, char *host, size_t hostlen, int *port, fl_err *err)
{
    char hp[300];
    /* the scheme follows the client's own security.ssl.rest.* settings */
    size_t skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
    if (!skip) {
        fl_err_set(err, "'%.200s' is not an http:// or https:// URL", url);
        return -1;
    }
    url += skip;
    size_t n = strcspn(url, "/?");
    if (n == 0 || n >= sizeof hp) {
        fl_err_set(err, "'%.200s' has no host:port", url);
        return -1;
    }
    memcpy(hp, url, n);
    hp[n] = '\0';
    return fl_parse_host_port(hp, host, hostlen, port, err);
}

int fl_http_request(const char *host, int port, struct fl_tls *tls, const char *token,
                    const char *method, const char *path, const char *content_type,
                    const void *body, size_t len, int timeout_s, fl_http_resp *resp,
                    fl_err *err)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type type;
    } methods[] = {{"GET", EVHTTP_REQ_GET},       {"POST", EVHTTP_REQ_POST},
                   {"PATCH", EVHTTP_REQ_PATCH},   {"PUT", EVHTTP_REQ_PUT},
                   {"DELETE", EVHTTP_REQ_DELETE}};
    enum evhttp_cmd_type type = EVHTTP_REQ_GET;
    for (size_t i = 0; i < FL_ARRAY_LEN(methods); i++)
        if (strcmp(methods[i].name, method) == 0)
            type = methods[i].type;

    memset(resp, 0, sizeof *resp);
    req_state st = {.resp = resp};
    int rc = -1;
    struct event_base *base = event_base_new();
    st.base = base;
    struct bufferevent *bev = base && tls ? fl_tls_connect_bev(tls, base) : NULL;
    struct evhttp_connection *conn =
        !base || (tls && !bev) ? NULL
        : bev ? evhttp_connection_base_bufferevent_new(base, NULL, bev, host, (ev_uint16_t)port)
              : evhttp_connection_base_new(base, NULL, host, (ev_uint16_t)port);
    if (!base || !conn) {
        fl_err_set(err, "cannot create an HTTP connection to %s:%d", host, port);
        goto out;
    }
    evhttp_connection_set_timeout(conn, timeout_s);
    struct evhttp_request *req = evhttp_request_new(on_done, &st);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%d", host, port);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "Accept", "application/json");
    evhttp_add_header(h, "Connection", "close");
    if (token) {
        char auth[1100];
        snprintf(auth, sizeof auth, "Bearer %.1000s", token);
        evhttp_add_header(h, "Authorization", auth);
        memset(auth, 0, sizeof auth);
    }
    /* A state-changing request names its media type even without a body: the JobManager
     * refuses one that does not (a browser cannot send it cross-origin unasked). */
    if (body || type != EVHTTP_REQ_GET)
        evhttp_add_header(h, "Content-Type", content_type ? content_type : "application/json");
    if (body)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    if (evhttp_make_request(conn, req, type, path) < 0) {
        fl_err_set(err, "cannot send the request to %s", hostport);
        goto out;
    }
    event_base_dispatch(base);
    if (!st.done || !resp->body) {
        char why[300];
        const char *tls_why = tls ? fl_tls_error(evhttp_connection_get_bufferevent(conn), why,
                                                 sizeof why)
                                  : NULL;
        fl_err_set(err, "could not reach the JobManager's REST endpoint at %s://%s: %s",
                   tls ? "https" : "http", hostport,
                   tls_why ? tls_why : st.error[0] ? st.error : "no answer");
        goto out;
    }
    rc = 0;
out:
    if (conn)
        evhttp_connection_free(conn);
    if (base)
        event_base_free(base);
    return rc;
}
