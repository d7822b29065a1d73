/* fs_local.c -- the local file system behind fs.h (file:// and plain paths): atomic puts by
 * temporary file, fsync and rename; streams into a hidden ".<name>.inprogress.<random>"
 * beside the target, fsynced, renamed at close (then the directory synced) or at commit;
 * deletes that never follow a symlink (path.h, util.h). Any thread. */
#include "fs_internal.h"
#include "path.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INPROGRESS ".inprogress."

/* The directory of path into out ("." when none). */
static void dir_of(const char *path, char *out, size_t len)
{
    snprintf(out, len, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, len, ".");
    else if (slash == out)
        out[1] = '\0';
    else
        *slash = '\0';
}

/* Creates the directory of path when it is missing (object stores need none). */
static int make_parent(const char *path, fl_err *err)
{
    char dir[FL_FS_URI_MAX + 8];
    struct stat st;
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) == 0)
        return 0;
    return fl_mkdirs(dir, err);
}

/* fsync of path's directory: a rename into it survives a power loss. */
static int sync_parent(const char *path, fl_err *err)
{
    char dir[FL_FS_URI_MAX + 8];
    dir_of(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        fl_err_set(err, "cannot sync the directory of %s: %s", path, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    close(dfd);
    return 0;
}

/* Through a temporary file of this writer's own (pid and random: two processes putting
 * the same object, e.g. a deposed and a new HA leader, never write into one file), fsync,
 * rename, fsync of the directory: readers see all of data or nothing. */
static int l_put(const fl_fs_loc *l, const void *data, size_t len, fl_err *err)
{
    char tmp[FL_FS_URI_MAX + 64], rnd[9];
    if (make_parent(l->path, err) < 0)
        return -1;
    fl_random_hex(rnd, 4);
    snprintf(tmp, sizeof tmp, "%s.tmp-%d-%s", l->path, (int)getpid(), rnd);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        fl_err_set(err, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    const uint8_t *p = data;
    for (size_t left = len; left;) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fl_err_set(err, "cannot write %s: %s", tmp, strerror(w < 0 ? errno : ENOSPC));
            goto fail_close;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0) {
        fl_err_set(err, "cannot sync %s: %s", tmp, strerror(errno));
        goto fail_close;
    }
    if (close(fd) < 0) {
        fl_err_set(err, "cannot close %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (rename(tmp, l->path) < 0) {
        fl_err_set(err, "cannot rename %s to %s: %s", tmp, l->path, strerror(errno));
        goto fail_unlink;
    }
    return sync_parent(l->path, err);
fail_close:
    close(fd);
fail_unlink:
    unlink(tmp);
    return -1;
}

static int l_get(const fl_fs_loc *l, char **out, size_t *len, fl_err *err)
{
    return fl_read_file(l->path, out, len, err);
}

/* Copies src to dst (created or truncated) and fsyncs it; *copied gets the bytes. */
static int copy_file(const char *src, const char *dst, uint64_t *copied, fl_err *err)
{
    int rc = -1;
    char *buf = NULL;
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        fl_err_set(err, "cannot open %s: %s", src, strerror(errno));
        return -1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        fl_err_set(err, "cannot create %s: %s", dst, strerror(errno));
        goto out_close_in;
    }
    uint64_t total = 0;
    bool kernel = true; /* copy_file_range until the file systems refuse it */
    for (;;) {
        ssize_t n;
        if (kernel) {
            n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
            if (n < 0 && total == 0 &&
                (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                kernel = false;
                continue;
            }
        } else {
            if (!buf)
                buf = fl_xmalloc(1u << 20);
            n = read(in, buf, 1u << 20);
            for (ssize_t w = 0, k; n > 0 && w < n; w += k) {
                k = write(out, buf + w, (size_t)(n - w));
                if (k < 0 && errno == EINTR)
                    k = 0;
                else if (k <= 0) {
                    fl_err_set(err, "cannot write %s: %s", dst, strerror(errno));
                    goto out_close_out;
                }
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fl_err_set(err, "cannot copy %s to %s: %s", src, dst, strerror(errno));
            goto out_close_out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
    }
    if (fsync(out) < 0) {
        fl_err_set(err, "cannot sync %s: %s", dst, strerror(errno));
        goto out_close_out;
    }
    if (copied)
        *copied = total;
    rc = 0;
out_close_out:
    if (close(out) < 0 && rc == 0) {
        fl_err_set(err, "cannot close %s: %s", dst, strerror(errno));
        rc = -1;
    }
out_close_in:
    close(in);
    free(buf);
    return rc;
}

static int l_put_file(const char *src, const fl_fs_loc *l, uint64_t *size, fl_err *err)
{
    if (make_parent(l->path, err) < 0)
        return -1;
    return copy_file(src, l->path, size, err);
}

static int l_get_file(const fl_fs_loc *l, const char *dst, fl_err *err)
{
    return copy_file(l->path, dst, NULL, err);
}

static int l_stat(const fl_fs_loc *l, bool *exists, uint64_t *size, int64_t *mtime_ns,
                  fl_err *err)
{
    struct stat st;
    if (stat(l->path, &st) < 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            fl_err_set(err, "cannot stat %s: %s", l->path, strerror(errno));
            return -1;
        }
        *exists = false;
        return 0;
    }
    *exists = true;
    if (size)
        *size = (uint64_t)st.st_size;
    if (mtime_ns)
        *mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

/* Walks dir (rel: its name below the listing's root). 1 = stopped by fn. */
static int walk(const char *dir, const char *rel, bool recursive, fl_fs_list_fn fn, void *arg,
                int depth, fl_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT && depth == 0)
            return 0; /* no directory: nothing in it, as on an object store */
        fl_err_set(err, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* gone meanwhile */
        char name[FL_FS_URI_MAX + 300], path[FL_FS_URI_MAX * 2 + 300];
        snprintf(name, sizeof name, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        bool is_dir = S_ISDIR(st.st_mode);
        if (recursive && is_dir) {
            if (depth > 64)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            rc = walk(path, name, true, fn, arg, depth + 1, err);
        } else if (is_dir || S_ISREG(st.st_mode)) {
            rc = fn(arg, name, is_dir, (uint64_t)st.st_size) ? 1 : 0;
        }
    }
    closedir(d);
    return rc;
}

static int l_list(const fl_fs_loc *l, bool recursive, fl_fs_list_fn fn, void *arg, fl_err *err)
{
    return walk(l->path, "", recursive, fn, arg, 0, err) < 0 ? -1 : 0;
}

static int l_delete_many(const fl_fs_loc *dir, const char *const *names, size_t n,
                         fl_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (fl_path_unlink_below(dir->path, names[i], err) < 0)
            rc = -1;
    return rc;
}

static int l_delete_tree(const fl_fs_loc *l, fl_err *err)
{
    if (fl_remove_tree(l->path) < 0) {
        fl_err_set(err, "cannot remove %s: %s", l->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int l_mkdirs(const fl_fs_loc *l, fl_err *err)
{
    return fl_mkdirs(l->path, err);
}

static int l_sync_dir(const fl_fs_loc *l, fl_err *err)
{
    int fd = open(l->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        fl_err_set(err, "cannot sync %s: %s", l->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* ---- streams: a hidden file beside the target ------------------------------------------ */

typedef struct l_out {
    int fd;
    char tmp[FL_FS_URI_MAX + 64];
} l_out;

/* The hidden in-progress name of path with random suffix rnd. */
static void inprogress_path(const char *path, const char *rnd, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    int dlen = slash ? (int)(slash - path) + 1 : 0;
    snprintf(out, len, "%.*s.%s" INPROGRESS "%s", dlen, path, slash ? slash + 1 : path, rnd);
}

static int l_out_open(fl_fs_out *o, fl_err *err)
{
    l_out *lo = fl_xcalloc(1, sizeof *lo);
    char rnd[17];
    fl_random_hex(rnd, 8);
    inprogress_path(o->loc.path, rnd, lo->tmp, sizeof lo->tmp);
    if (make_parent(o->loc.path, err) < 0)
        goto fail;
    lo->fd = open(lo->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (lo->fd < 0) {
        fl_err_set(err, "cannot create %s: %s", lo->tmp, strerror(errno));
        goto fail;
    }
    o->impl = lo;
    return 0;
fail:
    free(lo);
    return -1;
}

static int l_out_part(fl_fs_out *o, const void *data, size_t len, fl_err *err)
{
    l_out *lo = o->impl;
    const char *p = data;
    while (len) {
        ssize_t w = write(lo->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fl_err_set(err, "cannot write %s: %s", lo->tmp, strerror(w < 0 ? errno : ENOSPC));
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void l_out_abort(fl_fs_out *o)
{
    l_out *lo = o->impl;
    if (!lo)
        return;
    close(lo->fd);
    unlink(lo->tmp);
    free(lo);
    o->impl = NULL;
}

/* The rest written, synced and closed: the hidden file holds everything. */
static int finish_tmp(fl_fs_out *o, fl_err *err)
{
    l_out *lo = o->impl;
    if (l_out_part(o, o->buf, o->len, err) < 0)
        return -1;
    if (fsync(lo->fd) < 0) {
        fl_err_set(err, "cannot sync %s: %s", lo->tmp, strerror(errno));
        return -1;
    }
    int rc = close(lo->fd);
    lo->fd = -1;
    if (rc < 0) {
        fl_err_set(err, "cannot close %s: %s", lo->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static int l_out_close(fl_fs_out *o, fl_err *err)
{
    l_out *lo = o->impl;
    int rc = finish_tmp(o, err);
    if (rc == 0 && rename(lo->tmp, o->loc.path) < 0) {
        fl_err_set(err, "cannot rename %s to %s: %s", lo->tmp, o->loc.path, strerror(errno));
        rc = -1;
    }
    if (rc < 0) {
        if (lo->fd >= 0)
            close(lo->fd);
        unlink(lo->tmp);
    }
    free(lo);
    o->impl = NULL;
    /* the rename made durable: a snapshot file is there for good before the _metadata
     * naming it is written */
    return rc < 0 ? -1 : sync_parent(o->loc.path, err);
}

static int l_out_close_for_commit(fl_fs_out *o, char **committable, fl_err *err)
{
    l_out *lo = o->impl;
    int rc = finish_tmp(o, err);
    const char *slash = strrchr(lo->tmp, '/');
    if (rc == 0)
        *committable = fl_xstrdup(slash ? slash + 1 : lo->tmp);
    else {
        if (lo->fd >= 0)
            close(lo->fd);
        unlink(lo->tmp);
    }
    free(lo);
    o->impl = NULL;
    return rc;
}

/* The hidden file a committable names, beside l; -1 when it is not one of ours. */
static int committed_tmp(const fl_fs_loc *l, const char *committable, char *out, size_t len,
                         fl_err *err)
{
    if (!committable[0] || committable[0] != '.' || strchr(committable, '/') ||
        !strstr(committable, INPROGRESS)) {
        fl_err_set(err, "'%.200s' is not an in-progress file of %.300s", committable, l->path);
        return -1;
    }
    char dir[FL_FS_URI_MAX + 8];
    dir_of(l->path, dir, sizeof dir);
    snprintf(out, len, "%s/%s", dir, committable);
    return 0;
}

static int l_commit(const fl_fs_loc *l, const char *committable, fl_err *err)
{
    char tmp[FL_FS_URI_MAX * 2];
    if (committed_tmp(l, committable, tmp, sizeof tmp, err) < 0)
        return -1;
    /* idempotent: committed before (a restore commits again) is fine */
    if (rename(tmp, l->path) < 0 && !(errno == ENOENT && access(l->path, F_OK) == 0)) {
        fl_err_set(err, "cannot commit %s: %s", l->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int l_commit_abort(const fl_fs_loc *l, const char *committable, fl_err *err)
{
    char tmp[FL_FS_URI_MAX * 2];
    if (committed_tmp(l, committable, tmp, sizeof tmp, err) < 0)
        return -1;
    if (unlink(tmp) < 0 && errno != ENOENT) {
        fl_err_set(err, "cannot delete %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static int l_abort_uploads(const fl_fs_loc *dir, const char *prefix, fl_fs_keep_fn keep,
                           void *arg, fl_err *err)
{
    DIR *d = opendir(dir->path);
    if (!d)
        return errno == ENOENT ? 0 : (fl_err_set(err, "cannot read %s: %s", dir->path,
                                                 strerror(errno)), -1);
    int dropped = 0;
    size_t plen = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *ip = strstr(de->d_name, INPROGRESS);
        if (de->d_name[0] != '.' || !ip || strncmp(de->d_name + 1, prefix, plen) != 0)
            continue;
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(ip - de->d_name - 1), de->d_name + 1);
        if (keep && keep(arg, name, de->d_name))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            dropped++;
    }
    closedir(d);
    return dropped;
}

const fl_fs_ops fl_fs_local_ops = {
    .put = l_put,
    .get = l_get,
    .put_file = l_put_file,
    .get_file = l_get_file,
    .stat = l_stat,
    .list = l_list,
    .delete_many = l_delete_many,
    .delete_tree = l_delete_tree,
    .mkdirs = l_mkdirs,
    .sync_dir = l_sync_dir,
    .out_open = l_out_open,
    .out_part = l_out_part,
    .out_close = l_out_close,
    .out_close_for_commit = l_out_close_for_commit,
    .out_abort = l_out_abort,
    .commit = l_commit,
    .commit_abort = l_commit_abort,
    .abort_uploads = l_abort_uploads,
};
