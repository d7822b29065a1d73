/* fs.c -- see fs.h: parses locations, picks the file system by scheme, and does what both
 * share (write streams' buffering into parts, the scheme check, confinement of paths).
 * Any thread. */
#include "fs_internal.h"
#include "path.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scheme of uri ("s3" of "s3://b/k") into out; false when it has none (a plain path:
 * a scheme is letters, digits, '+', '-', '.' before "://" or, for file, ':'). */
static bool scheme_of(const char *uri, char *out, size_t len)
{
    size_t n = strspn(uri, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
    if (n == 0 || uri[n] != ':' || n >= len)
        return false;
    if (strncmp(uri + n, "://", 3) != 0 && !(n == 4 && !strncasecmp(uri, "file", 4)))
        return false;
    memcpy(out, uri, n);
    out[n] = '\0';
    return true;
}

static bool is_s3_scheme(const char *s)
{
    return !strcasecmp(s, "s3") || !strcasecmp(s, "s3a") || !strcasecmp(s, "s3p");
}

bool fl_fs_is_remote(const char *uri)
{
    char s[16];
    return uri && scheme_of(uri, s, sizeof s) && is_s3_scheme(s);
}

int fl_fs_check(const char *uri, fl_err *err)
{
    char s[64];
    if (!uri || !scheme_of(uri, s, sizeof s) || !strcasecmp(s, "file") || is_s3_scheme(s))
        return 0;
    fl_err_set(err, "Could not find a file system implementation for scheme '%s'. The scheme "
                    "is not directly supported by Flint, which serves file:// and s3:// "
                    "(s3a://, s3p://): %.200s", s, uri);
    return -1;
}

const char *fl_fs_local_path(const char *uri)
{
    if (!strncasecmp(uri, "file://", 7))
        return uri + 7;
    if (!strncasecmp(uri, "file:", 5))
        return uri + 5;
    return uri;
}

void fl_fs_display(const char *uri, char *out, size_t len)
{
    if (fl_fs_is_remote(uri))
        snprintf(out, len, "%s", uri);
    else
        snprintf(out, len, "file:%s", fl_fs_local_path(uri));
}

/* Parses uri into l (l->path points into uri). */
static int parse(const char *uri, fl_fs_loc *l, fl_err *err)
{
    memset(l, 0, sizeof *l);
    l->uri = uri;
    if (!uri || !*uri) {
        fl_err_set(err, "an empty path");
        return -1;
    }
    if (strlen(uri) > FL_FS_URI_MAX) {
        fl_err_set(err, "the path %.80s... is longer than %d bytes", uri, FL_FS_URI_MAX);
        return -1;
    }
    if (fl_fs_check(uri, err) < 0)
        return -1;
    if (!fl_fs_is_remote(uri)) {
        l->path = fl_fs_local_path(uri);
        return 0;
    }
    const char *b = strstr(uri, "://") + 3;
    size_t n = strcspn(b, "/");
    if (n < 3 || n > 63 || strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") < n) {
        fl_err_set(err, "%.300s: '%.*s' is not an S3 bucket name (3 to 63 lower-case letters, "
                        "digits, '.' and '-')", uri, (int)(n > 100 ? 100 : n), b);
        return -1;
    }
    memcpy(l->bucket, b, n);
    l->bucket[n] = '\0';
    l->remote = true;
    l->path = b + n;
    while (*l->path == '/')
        l->path++;
    return 0;
}

static const fl_fs_ops *ops_of(const fl_fs_loc *l)
{
    return l->remote ? &fl_fs_s3_ops : &fl_fs_local_ops;
}

int fl_fs_init(const fl_conf *conf, fl_err *err)
{
    return fl_fs_s3_init(conf, err);
}

/* True when rel (no leading '/') is plain names joined by single slashes. */
static bool plain_key(const char *rel)
{
    if (!*rel)
        return false;
    for (const char *p = rel;;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!p[n])
            return true;
        p += n + 1;
        if (!*p) /* a trailing '/' */
            return true;
    }
}

int fl_fs_check_below(const char *root, const char *child, bool or_equal, fl_err *err)
{
    fl_fs_loc r, c;
    if (parse(root, &r, err) < 0 || parse(child, &c, err) < 0)
        return -1;
    if (!r.remote && !c.remote) {
        if (or_equal)
            return fl_path_check_below(r.path, c.path, err);
        return fl_path_check_inside(r.path, c.path, err);
    }
    if (r.remote != c.remote || strcmp(r.bucket, c.bucket) != 0) {
        fl_err_set(err, "%.300s is not in %.300s", child, root);
        return -1;
    }
    size_t n = strlen(r.path);
    while (n && r.path[n - 1] == '/')
        n--;
    const char *rest = c.path;
    if (n) {
        if (strncmp(c.path, r.path, n) != 0 || (c.path[n] != '/' && c.path[n] != '\0')) {
            fl_err_set(err, "%.300s is not below %.300s", child, root);
            return -1;
        }
        rest = c.path + n;
        if (*rest == '/') /* one: "sp//x" has an empty part */
            rest++;
    }
    if (!*rest) {
        if (or_equal)
            return 0;
        fl_err_set(err, "%.300s is %.300s itself", child, root);
        return -1;
    }
    if (!plain_key(rest)) {
        fl_err_set(err, "%.300s names an empty, '.' or '..' part", child);
        return -1;
    }
    return 0;
}

/* ---- whole objects ---------------------------------------------------------------- */

