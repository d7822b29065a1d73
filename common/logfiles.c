/* logfiles.c -- see logfiles.h. */
#include "logfiles.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *fl_logfiles_dir(void)
{
    static char dir[PATH_MAX];
    const char *file = getenv("FLINT_LOG_FILE");
    const char *slash = file ? strrchr(file, '/') : NULL;
    if (!file || !*file) {
        dir[0] = '\0';
    } else if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else {
        size_t n = (size_t)(slash - file);
        snprintf(dir, sizeof dir, "%.*s", (int)(n ? n : 1), file);
    }
    return dir;
}

static bool plain_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > FL_LOGFILE_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c == 0x7f || c == '/' || c == '\\' || c == '%')
            return false;
    }
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fl_logfile *)a)->name, ((const fl_logfile *)b)->name);
}

int fl_logfiles_list(fl_logfile **out)
{
    *out = NULL;
    const char *dir = fl_logfiles_dir();
    DIR *dp = *dir ? opendir(dir) : NULL;
    if (!dp)
        return 0;
    int n = 0, cap = 0;
    fl_logfile *files = NULL;
    struct dirent *e;
    while ((e = readdir(dp)) && n < FL_LOGFILES_MAX) {
        struct stat st;
        if (!plain_name(e->d_name) ||
            fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            files = realloc(files, (size_t)cap * sizeof *files);
            if (!files)
                abort();
        }
        snprintf(files[n].name, sizeof files[n].name, "%s", e->d_name);
        files[n].size = (uint64_t)st.st_size;
        n++;
    }
    closedir(dp);
    qsort(files, (size_t)n, sizeof *files, by_name);
    *out = files;
    return n;
}

int fl_logfiles_read(const char *name, size_t max, uint8_t **data, size_t *len,
                     uint64_t *offset, uint64_t *size, fl_err *err)
{
    *data = NULL;
    *len = 0;
    if (!plain_name(name)) {
        fl_err_set(err, "'%.100s' is not the name of a log file (one plain name, no '/', "
                        "'%%' or leading '.')", name);
        return 400;
    }
    const char *dir = fl_logfiles_dir();
    int dfd = *dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int status = 0;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fl_err_set(err, "Log file %.100s does not exist in the log directory.", name);
        status = 404;
        goto out;
    }
    *size = (uint64_t)st.st_size;
    *offset = *size > max ? *size - max : 0;
    size_t want = (size_t)(*size - *offset);
    *data = fl_xmalloc(want ? want : 1);
    ssize_t got = want ? pread(fd, *data, want, (off_t)*offset) : 0;
    if (got < 0) {
        fl_err_set(err, "Cannot read log file %.100s: %s", name, strerror(errno));
        free(*data);
        *data = NULL;
        status = 404;
        goto out;
    }
    *len = (size_t)got;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return status;
}
