/* web.c -- the web dashboard's files (issue 12): GET / is the dashboard's index.html and
 * GET /web/:file one of its other files, from the web root (web.root, default the web/
 * directory beside the JobManager's bin/ directory: build/web, which make fills from the
 * source tree's web/). Dispatcher thread; the dashboard itself is JavaScript in the
 * browser reading the REST API.
 *
 * No request reaches outside the root: a file is one path segment (the router never lets
 * a '/' into :file), of letters, digits, '-', '_' and '.', not starting with '.', so
 * neither "..", nor an encoded "%2e%2e", nor an absolute path names anything; it is opened
 * with O_NOFOLLOW relative to the root and must be a regular file of at most 4 MB. Anything
 * else is a 404.
 */
#include "common/log.h"
#include "common/util.h"
#include "dispatcher_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#define WEB_MAX_FILE (4 << 20)

static const struct {
    const char *ext, *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
};

/* The web root, or "" when there is none (then / says how to get one). */
static const char *web_root(fl_dispatcher *d)
{
    char *root = d->web_root;
    if (d->web_root_known)
        return root;
    d->web_root_known = true;
    const char *conf = fl_conf_get_str(d->conf, "web.root");
    if (conf && *conf) {
        snprintf(root, sizeof d->web_root, "%s", conf);
        return root;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return root;
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) { /* .../build/bin/flint-jobmanager -> .../build */
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(root, sizeof d->web_root, "%.4000s/web", exe);
    struct stat st;
    if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
        root[0] = '\0';
    return root;
}

static bool safe_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '.')
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

static void send_file(fl_dispatcher *d, struct evhttp_request *req, const char *name)
{
    const char *root = web_root(d);
    const char *type = NULL;
    for (size_t i = 0; i < FL_ARRAY_LEN(content_types); i++) {
        size_t n = strlen(name), e = strlen(content_types[i].ext);
        if (n > e && strcmp(name + n - e, content_types[i].ext) == 0)
            type = content_types[i].type;
    }
    if (!*root) {
        fl_rest_error(req, 404, "No web dashboard here: build/web is missing (run make) and "
                                "web.root is not set.");
        return;
    }
    if (!safe_name(name) || !type) {
        fl_rest_error(req, 404, "Not found: /web/%.100s", name);
        return;
    }
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_MAX_FILE) {
        if (fd < 0 && errno != ENOENT && errno != ELOOP)
            fl_warn("web: cannot open %s/%s: %s", root, name, strerror(errno));
        fl_rest_error(req, 404, "Not found: /web/%.100s", name);
        goto out;
    }
    struct evbuffer *buf = evbuffer_new();
    /* libevent owns fd from here and closes it once the file is sent */
    int rc = evbuffer_add_file(buf, fd, 0, st.st_size);
    fd = -1;
    if (rc < 0) {
        evbuffer_free(buf);
        fl_rest_error(req, 500, "Cannot read /web/%.100s", name);
        goto out;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    /* the page is small and changes with a new build: revalidate it; the rest may be kept
     * a little */
    evhttp_add_header(h, "Cache-Control",
                      strstr(type, "html") ? "no-cache" : "public, max-age=300");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
}

static void get_index(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    (void)p;
    send_file(ctx, req, "index.html");
}

static void get_web_file(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    send_file(ctx, req, fl_rest_param(p, "file"));
}

void fl_disp_web_routes(fl_dispatcher *d)
{
    fl_rest_route(d->rest, "GET", "/", get_index);
    fl_rest_route(d->rest, "GET", "/web/:file", get_web_file);
}
