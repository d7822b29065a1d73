/* crash.h -- crash reports: what a daemon (or the CLI) says when user code, or its own,
 * dies of SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT.
 *
 * fl_crash_install puts one handler on those signals, run on an alternate signal stack
 * (each thread that may overflow its stack calls fl_crash_thread_init for its own). The
 * handler uses async-signal-safe calls only, apart from backtrace(3) (preloaded at
 * install, so it does not allocate) and dladdr(3) (which takes the loader's lock: a crash
 * inside the loader itself would hang there; the supervisor then waits for nothing, since
 * the TaskManager's heartbeat loss still ends it). It writes:
 *
 *   - one ERROR line to the log (fl_log_fd) and the whole report to stderr;
 *   - the report to the crash file `<log file without .log>-crash-<pid>.txt` (in the
 *     directory of FLINT_LOG_FILE, else of FLINT_LOG_DIR, else none);
 *   - in a daemon, hands the one-line summary to the reporter (fl_crash_set_reporter),
 *     which runs on a thread of its own and sends it to the JobManager as the failure of
 *     the task the crashing thread ran; the handler waits for it at most 2 s;
 *
 * then the signal's default action runs (a core dump where the system allows): a fault
 * returns to the faulting instruction, which faults again without the handler; a sent
 * signal (abort, kill) is raised again. In the CLI (FL_CRASH_EXIT) the process exits 1
 * instead, after the report on stderr.
 *
 * The report names the signal and the faulting address, the thread, the task it ran (job,
 * vertex, subtask, attempt) and the operator of the chain: the context a task's thread
 * publishes once when it starts running the task (fl_crash_set_context, a thread-local
 * pointer: nothing per record), whose list of the chain's user functions is matched against
 * the symbolized backtrace, so the operator whose function crashed is found with no work
 * on the record path. The summary line, the first line of the file:
 *
 *   TaskManager tm-1 crashed: SIGSEGV at 0x0 in crash.so:my_map+0x1c (operator 'My Map',
 *   subtask 2/3)
 */
#ifndef FL_CRASH_H
#define FL_CRASH_H

#include <stdbool.h>
#include <stddef.h>

/* One user function of a chain: its symbol and the operator it belongs to. */
typedef struct fl_crash_fn {
    const char *symbol;
    int op;                   /* index into fl_crash_ctx.op_names */
} fl_crash_fn;

/* What a thread is running, for the report. Strings and arrays must live while the
 * context is published. */
typedef struct fl_crash_ctx {
    const char *job_id, *job_name;
    const char *task_name;    /* "vertex name (2/4)" */
    int subtask, parallelism, attempt;
    const char *bundle_name;  /* the user's file name of the bundle */
    const void *bundle_base;  /* its load address (dladdr's dli_fbase); NULL: none */
    const char *const *op_names;
    int nops;
    const fl_crash_fn *fns;
    int nfns;
    int op;                   /* the operator being called outside the record path (open,
                                 close, timers, finish), or -1 */
    void *cookie;             /* handed to the reporter (the task) */
} fl_crash_ctx;

enum fl_crash_mode {
    FL_CRASH_ABORT,           /* daemons: report, then the default action (core dump) */
    FL_CRASH_EXIT,            /* the CLI: report on stderr, exit 1 */
};

/* Installs the handler for the process; what is "Flint TaskManager" in the report's
 * first lines. Also sets up the calling (main) thread's alternate stack. */
void fl_crash_install(const char *what, enum fl_crash_mode mode);
/* fl_crash_install was called (and not undone). */
bool fl_crash_installed(void);
/* Gives the signals their default action back (the CLI, once flint_main returned). */
void fl_crash_uninstall(void);
/* Replaces what (e.g. "TaskManager tm-1", once the resource id is known). Any thread,
 * before a crash; copied. */
void fl_crash_set_identity(const char *what);
/* The prefix of the summary in FL_CRASH_EXIT mode ("flint_main crashed: ..."). */
void fl_crash_set_summary_prefix(const char *prefix);
/* An alternate signal stack for the calling thread (a stack overflow is reported too);
 * fl_crash_thread_exit frees it (before the thread ends). */
void fl_crash_thread_init(void);
void fl_crash_thread_exit(void);
/* Publishes what the calling thread runs (NULL: nothing). */
void fl_crash_set_context(fl_crash_ctx *ctx);
/* The context the calling thread published, or NULL (to set ctx->op around calls). */
fl_crash_ctx *fl_crash_context(void);
/* Starts the reporter thread: fn(cookie, summary) runs on it for a crash in a thread whose
 * context has a cookie. fn may allocate and post; it must return within 2 s. */
typedef void (*fl_crash_report_fn)(void *cookie, const char *summary);
void fl_crash_set_reporter(fl_crash_report_fn fn);
/* The crash file a process with this pid writes (or "" when there is no log directory). */
void fl_crash_file_path(int pid, char *out, size_t len);
/* Reads the summary line of a crash file into out. 0, or -1 when there is none. */
int fl_crash_read_summary(const char *path, char *out, size_t len);

#endif
