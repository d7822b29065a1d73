/* userdir.c -- see userdir.h. */
#include "userdir.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks the directory open on fd (dir names it): the effective user's, nobody else's to
 * write. */
static int check_owned(int fd, const char *dir, const char *what, fl_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        fl_err_set(err, "%s %s: fstat: %s", what, dir, strerror(errno));
        return -1;
    }
    if (st.st_uid != geteuid()) {
        fl_err_set(err, "%s %s belongs to uid %u, not to this user (uid %u): refusing to use "
                        "it (remove it, or choose another directory)",
                   what, dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        fl_err_set(err, "%s %s is writable by others (mode %04o): refusing to use it "
                        "(chmod go-w it, or choose another directory)",
                   what, dir, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

int fl_private_dir(const char *dir, const char *what, fl_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            int rc = check_owned(fd, dir, what, err);
            close(fd);
            return rc;
        }
        struct stat st;
        if ((errno == ELOOP || errno == ENOTDIR) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
            fl_err_set(err, "%s %s is a symbolic link: refusing to follow it (use the "
                            "directory it points to, or remove it)", what, dir);
            return -1;
        }
        if (errno == ENOTDIR || errno == ELOOP) {
            fl_err_set(err, "%s %s exists and is not a directory", what, dir);
            return -1;
        }
        if (errno != ENOENT) {
            fl_err_set(err, "%s %s: %s", what, dir, strerror(errno));
            return -1;
        }
        /* new: created by us, 0700; EEXIST means someone was faster, so look again */
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            fl_err_set(err, "cannot create %s %s: %s", what, dir, strerror(errno));
            return -1;
        }
    }
    fl_err_set(err, "%s %s keeps changing under us", what, dir);
    return -1;
}

int fl_user_dir(const char *sub, char *out, size_t len, fl_err *err)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/')
        tmp = "/tmp";
    char name[256];
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name[0] &&
        !strchr(res->pw_name, '/'))
        snprintf(name, sizeof name, "%s", res->pw_name);
    else
        snprintf(name, sizeof name, "%u", (unsigned)geteuid());
    int n = snprintf(out, len, "%s/flint-%s", tmp, name);
    if (n < 0 || (size_t)n >= len) {
        fl_err_set(err, "the per-user directory under %s has too long a name", tmp);
        return -1;
    }
    if (fl_private_dir(out, "the per-user directory", err) < 0)
        return -1;
    if (!sub)
        return 0;
    size_t base = (size_t)n;
    n = snprintf(out + base, len - base, "/%s", sub);
    if (n < 0 || (size_t)n >= len - base) {
        fl_err_set(err, "the directory %s/%s has too long a name", out, sub);
        return -1;
    }
    return fl_private_dir(out, "the per-user directory", err);
}
