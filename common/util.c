/* util.c -- see util.h. Thread-safe; no state. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t fl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t fl_mono_ms(void)
{
    return fl_mono_ns() / 1000000;
}

void fl_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[64];
    size_t done = 0;
    while (done < nbytes) {
        size_t n = FL_MIN(nbytes - done, sizeof buf);
        if (getrandom(buf, n, 0) != (ssize_t)n) {
            /* getrandom on Linux does not fail for <= 256 bytes once seeded; be safe anyway. */
            for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char)(rand() ^ (int)fl_mono_ns());
        }
        for (size_t i = 0; i < n; i++) {
            out[2 * (done + i)] = hex[buf[i] >> 4];
            out[2 * (done + i) + 1] = hex[buf[i] & 15];
        }
        done += n;
    }
    out[2 * nbytes] = '\0';
}

static void oom(size_t n)
{
    fprintf(stderr, "flint: out of memory allocating %zu bytes\n", n);
    abort();
}

void *fl_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *fl_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *fl_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *fl_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(fl_xmalloc(n), s, n);
}

char *fl_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = fl_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int fl_parse_host_port(const char *s, char *host, size_t hostlen, int *port, fl_err *err)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) {
        fl_err_set(err, "'%s' is not of the form host:port", s);
        return -1;
    }
    size_t n = (size_t)(colon - s);
    if (n >= hostlen) {
        fl_err_set(err, "host name in '%s' is too long", s);
        return -1;
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535) {
        fl_err_set(err, "'%s' has no valid port (0-65535)", s);
        return -1;
    }
    memcpy(host, s, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

int fl_read_file(const char *path, char **out, size_t *len, fl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fl_err_set(err, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fl_err_set(err, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = fl_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap)
            buf = fl_xrealloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fl_err_set(err, "cannot read %s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int fl_write_file(const char *path, const void *data, size_t len, bool atomic, fl_err *err)
{
    char tmp[4200];
    const char *target = path;
    if (atomic) {
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        target = tmp;
    }
    int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fl_err_set(err, "cannot create %s: %s", target, strerror(errno));
        return -1;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fl_err_set(err, "cannot write %s: %s", target, strerror(errno));
            close(fd);
            unlink(target);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fl_err_set(err, "cannot sync %s: %s", target, strerror(errno));
        unlink(target);
        return -1;
    }
    if (atomic) {
        if (rename(tmp, path) < 0) {
            fl_err_set(err, "cannot rename %s: %s", tmp, strerror(errno));
            unlink(tmp);
            return -1;
        }
        char dir[4200];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            int dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
    }
    return 0;
}

int fl_mkdirs(const char *dir, fl_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
            fl_err_set(err, "cannot create directory %s: %s", tmp, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
        fl_err_set(err, "cannot create directory %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes name in dfd and, when it is a directory (never a symlink), all below it. */
static int remove_at(int dfd, const char *name, int depth)
{
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if ((errno != EISDIR && errno != EPERM) || depth > 128)
        return -1;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            remove_at(dirfd(d), de->d_name, depth + 1) < 0)
            rc = -1;
    closedir(d);
    if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

int fl_remove_tree(const char *path)
{
    char parent[4200];
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof parent || (n == 1 && path[0] == '/'))
        return -1;
    memcpy(parent, path, n);
    parent[n] = '\0';
    char *slash = strrchr(parent, '/'), *name = parent;
    const char *dir = ".";
    if (slash) {
        *slash = '\0';
        dir = slash == parent ? "/" : parent;
        name = slash + 1;
    }
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = remove_at(dfd, name, 0);
    close(dfd);
    return rc;
}

uint32_t fl_crc32(const void *data, size_t len)
{
    static uint32_t table[256];
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

const char *fl_hostname(void)
{
    static __thread char name[256];
    if (!name[0] && gethostname(name, sizeof name - 1) < 0)
        strcpy(name, "localhost");
    return name;
}
