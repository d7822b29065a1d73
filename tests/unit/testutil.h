/* testutil.h -- helpers shared by the Check unit tests (tests/unit/check_*.c).
 *
 * Header-only (static inline) so each test binary stays one .c file. Temporary files and
 * directories go under $TMPDIR (default /tmp) and are removed by the test that made them.
 * Waiting is always on a condition variable with a deadline (tu_wait), never a bare sleep.
 */
#ifndef FL_TESTUTIL_H
#define FL_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* ---- clocks and waiting ----------------------------------------------------------- */

static inline int64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A mutex and a condition variable; the state they guard lives in the test. The condvar
 * runs on CLOCK_MONOTONIC so a wall-clock jump cannot stretch a deadline. */
typedef struct tu_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} tu_sync;

static inline void tu_sync_init(tu_sync *s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
}

static inline void tu_sync_destroy(tu_sync *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

static inline void tu_lock(tu_sync *s)
{
    pthread_mutex_lock(&s->mu);
}

/* Wakes every waiter; call with the lock held, after changing the guarded state. */
static inline void tu_unlock_signal(tu_sync *s)
{
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static inline void tu_unlock(tu_sync *s)
{
    pthread_mutex_unlock(&s->mu);
}

/* Waits (lock held) until the next signal or the absolute monotonic deadline; false when
 * the deadline has passed. Use inside `while (!cond) if (!tu_wait_until(...)) break;`. */
static inline bool tu_wait_until(tu_sync *s, int64_t deadline_ms)
{
    int64_t now = tu_now_ms();
    if (now >= deadline_ms)
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t left = deadline_ms - now;
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    return true;
}

/* Evaluates cond with the lock held until it is true or timeout_ms passes; yields its
 * final value. The guarded state may be read in cond. */
#define TU_WAIT_FOR(sync, cond, timeout_ms)                                                  \
    ({                                                                                       \
        int64_t tu_deadline_ = tu_now_ms() + (timeout_ms);                                   \
        bool tu_ok_;                                                                         \
        tu_lock(sync);                                                                       \
        while (!(tu_ok_ = (cond)) && tu_wait_until((sync), tu_deadline_))                    \
            ;                                                                                \
        tu_unlock(sync);                                                                     \
        tu_ok_;                                                                              \
    })

/* ---- files ------------------------------------------------------------------------ */

/* Makes a fresh directory; path is written into out (size >= 64). */
static inline void tu_mkdtemp(char *out, size_t outlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, outlen, "%s/flint-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp(%s): %s", out, strerror(errno));
}

static inline void tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "fopen(%s): %s", path, strerror(errno));
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* How often needle occurs in hay. */
static inline int tu_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- log capture ------------------------------------------------------------------ */

/* Sends Flint's log lines to a fresh temporary file so tests can read what was logged
 * (and the test output stays quiet). The file is unlinked at once and read through our own
 * descriptor, so nothing is left behind even when a failing test skips its teardown. */
static int tu_log_fd = -1;

static inline void tu_log_capture(void)
{
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/flint-unit-log-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
    ck_assert_int_eq(fl_log_to_file(path), 0);
    unlink(path);
    tu_log_fd = fd;
}

/* Everything logged since tu_log_capture (caller frees). */
static inline char *tu_log_text(void)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (tu_log_fd >= 0 && (r = pread(tu_log_fd, buf + n, cap - n - 1, (off_t)n)) > 0) {
        n += (size_t)r;
        if (cap - n - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    return buf;
}

static inline void tu_log_release(void)
{
    if (tu_log_fd >= 0) {
        fl_log_to_file("/dev/null");
        close(tu_log_fd);
        tu_log_fd = -1;
    }
}

/* ---- running ---------------------------------------------------------------------- */

/* Runs the suite (CK_FORK, CK_VERBOSITY etc. from the environment) and gives main's exit
 * status. */
static inline int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

#endif
