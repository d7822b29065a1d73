/* metrics.c -- see metrics.h: the process's own numbers from /proc, the Prometheus text
 * format and the reporter's HTTP server. The reporter runs on the event_base it was started
 * on; fl_proc_stats_read on any thread. */
#include "metrics.h"
#include "config.h"
#include "log.h"
#include "netaddr.h"
#include "rpc.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define PROM_DEFAULT_PORT 9249

int fl_proc_stats_read(fl_proc_stats *s)
{
    memset(s, 0, sizeof *s);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    s->cpu_cores = cores > 0 ? (int)cores : 1;
    char *buf = NULL;
    size_t len = 0;
    if (fl_read_file("/proc/self/stat", &buf, &len, NULL) < 0)
        return -1;
    /* the command name may hold spaces and parentheses: fields count from the last ')' */
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0, vsize = 0;
    long long rss = 0, nthreads = 0;
    int n = p ? sscanf(p + 2,
                       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                       "%lld %*d %*u %llu %lld",
                       &ut, &st, &nthreads, &vsize, &rss)
              : 0;
    free(buf);
    if (n != 5)
        return -1;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    s->cpu_time_ms = (ut + st) * 1000 / (unsigned long long)(tick > 0 ? tick : 100);
    s->rss_bytes = (uint64_t)(rss > 0 ? rss : 0) * (uint64_t)(page > 0 ? page : 4096);
    s->vm_bytes = vsize;
    s->threads = (int)nthreads;
    return 0;
}

/* ---- text format --------------------------------------------------------------------- */

void fl_prom_family(struct evbuffer *out, const char *name, const char *type)
{
    evbuffer_add_printf(out, "# TYPE %s %s\n", name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void add_escaped(struct evbuffer *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            evbuffer_add_printf(out, "\\%c", *v);
        else if (*v == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, v, 1);
    }
}

void fl_prom_sample(struct evbuffer *out, const char *name, double value, ...)
{
    va_list ap;
    va_start(ap, value);
    evbuffer_add_printf(out, "%s", name);
    const char *k = va_arg(ap, const char *);
    bool first = true;
    while (k) {
        const char *v = va_arg(ap, const char *);
        evbuffer_add_printf(out, "%s%s=\"", first ? "{" : ",", k);
        add_escaped(out, v ? v : "");
        evbuffer_add(out, "\"", 1);
        first = false;
        k = va_arg(ap, const char *);
    }
    va_end(ap);
    if (!first)
        evbuffer_add(out, "}", 1);
    if (isnan(value))
        evbuffer_add_printf(out, " NaN\n");
    else if (isinf(value))
        evbuffer_add_printf(out, " %s\n", value > 0 ? "+Inf" : "-Inf");
    else if (value == floor(value) && fabs(value) < 9e15)
        evbuffer_add_printf(out, " %.0f\n", value);
    else
        evbuffer_add_printf(out, " %.17g\n", value);
}

/* ---- the reporter's server ------------------------------------------------------------ */

struct fl_prom_reporter {
    struct evhttp *http;
    fl_prom_fill fill;
    void *ctx;
    int port;
};

static void on_scrape(struct evhttp_request *req, void *arg)
{
    fl_prom_reporter *r = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_send_error(req, 405, "Method Not Allowed");
        return;
    }
    struct evbuffer *out = evbuffer_new();
    r->fill(r->ctx, out);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

int fl_prom_parse_ports(const char *spec, int *lo, int *hi, fl_err *err)
{
    char *end;
    long a = strtol(spec, &end, 10), b = a;
    while (*end == ' ')
        end++;
    if (*end == '-') {
        b = strtol(end + 1, &end, 10);
        while (*end == ' ')
            end++;
    }
    if (end == spec || *end || a < 1 || b > 65535 || a > b) {
        fl_err_set(err, "metrics.reporter.prom.port: '%.64s' is not a port or a range "
                        "lo-hi of ports (1..65535)", spec);
        return -1;
    }
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

/* True when the comma separated list names name (blanks around names allowed). */
static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ')
            len--;
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

int fl_prom_reporter_start(struct event_base *base, const fl_conf *conf, const char *bind_host,
                           fl_prom_fill fill, void *ctx, fl_prom_reporter **out, fl_err *err)
{
    *out = NULL;
    const char *spec = fl_conf_get_str(conf, "metrics.reporter.prom.port");
    const char *factory = fl_conf_get_str(conf, "metrics.reporter.prom.factory.class");
    int lo = PROM_DEFAULT_PORT, hi = PROM_DEFAULT_PORT;
    if ((!spec || !*spec) && (!factory || !*factory))
        return 0;
    const char *only = fl_conf_get_str(conf, "metrics.reporters");
    if (only && !list_has(only, "prom"))
        return 0; /* configured but not enabled, as Flink */
    if (spec && *spec && fl_prom_parse_ports(spec, &lo, &hi, err) < 0)
        return -1;
    struct sockaddr_storage ss;
    int sslen;
    char ip[64];
    if (fl_resolve(bind_host, lo, &ss, &sslen, err) < 0)
        return -1;
    fl_sockaddr_str((struct sockaddr *)&ss, ip, sizeof ip);
    *strrchr(ip, ':') = '\0';
    fl_prom_reporter *r = fl_xcalloc(1, sizeof *r);
    r->http = evhttp_new(base);
    r->fill = fill;
    r->ctx = ctx;
    evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(r->http, 30);
    evhttp_set_gencb(r->http, on_scrape, r);
    for (int port = lo; port <= hi; port++)
        if (evhttp_bind_socket(r->http, ip, (ev_uint16_t)port) == 0) {
            r->port = port;
            break;
        }
    if (!r->port) {
        fl_err_set(err, "metrics.reporter.prom.port: none of the ports %d-%d is free on %s", lo,
                   hi, bind_host);
        fl_prom_reporter_free(r);
        return -1;
    }
    fl_info("Started PrometheusReporter on %s:%d (metrics.reporter.prom.port)", bind_host,
            r->port);
    *out = r;
    return 0;
}

int fl_prom_reporter_port(const fl_prom_reporter *r)
{
    return r ? r->port : 0;
}

void fl_prom_reporter_free(fl_prom_reporter *r)
{
    if (!r)
        return;
    if (r->http)
        evhttp_free(r->http);
    free(r);
}
