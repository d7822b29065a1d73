/* daemon.c -- see daemon.h. Main thread only. */
#include "daemon.h"
#include "crash.h"
#include "fs.h"
#include "log.h"
#include "supervise.h"
#include "version.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sigset_t stop_signals;

/* Flink logs every loaded property at start; secrets arrive here already masked. */
static void log_property(void *arg, const char *key, const char *value)
{
    fl_info("Loading configuration property: %s, %s", key, value);
}

int fl_daemon_init(const char *name, int argc, char **argv, fl_conf **out)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("Usage: flint-%s [-D key=value]...\n"
                   "Reads $FLINT_CONF_DIR/flint-conf.yaml (default conf/); -D overrides a key.\n"
                   "Normally started by bin/%s.sh.\n",
                   name, name);
            exit(0);
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("Flint %s %s\n", FL_VERSION, name);
            exit(0);
        }
    }
    /* supervised (taskmanager.sh or jobmanager.sh start): this process becomes the supervisor and never returns
     * here; its child, the daemon, goes on */
    fl_supervise(name, argc, argv);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *logfile = getenv("FLINT_LOG_FILE");
    if (logfile && *logfile && fl_log_to_file(logfile) < 0)
        fprintf(stderr, "flint-%s: cannot open log file %s; logging to stderr\n", name, logfile);
    fl_log_init(FL_LOG_INFO);
    fl_log_set_thread_name(name);

    fl_conf *conf = fl_conf_new();
    fl_err err;
    /* A malformed configuration must reach the user's terminal, not only the log file. */
    if (fl_conf_load_startup(conf, argc, argv, false, &err) < 0) {
        fprintf(stderr, "flint-%s: configuration error: %s\n", name, err.msg);
        fl_error("configuration error: %s", err.msg);
        fl_conf_free(conf);
        return -1;
    }
    fl_log_min_level = fl_log_level_parse(fl_conf_get_str(conf, "log.level"));
    if (fl_conf_get_bool(conf, "crash-reports.enabled"))
        fl_crash_install(strcmp(name, "taskmanager") == 0 ? "TaskManager" : "JobManager",
                         FL_CRASH_ABORT);
    /* the file-system layer (s3.* keys) before any thread writes durable data */
    if (fl_fs_init(conf, &err) < 0) {
        fprintf(stderr, "flint-%s: configuration error: %s\n", name, err.msg);
        fl_error("configuration error: %s", err.msg);
        fl_conf_free(conf);
        return -1;
    }
    fl_info("Starting Flint %s %s (pid %d), configuration from %s", FL_VERSION, name,
            (int)getpid(), fl_conf_dir());
    fl_conf_foreach(conf, true, log_property, NULL);
    *out = conf;
    return 0;
}

int fl_daemon_wait(void)
{
    int sig = 0;
    sigwait(&stop_signals, &sig);
    fl_info("RECEIVED SIGNAL %d: %s. Shutting down as requested.", sig, strsignal(sig));
    return sig;
}
