/* http.h -- the CLI's blocking HTTP client for the JobManager's REST API (libevent evhttp). */
#ifndef FL_HTTP_H
#define FL_HTTP_H

#include <stddef.h>

#include "common/err.h"

typedef struct fl_http_resp {
    int status;
    char *body; /* NUL-terminated; the caller's to free */
    size_t len;
    char location[512]; /* the Location header of a redirect, or "" */
} fl_http_resp;

/* Splits "http[s]://host:port[/path]" into host and port: 0, or -1 with err. */
int fl_http_parse_url(const char *url, char *host, size_t hostlen, int *port, fl_err *err);

/* method: "GET", "POST", "PATCH"...; body may be NULL; tls: the REST client's TLS context
 * (common/tls.h; NULL: plain HTTP); token: a bearer token to send, or NULL. Returns 0 when an HTTP answer came (whatever its
 * status), -1 with err when the server could not be reached in timeout_s. */
struct fl_tls;
int fl_http_request(const char *host, int port, struct fl_tls *tls, const char *token,
                    const char *method, const char *path, const char *content_type,
                    const void *body, size_t len, int timeout_s, fl_http_resp *resp,
                    fl_err *err);

#endif
