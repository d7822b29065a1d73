/* supervise.c -- see supervise.h. The supervisor is one thread in its own process: it
 * waits for signals (sigtimedwait) and its child's end (SIGCHLD), nothing else. */
#include "supervise.h"
#include "config.h"
#include "crash.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char crash_summary[1024];

static int64_t conf_ms(const fl_conf *conf, const char *key)
{
    return fl_conf_get_duration_ms(conf, key);
}

/* How the child ended, for the log: "died of SIGSEGV (core dumped)", "exited with status 1". */
static void describe(int status, char *out, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(out, len, "died of signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

static int exit_code(int status)
{
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* Starts the daemon: the same binary and arguments, FLINT_SUPERVISE=child, the write end
 * of the started pipe in FLINT_SUPERVISOR_FD. -1 when fork fails. */
static pid_t spawn(const char *exe, char **argv, const sigset_t *mask, int *started_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        /* a kill -9 of the supervisor takes the daemon along */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self)
            _exit(1);
        sigprocmask(SIG_SETMASK, mask, NULL);
        fcntl(p[1], F_SETFD, 0);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", p[1]);
        setenv("FLINT_SUPERVISOR_FD", fd, 1);
        setenv("FLINT_SUPERVISE", "child", 1);
        execv(exe, argv);
        _exit(127);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    *started_fd = p[0];
    return pid;
}

static bool child_started(int fd)
{
    char c;
    return read(fd, &c, 1) == 1;
}

void fl_supervise(const char *name, int argc, char **argv)
{
    const char *mode = getenv("FLINT_SUPERVISE");
    const char *report = getenv("FLINT_CRASH_REPORT");
    if (mode && strcmp(mode, "child") == 0) {
        /* the daemon: what its predecessor's crash file says */
        if (report && *report &&
            fl_crash_read_summary(report, crash_summary, sizeof crash_summary) < 0)
            crash_summary[0] = 0;
        unsetenv("FLINT_CRASH_REPORT");
        return;
    }
    if (!mode || strcmp(mode, "1") != 0)
        return;
    unsetenv("FLINT_SUPERVISE");
    fl_conf *conf = fl_conf_new();
    char key[64];
    snprintf(key, sizeof key, "%s.supervisor.enabled", name);
    /* a configuration that does not load: the daemon itself says why (and warns of
     * unknown keys once, not here too) */
    fl_log_level level = fl_log_min_level;
    fl_log_min_level = FL_LOG_OFF;
    int loaded = fl_conf_load_startup(conf, argc, argv, false, NULL);
    fl_log_min_level = level;
    if (loaded < 0 || !fl_conf_get_bool(conf, key)) {
        fl_conf_free(conf);
        return;
    }
    int64_t initial = conf_ms(conf, "supervisor.initial-backoff");
    int64_t max = conf_ms(conf, "supervisor.max-backoff");
    int64_t reset = conf_ms(conf, "supervisor.reset-backoff-threshold");
    fl_conf_free(conf);

    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = 0;
    const char *logfile = getenv("FLINT_LOG_FILE");
    if (logfile && *logfile)
        fl_log_to_file(logfile);
    fl_log_set_thread_name("supervisor");
    prctl(PR_SET_NAME, name[0] == 't' ? "flint-tm-sup" : "flint-jm-sup");

    sigset_t wait_set, old;
    sigemptyset(&wait_set);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGCONT};
    for (size_t i = 0; i < FL_ARRAY_LEN(sigs); i++)
        sigaddset(&wait_set, sigs[i]);
    sigprocmask(SIG_BLOCK, &wait_set, &old);
    signal(SIGPIPE, SIG_IGN);

    int started_fd = -1, restarts = 0;
    bool ever_started = false, stopping = false;
    int64_t backoff = initial;
    pid_t child = spawn(exe, argv, &old, &started_fd);
    if (child < 0) {
        fprintf(stderr, "flint-%s: supervisor: fork: %s\n", name, strerror(errno));
        exit(1);
    }
    int64_t child_start = fl_mono_ms(), restart_at = -1;
    fl_info("Supervisor (pid %d) of the %s: daemon pid %d (%s.supervisor.enabled)", (int)getpid(),
            name, (int)child, name);
    for (;;) {
        siginfo_t si;
        struct timespec tick = {0, 100 * 1000000};
        if (restart_at >= 0) {
            int64_t left = restart_at - fl_mono_ms();
            if (left <= 0) {
                child = spawn(exe, argv, &old, &started_fd);
                unsetenv("FLINT_CRASH_REPORT");
                restart_at = -1;
                child_start = fl_mono_ms();
                if (child < 0) {
                    fl_error("Supervisor: cannot restart the %s: fork: %s", name,
                             strerror(errno));
                    restart_at = fl_mono_ms() + backoff;
                    continue;
                }
                fl_info("Supervisor: restarted the %s: daemon pid %d (restart %d)", name,
                        (int)child, restarts);
                continue;
            }
            if (left < 100)
                tick.tv_nsec = left * 1000000;
        }
        int sig = sigtimedwait(&wait_set, &si, &tick);
        if (child > 0 && started_fd >= 0 && child_started(started_fd)) {
            ever_started = true;
            close(started_fd);
            started_fd = -1;
        }
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
            stopping = true;
            if (child <= 0) {
                fl_info("Supervisor: %s while waiting to restart the %s; not restarting it.",
                        strsignal(sig), name);
                exit(0);
            }
            kill(child, sig);
            continue;
        }
        if (sig == SIGCONT && child > 0) {
            kill(child, SIGCONT);
            continue;
        }
        if (child <= 0)
            continue;
        int status;
        pid_t w = waitpid(child, &status, WNOHANG);
        if (w != child)
            continue;
        if (started_fd >= 0) {
            ever_started |= child_started(started_fd);
            close(started_fd);
            started_fd = -1;
        }
        char how[160];
        describe(status, how, sizeof how);
        pid_t dead = child;
        child = -1;
        if (stopping)
            exit(exit_code(status));
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            fl_info("Supervisor: the %s (pid %d) exited normally; not restarting it.", name,
                    (int)dead);
            exit(0);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
            fl_warn("Supervisor: the %s (pid %d) exited with status 2: the JobManager refused "
                    "it for good (its configuration); not restarting it.", name, (int)dead);
            exit(2);
        }
        if (!ever_started) {
            /* never came up: the start script reports why */
            exit(exit_code(status));
        }
        int64_t ran = fl_mono_ms() - child_start;
        if (ran >= reset)
            backoff = initial;
        char crash[1400] = "", summary[1024];
        fl_crash_file_path((int)dead, crash, sizeof crash);
        if (crash[0] && fl_crash_read_summary(crash, summary, sizeof summary) == 0)
            setenv("FLINT_CRASH_REPORT", crash, 1);
        else
            crash[0] = 0;
        restarts++;
        fl_warn("Supervisor: the %s (pid %d) %s after %lld ms%s%s; restarting it in %lld ms "
                "(restart %d).", name, (int)dead, how, (long long)ran,
                crash[0] ? "; crash report " : "", crash, (long long)backoff, restarts);
        restart_at = fl_mono_ms() + backoff;
        backoff = FL_MIN(FL_MAX(backoff * 2, 1), max);
    }
}

void fl_supervise_started(void)
{
    const char *fd = getenv("FLINT_SUPERVISOR_FD");
    if (!fd || !*fd)
        return;
    int f = atoi(fd);
    char one = 1;
    if (f > 2) {
        ssize_t w = write(f, &one, 1);
        (void)w;
        close(f);
    }
    unsetenv("FLINT_SUPERVISOR_FD");
}

const char *fl_supervise_crash_report(void)
{
    return crash_summary[0] ? crash_summary : NULL;
}