#define DISPATCH(uri, call)                                                                    \
    fl_fs_loc l;                                                                               \
    if (parse(uri, &l, err) < 0)                                                               \
        return -1;                                                                             \
    return ops_of(&l)->call

int fl_fs_put(const char *uri, const void *data, size_t len, fl_err *err)
{
    DISPATCH(uri, put(&l, data, len, err));
}

int fl_fs_get(const char *uri, char **out, size_t *len, fl_err *err)
{
    DISPATCH(uri, get(&l, out, len, err));
}

int fl_fs_put_file(const char *src, const char *uri, uint64_t *size, fl_err *err)
{
    DISPATCH(uri, put_file(src, &l, size, err));
}

int fl_fs_get_file(const char *uri, const char *dst, fl_err *err)
{
    DISPATCH(uri, get_file(&l, dst, err));
}

int fl_fs_stat(const char *uri, bool *exists, uint64_t *size, fl_err *err)
{
    DISPATCH(uri, stat(&l, exists, size, NULL, err));
}

int fl_fs_mtime(const char *uri, bool *exists, int64_t *mtime_ns, fl_err *err)
{
    DISPATCH(uri, stat(&l, exists, NULL, mtime_ns, err));
}

int fl_fs_list(const char *uri, bool recursive, fl_fs_list_fn fn, void *arg, fl_err *err)
{
    DISPATCH(uri, list(&l, recursive, fn, arg, err));
}

int fl_fs_delete_many(const char *dir, const char *const *names, size_t n, fl_err *err)
{
    DISPATCH(dir, delete_many(&l, names, n, err));
}

int fl_fs_delete(const char *uri, fl_err *err)
{
    /* one name in its directory */
    char dir[FL_FS_URI_MAX + 8];
    snprintf(dir, sizeof dir, "%s", uri ? uri : "");
    char *slash = strrchr(dir, '/');
    if (!slash || !slash[1]) {
        fl_err_set(err, "cannot delete %.300s: not a file", uri ? uri : "");
        return -1;
    }
    *slash = '\0';
    const char *name = slash + 1;
    if (!*dir) /* "/name" */
        snprintf(dir, sizeof dir, "/");
    return fl_fs_delete_many(dir, &name, 1, err);
}

int fl_fs_delete_tree(const char *uri, fl_err *err)
{
    DISPATCH(uri, delete_tree(&l, err));
}

int fl_fs_mkdirs(const char *uri, fl_err *err)
{
    DISPATCH(uri, mkdirs(&l, err));
}

int fl_fs_sync_dir(const char *uri, fl_err *err)
{
    DISPATCH(uri, sync_dir(&l, err));
}

int fl_fs_commit(const char *uri, const char *committable, fl_err *err)
{
    DISPATCH(uri, commit(&l, committable, err));
}

int fl_fs_commit_abort(const char *uri, const char *committable, fl_err *err)
{
    DISPATCH(uri, commit_abort(&l, committable, err));
}

int fl_fs_abort_uploads(const char *dir, const char *name_prefix, fl_fs_keep_fn keep,
                        void *arg, fl_err *err)
{
    DISPATCH(dir, abort_uploads(&l, name_prefix, keep, arg, err));
}

/* ---- write streams ---------------------------------------------------------------- */

fl_fs_out *fl_fs_out_open(const char *uri, fl_err *err)
{
    fl_fs_out *o = fl_xcalloc(1, sizeof *o);
    snprintf(o->uri, sizeof o->uri, "%s", uri ? uri : "");
    if (parse(o->uri, &o->loc, err) < 0) {
        free(o);
        return NULL;
    }
    o->ops = ops_of(&o->loc);
    o->part_size = o->loc.remote ? fl_fs_s3_part_size() : 1u << 20;
    if (o->ops->out_open(o, err) < 0) {
        free(o);
        return NULL;
    }
    return o;
}

int fl_fs_out_write(fl_fs_out *o, const void *data, size_t len, fl_err *err)
{
    const uint8_t *p = data;
    o->size += len;
    while (len) {
        if (o->len == 0 && len >= o->part_size) {
            /* a whole part of the caller's: out without a copy (a 1 GB snapshot) */
            if (o->ops->out_part(o, p, o->part_size, err) < 0)
                return -1;
            o->nparts++;
            p += o->part_size;
            len -= o->part_size;
            continue;
        }
        if (!o->buf)
            o->buf = fl_xmalloc(o->part_size);
        size_t n = FL_MIN(len, o->part_size - o->len);
        memcpy(o->buf + o->len, p, n);
        o->len += n;
        p += n;
        len -= n;
        if (o->len == o->part_size) {
            /* a full part goes out; the last one waits for close (it may be short) */
            if (o->ops->out_part(o, o->buf, o->len, err) < 0)
                return -1;
            o->nparts++;
            o->len = 0;
        }
    }
    return 0;
}

uint64_t fl_fs_out_size(const fl_fs_out *o)
{
    return o->size;
}

static void out_free(fl_fs_out *o)
{
    free(o->buf);
    free(o);
}

int fl_fs_out_close(fl_fs_out *o, fl_err *err)
{
    int rc = o->ops->out_close(o, err); /* with the last, maybe short, part in o->buf */
    out_free(o);
    return rc;
}

int fl_fs_out_close_for_commit(fl_fs_out *o, char **committable, fl_err *err)
{
    int rc = o->ops->out_close_for_commit(o, committable, err);
    out_free(o);
    return rc;
}

void fl_fs_out_abort(fl_fs_out *o)
{
    if (!o)
        return;
    o->ops->out_abort(o);
    out_free(o);
}
