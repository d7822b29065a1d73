/* check_rest.c -- unit tests of jobmanager/rest.c and rest_budget.c: the REST router's rules
 * for every request (strict query strings, the media type of state-changing requests,
 * CORS and origins) and the bound on body memory, against a real evhttp server on a
 * loopback port.
 *
 * Single-threaded: the test's client sockets are non-blocking and the server's event loop
 * is pumped (EVLOOP_NONBLOCK) between and while they send and read, so the body budget can
 * be read at any point without a race. Requests are raw HTTP, as a browser or an attacker
 * would send them.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "common/config.h"
#include "jobmanager/rest.h"
#include "testutil.h"

/* ---- a server with three routes ---------------------------------------------------- */

typedef struct srv {
    struct event_base *base;
    fl_rest *rest;
    int port;
    int calls;
} srv;

/* Answers what it saw: the query's mode and the body's length. */
static void h_echo(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    srv *s = ctx;
    s->calls++;
    const char *mode = fl_rest_query(p, "mode");
    size_t len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    fl_rest_reply_json(req, 200, json_pack("{s:s?, s:I}", "mode", mode, "len", (json_int_t)len));
}

static void srv_start(srv *s, size_t max_body, size_t max_total, const char *origins)
{
    memset(s, 0, sizeof *s);
    s->base = event_base_new();
    fl_rest_opts o = {max_body, max_total, origins, NULL, NULL};
    s->rest = fl_rest_new(s->base, s, &o);
    ck_assert_ptr_nonnull(s->rest);
    fl_rest_route(s->rest, "GET", "/things", h_echo);
    fl_rest_route(s->rest, "POST", "/things", h_echo);
    fl_rest_route(s->rest, "PATCH", "/things/:id", h_echo);
    fl_rest_route_body(s->rest, "POST", "/upload", "application/x-protobuf", h_echo);
    fl_err err;
    ck_assert_msg(fl_rest_listen(s->rest, "127.0.0.1", 0, &s->port, &err) == 0, "%s", err.msg);
}

static void pump(srv *s, int ms)
{
    int64_t end = tu_now_ms() + ms;
    do {
        event_base_loop(s->base, EVLOOP_NONBLOCK);
        usleep(1000);
    } while (tu_now_ms() < end);
}

static void srv_stop(srv *s)
{
    fl_rest_free(s->rest);
    event_base_free(s->base);
}

/* ---- a raw client ------------------------------------------------------------------- */

static int client_connect(srv *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    pump(s, 5);
    return fd;
}

/* Sends len bytes (pumping the server meanwhile); how many went before the peer closed. */
static size_t client_send(srv *s, int fd, const void *data, size_t len)
{
    size_t off = 0;
    int64_t end = tu_now_ms() + 5000;
    while (off < len && tu_now_ms() < end) {
        ssize_t w = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        event_base_loop(s->base, EVLOOP_NONBLOCK);
    }
    return off;
}

/* The response on fd (pumping the server): its status (0: none, the connection closed),
 * its head and body in out (size cap). */
static int client_read(srv *s, int fd, char *out, size_t cap)
{
    size_t n = 0;
    int64_t end = tu_now_ms() + 5000;
    out[0] = '\0';
    while (tu_now_ms() < end) {
        event_base_loop(s->base, EVLOOP_NONBLOCK);
        ssize_t r = recv(fd, out + n, cap - n - 1, 0);
        if (r > 0) {
            n += (size_t)r;
            out[n] = '\0';
            char *body = strstr(out, "\r\n\r\n");
            const char *cl = strcasestr(out, "Content-Length:");
            if (body && (!cl || strlen(body + 4) >= (size_t)atol(cl + 15)))
                break;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            break;
        }
        usleep(500);
    }
    int status = 0;
    sscanf(out, "HTTP/1.%*d %d", &status);
    return status;
}

