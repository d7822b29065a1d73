/* path.c -- see path.h. */
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* True when s[0..n) is one plain file name. */
static bool plain_name(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    return memchr(s, '/', n) == NULL;
}

/* True when rel is plain names joined by single slashes. */
static bool plain_names(const char *rel)
{
    if (!*rel)
        return false;
    for (const char *p = rel;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!plain_name(p, n))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

bool fl_path_is_handle(const char *rel)
{
    if (!rel || strlen(rel) >= FL_HANDLE_PATH_MAX)
        return false;
    if (strncmp(rel, FL_HANDLE_SHARED, strlen(FL_HANDLE_SHARED)) == 0)
        rel += strlen(FL_HANDLE_SHARED);
    return plain_names(rel);
}

int fl_path_check_inside(const char *root, const char *path, fl_err *err)
{
    char rroot[PATH_MAX], rpath[PATH_MAX], dir[PATH_MAX];
    if (!realpath(root, rroot)) {
        fl_err_set(err, "cannot resolve %s: %s", root, strerror(errno));
        return -1;
    }
    if (!realpath(path, rpath)) {
        /* not there (yet): resolve its directory and append the name */
        const char *slash = strrchr(path, '/');
        if (errno != ENOENT || !slash || (size_t)(slash - path) >= sizeof dir) {
            fl_err_set(err, "cannot resolve %s: %s", path, strerror(errno));
            return -1;
        }
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        if (!realpath(*dir ? dir : "/", rpath) ||
            strlen(rpath) + strlen(slash) >= sizeof rpath) {
            fl_err_set(err, "cannot resolve the directory of %s: %s", path, strerror(errno));
            return -1;
        }
        strcat(rpath, slash);
    }
    size_t n = strlen(rroot);
    if (strncmp(rpath, rroot, n) != 0 || (rpath[n] != '/' && !(n == 1 && rroot[0] == '/')) ||
        (n == 1 && rpath[1] == '\0')) {
        fl_err_set(err, "it resolves to %s, outside %s", rpath, rroot);
        return -1;
    }
    return 0;
}

int fl_path_check_below(const char *root, const char *path, fl_err *err)
{
    char rroot[PATH_MAX], head[PATH_MAX], rhead[PATH_MAX];
    if (path[0] != '/') {
        fl_err_set(err, "%s is not an absolute path", path);
        return -1;
    }
    if (!realpath(root, rroot)) {
        fl_err_set(err, "cannot resolve %s: %s", root, strerror(errno));
        return -1;
    }
    size_t len = strlen(path);
    if (len >= sizeof head) {
        fl_err_set(err, "%.100s... is too long", path);
        return -1;
    }
    memcpy(head, path, len + 1);
    /* the tail that does not exist yet: plain names only */
    const char *tail = "";
    struct stat st;
    while (lstat(head, &st) < 0) {
        char *slash = strrchr(head, '/');
        if (errno != ENOENT || !slash || slash == head) {
            fl_err_set(err, "cannot resolve %s: %s", path, strerror(errno));
            return -1;
        }
        tail = path + (slash - head) + 1;
        *slash = '\0';
    }
    if (*tail && !plain_names(tail)) {
        fl_err_set(err, "%s names '.' or '..'", path);
        return -1;
    }
    if (!realpath(head, rhead)) {
        fl_err_set(err, "cannot resolve %s: %s", head, strerror(errno));
        return -1;
    }
    if (stat(rhead, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fl_err_set(err, "%s is not a directory", rhead);
        return -1;
    }
    size_t n = strlen(rroot);
    bool below = !strncmp(rhead, rroot, n) && (rhead[n] == '\0' || rhead[n] == '/' ||
                                               (n == 1 && rroot[0] == '/'));
    if (!below) {
        fl_err_set(err, "it resolves to %s%s%s, outside %s", rhead, *tail ? "/" : "", tail,
                   rroot);
        return -1;
    }
    return 0;
}

int fl_path_unlink_below(const char *root, const char *rel, fl_err *err)
{
    if (!plain_names(rel)) {
        fl_err_set(err, "'%s' is not a relative path of plain names", rel);
        return -1;
    }
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return 0;
        fl_err_set(err, "cannot open %s: %s", root, strerror(errno));
        return -1;
    }
    int rc = -1;
    for (const char *p = rel;;) {
        const char *slash = strchr(p, '/');
        char name[256];
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof name) {
            fl_err_set(err, "a name in '%s' is too long", rel);
            break;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (!slash) {
            if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                fl_err_set(err, "cannot remove %s/%s: %s", root, rel, strerror(errno));
            else
                rc = 0;
            break;
        }
        int next = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            if (errno == ENOENT)
                rc = 0; /* nothing to remove */
            else
                fl_err_set(err, "will not remove %s/%s: %s/%s: %s", root, rel, root, name,
                           errno == ELOOP || errno == ENOTDIR ? "not a plain directory"
                                                              : strerror(errno));
            break;
        }
        close(dfd);
        dfd = next;
        p = slash + 1;
    }
    close(dfd);
    return rc;
}
