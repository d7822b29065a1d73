/* supervise.h -- self-healing daemons: a small supervisor process that restarts its
 * JobManager or TaskManager when it dies of a signal or exits non-zero.
 *
 * bin/flint-daemon.sh start sets FLINT_SUPERVISE=1; the daemon's main calls fl_supervise
 * first thing. With <name>.supervisor.enabled (default true) that process becomes the
 * supervisor: single-threaded, it starts the daemon as its child (the same binary and
 * arguments) and waits. The pid file names the supervisor, so the scripts manage it as they
 * managed the daemon:
 *
 *   - SIGTERM, SIGINT, SIGHUP (stop, stop-all) are passed to the daemon, which shuts down
 *     cleanly; the supervisor exits with its status and restarts nothing.
 *   - SIGKILL of the supervisor kills the daemon too (PR_SET_PDEATHSIG), so a kill -9 of
 *     the pid file's pid leaves nothing running, as without a supervisor.
 *   - SIGCONT is passed on. SIGSTOP cannot be: pause the daemon itself (the supervisor's
 *     child) to pause it.
 *   - The daemon dying of a signal, or exiting non-zero, is restarted after a backoff
 *     (supervisor.initial-backoff, doubling up to supervisor.max-backoff, back to the
 *     initial one after a run of supervisor.reset-backoff-threshold). Not restarted: exit 0
 *     (stopped by a signal sent to the daemon itself), exit 2 (a TaskManager the JobManager
 *     refused for good: its configuration is wrong, a restart cannot help), and a daemon
 *     that failed before its first start completed (bad configuration, port in use): the
 *     start script reports that one as before.
 *
 * A restarted daemon finds the crash file its predecessor wrote (crash.h) through
 * FLINT_CRASH_REPORT: a TaskManager sends its summary with its registration.
 */
#ifndef FL_SUPERVISE_H
#define FL_SUPERVISE_H

/* Returns in the process that is to run the daemon: at once without supervision, in the
 * child with it. The supervisor itself never returns (it exits with the daemon's status).
 * name: "jobmanager" or "taskmanager". Call before any thread starts. */
void fl_supervise(const char *name, int argc, char **argv);
/* The daemon started (its "started" log line is written): tells the supervisor, which
 * from then on restarts it. No-op without one. */
void fl_supervise_started(void);
/* The summary line of the crash report of the daemon this one replaces, or NULL. */
const char *fl_supervise_crash_report(void);

#endif