/* One request on its own connection: its status; the response in out. */
static int request(srv *s, const char *head, const char *body, char *out, size_t cap)
{
    char req[4096];
    snprintf(req, sizeof req, "%sHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                              "Content-Length: %zu\r\n\r\n%s",
             head, s->port, body ? strlen(body) : 0, body ? body : "");
    int fd = client_connect(s);
    client_send(s, fd, req, strlen(req));
    int st = client_read(s, fd, out, cap);
    close(fd);
    pump(s, 5);
    return st;
}

static int status_of(srv *s, const char *head, const char *body)
{
    char out[8192];
    return request(s, head, body, out, sizeof out);
}

#define ck_assert_has(hay, needle)                                                           \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay),      \
                  (needle))
#define ck_assert_lacks(hay, needle)                                                         \
    ck_assert_msg(strcasestr((hay), (needle)) == NULL, "'%s' must not contain '%s'", (hay),  \
                  (needle))

#define JSON_CT "Content-Type: application/json\r\n"

/* ---- query strings ------------------------------------------------------------------- */

START_TEST(test_query_strict)
{
    srv s;
    srv_start(&s, 1 << 20, 4 << 20, NULL);
    char out[8192];
    ck_assert_int_eq(request(&s, "PATCH /things/j?mode=cancel HTTP/1.1\r\n" JSON_CT, NULL, out,
                             sizeof out), 200);
    ck_assert_has(out, "\"mode\":\"cancel\"");
    ck_assert_int_eq(request(&s, "GET /things?mode=a+b%21%2f HTTP/1.1\r\n", NULL, out,
                             sizeof out), 200);
    ck_assert_has(out, "\"mode\":\"a b!/\"");
    ck_assert_int_eq(request(&s, "GET /things?x&mode=&&y=1 HTTP/1.1\r\n", NULL, out,
                             sizeof out), 200);
    ck_assert_has(out, "\"mode\":\"\"");
    int calls = s.calls;
    static const char *bad[] = {
        "mode=%zz", "mode=%zz&x", "mode=%", "mode=%4", "mode=cancel%00", "mode=%0acancel",
        "mode=cancel&mode=cancel", "=cancel", "mode=%7f",
        "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", /* nine parameters */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char head[256];
        snprintf(head, sizeof head, "PATCH /things/j?%s HTTP/1.1\r\n" JSON_CT, bad[i]);
        ck_assert_msg(request(&s, head, NULL, out, sizeof out) == 400, "?%s: %s", bad[i], out);
        ck_assert_has(out, "Malformed query string");
    }
    char head[1024] = "GET /things?mode=";
    memset(head + strlen(head), 'v', 256);
    strcat(head, " HTTP/1.1\r\n");
    ck_assert_int_eq(status_of(&s, head, NULL), 400); /* a 256-byte value */
    ck_assert_int_eq(s.calls, calls);                 /* no handler saw any of them */
    srv_stop(&s);
}
END_TEST

/* ---- media types ----------------------------------------------------------------------- */

START_TEST(test_state_changes_need_their_media_type)
{
    srv s;
    srv_start(&s, 1 << 20, 4 << 20, NULL);
    char out[8192];
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\n" JSON_CT, "{}"), 200);
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\nContent-Type: Application/JSON ; "
                                   "charset=UTF-8\r\n", "{}"), 200);
    ck_assert_int_eq(status_of(&s, "PATCH /things/j HTTP/1.1\r\n" JSON_CT, NULL), 200);
    ck_assert_int_eq(request(&s, "POST /things HTTP/1.1\r\nContent-Type: text/plain\r\n", "{}",
                             out, sizeof out), 415);
    ck_assert_has(out, "application/json");
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\nContent-Type: application/"
                                   "x-www-form-urlencoded\r\n", "a=b"), 415);
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\nContent-Type: multipart/form-data; "
                                   "boundary=x\r\n", "--x--"), 415);
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\nContent-Type: application/jsonx\r\n",
                               "{}"), 415);
    ck_assert_int_eq(status_of(&s, "PATCH /things/j HTTP/1.1\r\n", NULL), 415); /* none */
    /* a route of its own media type takes that one only */
    ck_assert_int_eq(status_of(&s, "POST /upload HTTP/1.1\r\nContent-Type: application/"
                                   "x-protobuf\r\n", "xx"), 200);
    ck_assert_int_eq(status_of(&s, "POST /upload HTTP/1.1\r\n" JSON_CT, "{}"), 415);
    /* reading needs none */
    ck_assert_int_eq(status_of(&s, "GET /things HTTP/1.1\r\n", NULL), 200);
    ck_assert_int_eq(status_of(&s, "GET /nothing HTTP/1.1\r\n", NULL), 404);
    ck_assert_int_eq(status_of(&s, "DELETE /things HTTP/1.1\r\n", NULL), 405);
    srv_stop(&s);
}
END_TEST

