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

fl_log_level fl_log_min_level = FL_LOG_INFO;
static int log_fd = STDERR_FILENO;
static __thread char thread_name[32] = "main";

static const char *level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

/* libevent's warnings repeat per event when something fails at every turn of a loop (an
 * accept(2) out of descriptors on a listener without an error callback): five a 10 s. */
static void libevent_log(int severity, const char *msg)
{
    static fl_ratelimit rl;
    fl_log_level level = severity == EVENT_LOG_DEBUG ? FL_LOG_DEBUG
              : severity == EVENT_LOG_MSG   ? FL_LOG_INFO
              : severity == EVENT_LOG_WARN  ? FL_LOG_WARN
                                            : FL_LOG_ERROR;
    if (level <= FL_LOG_INFO)
        fl_log(level, "libevent: %s", msg);
    else
        fl_log_rl(&rl, 5, level, 10, "libevent: %s", msg);
}

void fl_log_init(fl_log_level min_level)
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

const char *fl_log_thread_name(void)
{
    return thread_name;
}

int fl_log_fd(void)
{
    return log_fd;
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

static void log_writev(fl_log_level level, const char *suffix, const char *fmt, va_list ap)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    int saved = errno;

    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ",%03d %s [%s] ", (int)(tv.tv_usec / 1000),
                          level_names[level > FL_LOG_ERROR ? FL_LOG_ERROR : level], thread_name);
    size_t room = sizeof line - n - 1 - strlen(suffix);
    int m = vsnprintf(line + n, room, fmt, ap);
    if (m < 0)
        m = 0;
    n += (size_t)m < room ? (size_t)m : room - 1;
    memcpy(line + n, suffix, strlen(suffix));
    n += strlen(suffix);
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n);
    (void)w;
    errno = saved;
}

void fl_log_write(fl_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_writev(level, "", fmt, ap);
    va_end(ap);
}

void fl_log_write_rl(fl_log_level level, uint64_t suppressed, int interval_s, const char *fmt, ...)
{
    char suffix[96] = "";
    if (suppressed)
        snprintf(suffix, sizeof suffix, " (%llu similar lines suppressed in the last %d s)",
                 (unsigned long long)suppressed, interval_s);
    va_list ap;
    va_start(ap, fmt);
    log_writev(level, suffix, fmt, ap);
    va_end(ap);
}

bool fl_ratelimit_pass(fl_ratelimit *rl, int64_t interval_ms, uint32_t burst,
                       uint64_t *suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1; /* never 0 */
    int64_t start = atomic_load_explicit(&rl->window_ms, memory_order_relaxed);
    /* a new window: whoever moves it on resets the count (a race costs a line or two) */
    if ((start == 0 || now - start >= interval_ms) &&
        atomic_compare_exchange_strong(&rl->window_ms, &start, now))
        atomic_store_explicit(&rl->in_window, 0, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&rl->in_window, 1, memory_order_relaxed) >= burst) {
        atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
        return false;
    }
    *suppressed = atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
    return true;
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
