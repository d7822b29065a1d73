/* log.c -- see log.h. Any thread; the only shared state is the output fd and the level,
 * both set at start-up before threads exist. */
#include "log.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

int fl_log_min_level = FL_LOG_INFO;
static int log_fd = STDERR_FILENO;
static __thread char thread_name[32] = "main";

static const char *level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

static void libevent_log(int severity, const char *msg)
{
    int level = severity == EVENT_LOG_DEBUG ? FL_LOG_DEBUG
              : severity == EVENT_LOG_MSG   ? FL_LOG_INFO
              : severity == EVENT_LOG_WARN  ? FL_LOG_WARN
                                            : FL_LOG_ERROR;
    fl_log(level, "libevent: %s", msg);
}

void fl_log_init(int min_level)
{
    fl_log_min_level = min_level;
    event_set_log_callback(libevent_log);
}

int fl_log_level_parse(const char *name)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

void fl_log_set_thread_name(const char *name)
{
    snprintf(thread_name, sizeof thread_name, "%s", name);
}

int fl_log_to_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void fl_log_write(int level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    int saved = errno;

    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ",%03d %s [%s] ", (int)(tv.tv_usec / 1000),
                          level_names[level < 0 ? 0 : level > 3 ? 3 : level], thread_name);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n);
    (void)w;
    errno = saved;
}

void fl_err_setv(fl_err *err, const char *fmt, va_list ap)
{
    if (err)
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

void fl_err_set(fl_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fl_err_setv(err, fmt, ap);
    va_end(ap);
}

void fl_err_prefix(fl_err *err, const char *fmt, ...)
{
    char prefix[256], old[sizeof err->msg];
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%.200s: %.300s", prefix, old);
}
