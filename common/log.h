/* log.h -- levelled logging for the daemons, the CLI and tests.
 *
 * One line per call, written with a single write(2) so threads do not interleave:
 *   2026-11-24 10:00:00,123 INFO  [resourcemanager] TaskManager ... registered
 * The bracketed name is the calling thread's (fl_log_set_thread_name). libevent's own
 * messages are routed here by fl_log_init. Never call these on a per-record path.
 *
 * A line that an outsider can cause at will (a refused connection, a forged message, a
 * bound reached) goes through fl_log_every: at most one line per call site every N
 * seconds, the next one saying how many were suppressed meanwhile, so that a flood of
 * bad input costs a few lines, not megabytes per second.
 */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum fl_log_level {
    FL_LOG_DEBUG = 0,
    FL_LOG_INFO,
    FL_LOG_WARN,
    FL_LOG_ERROR,
    FL_LOG_OFF,
} fl_log_level;

extern fl_log_level fl_log_min_level;

void fl_log_init(fl_log_level min_level);
/* Parses DEBUG|INFO|WARN|ERROR|OFF (any case); returns -1 when unknown. */
int fl_log_level_parse(const char *name);
void fl_log_set_thread_name(const char *name);
/* The calling thread's name, and the descriptor log lines go to (the crash handler writes
 * there with write(2)). */
const char *fl_log_thread_name(void);
int fl_log_fd(void);
/* Opens path for appending and sends log lines there instead of stderr. */
int fl_log_to_file(const char *path);
void fl_log_write(fl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define fl_log(level, ...)                                                                   \
    do {                                                                                     \
        if ((level) >= fl_log_min_level)                                                     \
            fl_log_write((level), __VA_ARGS__);                                              \
    } while (0)
/* The state of one rate-limited cause (a static in fl_log_every); zeroed to start; any
 * thread. */
typedef struct fl_ratelimit {
    _Atomic int64_t window_ms;    /* monotonic start of the current window */
    _Atomic uint32_t in_window;   /* lines asked for in it */
    _Atomic uint64_t suppressed;  /* lines suppressed since the last one written */
} fl_ratelimit;

/* True when a line may be written now: at most `burst` per window of interval_ms (then
 * *suppressed holds how many were not since the previous one written). Lock-free. */
bool fl_ratelimit_pass(fl_ratelimit *rl, int64_t interval_ms, uint32_t burst,
                       uint64_t *suppressed);
/* fl_log_write plus, when suppressed > 0, " (N similar lines suppressed in the last S s)". */
void fl_log_write_rl(fl_log_level level, uint64_t suppressed, int interval_s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* At most `burst` lines per interval_s seconds for the cause whose state rl points to. */
#define fl_log_rl(rl, burst, level, interval_s, ...)                                         \
    do {                                                                                     \
        uint64_t fl_rl_n_;                                                                   \
        if ((level) >= fl_log_min_level &&                                                   \
            fl_ratelimit_pass((rl), (int64_t)(interval_s) * 1000, (burst), &fl_rl_n_))       \
            fl_log_write_rl((level), fl_rl_n_, (interval_s), __VA_ARGS__);                   \
    } while (0)
/* At most one line per interval_s seconds from this call site: the cause is the site. */
#define fl_log_every(level, interval_s, ...)                                                 \
    do {                                                                                     \
        static fl_ratelimit fl_rl_site_;                                                     \
        fl_log_rl(&fl_rl_site_, 1, (level), (interval_s), __VA_ARGS__);                      \
    } while (0)
#define fl_warn_every(interval_s, ...) fl_log_every(FL_LOG_WARN, interval_s, __VA_ARGS__)

#define fl_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)
#define fl_info(...)  fl_log(FL_LOG_INFO, __VA_ARGS__)
#define fl_warn(...)  fl_log(FL_LOG_WARN, __VA_ARGS__)
#define fl_error(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)

#endif