/* ---- CORS -------------------------------------------------------------------------------- */

START_TEST(test_cors_off_by_default)
{
    srv s;
    srv_start(&s, 1 << 20, 4 << 20, NULL);
    char out[8192], head[256];
    ck_assert_int_eq(request(&s, "GET /things HTTP/1.1\r\nOrigin: https://evil.example\r\n",
                             NULL, out, sizeof out), 200);
    ck_assert_lacks(out, "Access-Control-Allow-Origin");
    int calls = s.calls;
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\nOrigin: https://evil.example\r\n"
                                   JSON_CT, "{}"), 403);
    ck_assert_int_eq(status_of(&s, "PATCH /things/j HTTP/1.1\r\nOrigin: null\r\n" JSON_CT, NULL),
                     403);
    ck_assert_int_eq(status_of(&s, "OPTIONS /things HTTP/1.1\r\nOrigin: https://evil.example\r\n"
                                   "Access-Control-Request-Method: POST\r\n", NULL), 403);
    ck_assert_int_eq(s.calls, calls);
    /* the server's own pages (Origin = this Host) may change state */
    snprintf(head, sizeof head, "POST /things HTTP/1.1\r\nOrigin: http://127.0.0.1:%d\r\n" JSON_CT,
             s.port);
    ck_assert_int_eq(status_of(&s, head, "{}"), 200);
    srv_stop(&s);
}
END_TEST

START_TEST(test_cors_listed_origins_only)
{
    srv s;
    srv_start(&s, 1 << 20, 4 << 20, " https://a.example , http://b.example:81/");
    char out[8192];
    ck_assert_int_eq(request(&s, "GET /things HTTP/1.1\r\nOrigin: https://a.example\r\n", NULL,
                             out, sizeof out), 200);
    ck_assert_has(out, "Access-Control-Allow-Origin: https://a.example\r\n");
    ck_assert_has(out, "Vary: Origin");
    ck_assert_int_eq(request(&s, "GET /things HTTP/1.1\r\nOrigin: http://b.example:81\r\n", NULL,
                             out, sizeof out), 200);
    ck_assert_has(out, "Access-Control-Allow-Origin: http://b.example:81\r\n");
    ck_assert_int_eq(request(&s, "GET /things HTTP/1.1\r\nOrigin: https://a.example.evil\r\n",
                             NULL, out, sizeof out), 200);
    ck_assert_lacks(out, "Access-Control-Allow-Origin");
    ck_assert_int_eq(request(&s, "OPTIONS /things HTTP/1.1\r\nOrigin: https://a.example\r\n"
                                 "Access-Control-Request-Method: POST\r\n", NULL, out,
                             sizeof out), 204);
    ck_assert_has(out, "Access-Control-Allow-Methods: GET, POST");
    ck_assert_has(out, "Access-Control-Allow-Headers: Content-Type");
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\nOrigin: https://a.example\r\n"
                                   JSON_CT, "{}"), 200);
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\nOrigin: https://c.example\r\n"
                                   JSON_CT, "{}"), 403);
    /* a listed origin still needs the media type */
    ck_assert_int_eq(status_of(&s, "POST /things HTTP/1.1\r\nOrigin: https://a.example\r\n"
                                   "Content-Type: text/plain\r\n", "{}"), 415);
    srv_stop(&s);

    srv_start(&s, 1 << 20, 4 << 20, "*");
    ck_assert_int_eq(request(&s, "GET /things HTTP/1.1\r\nOrigin: https://any.example\r\n", NULL,
                             out, sizeof out), 200);
    ck_assert_has(out, "Access-Control-Allow-Origin: https://any.example\r\n");
    srv_stop(&s);
}
END_TEST

