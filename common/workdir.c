/* workdir.c -- see workdir.h. */
#include "workdir.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_NAME ".owner.lock"
#define YOUNG_S 60 /* a directory without its lock file yet: being created */

int fl_workdir_new(const char *parent, const char *prefix, char *out, size_t outlen, fl_err *err)
{
    int n = snprintf(out, outlen, "%s/%sXXXXXX", parent, prefix);
    if (n < 0 || (size_t)n >= outlen) {
        fl_err_set(err, "the directory name %s/%s... is too long", parent, prefix);
        return -1;
    }
    if (!mkdtemp(out)) {
        fl_err_set(err, "cannot create a directory %s: %s", out, strerror(errno));
        return -1;
    }
    /* The lock file appears under its name already locked: created and locked under
     * another name, then renamed. A reaper that finds it unlocked knows its owner is gone,
     * never that the owner has not locked it yet (another TaskManager starting at the same
     * moment would otherwise take that instant for a death). */
    char lock[4200], fresh[4200];
    snprintf(lock, sizeof lock, "%s/" LOCK_NAME, out);
    snprintf(fresh, sizeof fresh, "%s/" LOCK_NAME ".new", out);
    int fd = open(fresh, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 || rename(fresh, lock) < 0) {
        fl_err_set(err, "cannot lock %s: %s", lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        fl_remove_tree(out);
        return -1;
    }
    return fd;
}

int fl_workdir_reap(const char *parent, const char *prefix)
{
    DIR *d = opendir(parent);
    if (!d)
        return 0;
    int removed = 0;
    size_t plen = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        char path[4200], lock[4300];
        snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
            continue; /* not ours to judge: a symlink, a file, another user's */
        snprintf(lock, sizeof lock, "%s/" LOCK_NAME, path);
        int fd = open(lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno != ENOENT || time(NULL) - st.st_mtime < YOUNG_S)
                continue;
        } else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            close(fd); /* its owner lives */
            continue;
        }
        if (fl_remove_tree(path) == 0) {
            fl_info("Removed %s, left by a process that is gone", path);
            removed++;
        } else {
            fl_warn("could not remove %s, left by a process that is gone", path);
        }
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
    return removed;
}
