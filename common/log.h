/* log.h -- levelled logging for the daemons, the CLI and tests.
 *
 * One line per call, written with a single write(2) so threads do not interleave:
 *   2026-11-24 10:00:00,123 INFO  [resourcemanager] TaskManager ... registered
 * The bracketed name is the calling thread's (fl_log_set_thread_name). libevent's own
 * messages are routed here by fl_log_init. Never call these on a per-record path.
 */
#ifndef FL_LOG_H
#define FL_LOG_H

enum fl_log_level { FL_LOG_DEBUG = 0, FL_LOG_INFO, FL_LOG_WARN, FL_LOG_ERROR, FL_LOG_OFF };

extern int fl_log_min_level;

void fl_log_init(int min_level);
/* Parses DEBUG|INFO|WARN|ERROR|OFF (any case); returns -1 when unknown. */
int fl_log_level_parse(const char *name);
void fl_log_set_thread_name(const char *name);
/* Opens path for appending and sends log lines there instead of stderr. */
int fl_log_to_file(const char *path);
void fl_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define fl_log(level, ...)                                                                   \
    do {                                                                                     \
        if ((level) >= fl_log_min_level)                                                     \
            fl_log_write((level), __VA_ARGS__);                                              \
    } while (0)
#define fl_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)
#define fl_info(...)  fl_log(FL_LOG_INFO, __VA_ARGS__)
#define fl_warn(...)  fl_log(FL_LOG_WARN, __VA_ARGS__)
#define fl_error(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)

#endif