START_TEST(test_opts_from_conf)
{
    fl_conf *c = fl_conf_new();
    fl_rest_opts o;
    fl_err err = {{0}};
    ck_assert_int_eq(fl_rest_opts_from_conf(c, &o, &err), 0);
    ck_assert_uint_eq(o.max_body, 104857600u); /* Flink's 100 mb */
    ck_assert_uint_eq(o.max_body_total, 268435456u);
    ck_assert_ptr_null(o.cors_origins);
    ck_assert_int_eq(fl_conf_set(c, "web.access-control-allow-origin", "https://ok.example, "
                                                                      "ftp:/nope", &err), 0);
    ck_assert_int_eq(fl_rest_opts_from_conf(c, &o, &err), -1);
    ck_assert_has(err.msg, "web.access-control-allow-origin");
    ck_assert_has(err.msg, "ftp:/nope");
    ck_assert_int_eq(fl_conf_set(c, "web.access-control-allow-origin", "https://ok.example/path",
                                 &err), 0);
    ck_assert_int_eq(fl_rest_opts_from_conf(c, &o, &err), -1);
    ck_assert_int_eq(fl_conf_set(c, "web.access-control-allow-origin", "*", &err), 0);
    ck_assert_int_eq(fl_conf_set(c, "rest.server.max-content-length", "64 mb", &err), 0);
    ck_assert_int_eq(fl_conf_set(c, "rest.server.max-concurrent-content-length", "32 mb", &err),
                     0);
    ck_assert_int_eq(fl_rest_opts_from_conf(c, &o, &err), -1);
    ck_assert_has(err.msg, "rest.server.max-concurrent-content-length");
    fl_conf_free(c);
}
END_TEST

/* ---- body memory ------------------------------------------------------------------------ */

/* Waits (pumping) until the server holds no body bytes; false after 2 s. */
static bool budget_drains(srv *s)
{
    int64_t end = tu_now_ms() + 2000;
    while (fl_rest_body_bytes(s->rest) != 0 && tu_now_ms() < end)
        pump(s, 10);
    return fl_rest_body_bytes(s->rest) == 0;
}

START_TEST(test_body_larger_than_max_is_413)
{
    srv s;
    srv_start(&s, 64 << 10, 256 << 10, NULL);
    char out[8192], head[256];
    int fd = client_connect(&s);
    snprintf(head, sizeof head, "POST /things HTTP/1.1\r\nHost: x\r\n" JSON_CT
                                "Content-Length: %d\r\n\r\n", 1 << 30);
    client_send(&s, fd, head, strlen(head));
    ck_assert_int_eq(client_read(&s, fd, out, sizeof out), 413); /* before any body byte */
    close(fd);
    ck_assert(budget_drains(&s));
    /* at the limit: taken */
    char *body = malloc(64 << 10);
    memset(body, ' ', 64 << 10);
    body[0] = '{';
    body[(64 << 10) - 1] = '}';
    fd = client_connect(&s);
    snprintf(head, sizeof head, "POST /things HTTP/1.1\r\nHost: x\r\n" JSON_CT
                                "Content-Length: %d\r\n\r\n", 64 << 10);
    client_send(&s, fd, head, strlen(head));
    client_send(&s, fd, body, 64 << 10);
    ck_assert_int_eq(client_read(&s, fd, out, sizeof out), 200);
    ck_assert_has(out, "\"len\":65536");
    close(fd);
    ck_assert(budget_drains(&s));
    free(body);
    srv_stop(&s);
}
END_TEST

START_TEST(test_concurrent_bodies_bounded)
{
    /* four bodies of 60 KiB under a 128 KiB budget: they cannot all be held at once */
    srv s;
    srv_start(&s, 64 << 10, 128 << 10, NULL);
    enum { N = 4, SIZE = 60 << 10 };
    int fd[N], st[N];
    char head[256], out[8192], *body = calloc(1, SIZE);
    snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/"
                                "x-protobuf\r\nContent-Length: %d\r\n\r\n", SIZE);
    for (int i = 0; i < N; i++) {
        fd[i] = client_connect(&s);
        client_send(&s, fd[i], head, strlen(head));
        client_send(&s, fd[i], body, SIZE - 1); /* all but the last byte */
        pump(&s, 20);
    }
    ck_assert_uint_le(fl_rest_body_bytes(s.rest), 128u << 10);
    /* refused: answered 413, or closed with its answer lost to the reset of a body still
     * being sent (status 0) */
    int refused = 0, done = 0;
    for (int i = 0; i < N; i++) {
        client_send(&s, fd[i], body, 1);
        st[i] = client_read(&s, fd[i], out, sizeof out);
        refused += st[i] == 413 || st[i] == 0;
        done += st[i] == 200;
        close(fd[i]);
    }
    ck_assert_msg(refused >= 1 && done >= 1 && refused + done == N, "%d refused, %d answered",
                  refused, done);
    ck_assert(budget_drains(&s));
    /* afterwards the budget is whole again: a body fits */
    fd[0] = client_connect(&s);
    client_send(&s, fd[0], head, strlen(head));
    client_send(&s, fd[0], body, SIZE);
    ck_assert_int_eq(client_read(&s, fd[0], out, sizeof out), 200);
    close(fd[0]);
    ck_assert(budget_drains(&s));
    free(body);
    srv_stop(&s);
}
END_TEST

START_TEST(test_budget_returns_on_every_ending)
{
    /* a connection closed silently, one closed mid-body, a keep-alive one with two
     * requests: none leaves bytes counted */
    srv s;
    srv_start(&s, 64 << 10, 128 << 10, NULL);
    char head[256], out[8192], *body = calloc(1, 40 << 10);
    int fd = client_connect(&s);
    close(fd);
    pump(&s, 20);
    ck_assert(budget_drains(&s));

    fd = client_connect(&s);
    snprintf(head, sizeof head, "POST /things HTTP/1.1\r\nHost: x\r\n" JSON_CT
                                "Content-Length: %d\r\n\r\n", 50 << 10);
    client_send(&s, fd, head, strlen(head));
    client_send(&s, fd, body, 30 << 10);
    pump(&s, 20);
    ck_assert_uint_ge(fl_rest_body_bytes(s.rest), 30u << 10);
    close(fd);
    ck_assert(budget_drains(&s));

    fd = client_connect(&s);
    for (int i = 0; i < 2; i++) {
        const char *req = "GET /things HTTP/1.1\r\nHost: x\r\n\r\n";
        client_send(&s, fd, req, strlen(req));
        ck_assert_int_eq(client_read(&s, fd, out, sizeof out), 200);
    }
    ck_assert(budget_drains(&s)); /* answered: not counted while the connection lives on */
    close(fd);
    pump(&s, 20);
    ck_assert(budget_drains(&s));
    free(body);
    srv_stop(&s);
}
END_TEST

static Suite *rest_suite(void)
{
    Suite *s = suite_create("rest");
    TCase *tc = tcase_create("requests");
    tcase_add_checked_fixture(tc, tu_log_capture, tu_log_release);
    tcase_add_test(tc, test_query_strict);
    tcase_add_test(tc, test_state_changes_need_their_media_type);
    tcase_add_test(tc, test_cors_off_by_default);
    tcase_add_test(tc, test_cors_listed_origins_only);
    tcase_add_test(tc, test_opts_from_conf);
    suite_add_tcase(s, tc);
    tc = tcase_create("bodies");
    tcase_add_checked_fixture(tc, tu_log_capture, tu_log_release);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_body_larger_than_max_is_413);
    tcase_add_test(tc, test_concurrent_bodies_bounded);
    tcase_add_test(tc, test_budget_returns_on_every_ending);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(rest_suite());
}
