/* crash.c -- see crash.h. The handler runs on the crashing thread, on its alternate stack;
 * everything it touches was prepared before (the buffers below, the crash file's path, the
 * reporter's pipes). The reporter thread is the only thread this file starts. */
#include "crash.h"
#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define ALT_STACK_SIZE (64 * 1024)
#define MAX_FRAMES 48

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static enum fl_crash_mode crash_mode;
static bool installed;
static char identity[160] = "Flint";
static char summary_prefix[64] = "";
static char crash_dir[1024];    /* "" : no crash file */
static char crash_base[512];    /* file name before "-crash-<pid>.txt" */
static long gmt_offset_s;       /* for the log line's local time */
static _Atomic int crashing;    /* the first crashing thread's tid, 0 before */
static __thread fl_crash_ctx *current;
static __thread void *alt_stack;

static fl_crash_report_fn reporter;
static int report_pipe[2] = {-1, -1}, ack_pipe[2] = {-1, -1};
static struct {
    void *cookie;
    char summary[1024];
} report_slot;

/* ---- async-signal-safe formatting -------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s)
{
    while (s && *s && b->len + 1 < b->cap)
        b->p[b->len++] = *s++;
    b->p[b->len] = 0;
}

static void put_u(sbuf *b, uint64_t v, int base, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % (uint64_t)base];
        v /= (uint64_t)base;
    } while (v && n < (int)sizeof tmp);
    while (n < width && n < (int)sizeof tmp)
        tmp[n++] = '0';
    while (n > 0 && b->len + 1 < b->cap)
        b->p[b->len++] = tmp[--n];
    b->p[b->len] = 0;
}

static void put_i(sbuf *b, int64_t v)
{
    if (v < 0) {
        put(b, "-");
        put_u(b, (uint64_t)(-(v + 1)) + 1, 10, 0);
    } else {
        put_u(b, (uint64_t)v, 10, 0);
    }
}

static void put_hex(sbuf *b, uintptr_t v)
{
    put(b, "0x");
    put_u(b, v, 16, 0);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (fd >= 0 && n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
    }
}

/* "2026-12-03 13:08:21,123" in local time, as log.c writes it, without localtime(3). */
static void put_time(sbuf *b)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t t = (int64_t)ts.tv_sec + gmt_offset_s;
    int64_t days = t / 86400, secs = t % 86400;
    /* civil from days (Howard Hinnant's algorithm) */
    days += 719468;
    int64_t era = days / 146097, doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    put_u(b, (uint64_t)y, 10, 4);
    put(b, "-");
    put_u(b, (uint64_t)m, 10, 2);
    put(b, "-");
    put_u(b, (uint64_t)d, 10, 2);
    put(b, " ");
    put_u(b, (uint64_t)(secs / 3600), 10, 2);
    put(b, ":");
    put_u(b, (uint64_t)(secs / 60 % 60), 10, 2);
    put(b, ":");
    put_u(b, (uint64_t)(secs % 60), 10, 2);
    put(b, ",");
    put_u(b, (uint64_t)(ts.tv_nsec / 1000000), 10, 3);
}

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "?";
}

/* ---- symbols ----------------------------------------------------------------------- */

/* "module:symbol+0xoff" for pc (module the bundle's user name when pc is in it); the
 * symbol, when found, in *sym. */
static void put_frame(sbuf *b, const fl_crash_ctx *ctx, uintptr_t pc, const char **sym)
{
    Dl_info di;
    *sym = NULL;
    if (!dladdr((void *)pc, &di) || !di.dli_fname) {
        put_hex(b, pc);
        return;
    }
    bool in_bundle = ctx && ctx->bundle_base && di.dli_fbase == ctx->bundle_base;
    put(b, in_bundle && ctx->bundle_name ? base_name(ctx->bundle_name) : base_name(di.dli_fname));
    put(b, ":");
    if (di.dli_sname) {
        put(b, di.dli_sname);
        put(b, "+");
        put_hex(b, pc - (uintptr_t)di.dli_saddr);
        *sym = di.dli_sname;
    } else {
        put_hex(b, pc - (uintptr_t)di.dli_fbase);
    }
}

static bool in_bundle(const fl_crash_ctx *ctx, uintptr_t pc)
{
    Dl_info di;
    return ctx && ctx->bundle_base && dladdr((void *)pc, &di) && di.dli_fbase == ctx->bundle_base;
}

static int op_of_symbol(const fl_crash_ctx *ctx, const char *sym)
{
    for (int i = 0; ctx && sym && i < ctx->nfns; i++)
        if (ctx->fns[i].symbol && strcmp(ctx->fns[i].symbol, sym) == 0)
            return ctx->fns[i].op;
    return -1;
}

static uintptr_t fault_pc(const void *uc_)
{
    const ucontext_t *uc = uc_;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

/* ---- the handler ------------------------------------------------------------------- */

static char report_buf[32 * 1024];
static char summary_buf[1024];

static void report_to_reporter(void *cookie)
{
    if (!reporter || report_pipe[1] < 0)
        return;
    report_slot.cookie = cookie;
    memcpy(report_slot.summary, summary_buf, sizeof report_slot.summary);
    char one = 1;
    write_all(report_pipe[1], &one, 1);
    struct pollfd pfd = {ack_pipe[0], POLLIN, 0};
    if (poll(&pfd, 1, 2000) > 0) {
        /* the RPC thread writes the message out after the reporter handed it over */
        struct timespec pause = {0, 300 * 1000000};
        nanosleep(&pause, NULL);
    }
}

static void on_crash(int sig, siginfo_t *info, void *uc)
{
    int saved = errno;
    int tid = (int)syscall(SYS_gettid), none = 0;
    if (!atomic_compare_exchange_strong(&crashing, &none, tid)) {
        /* another thread is reporting: let it finish, then die of the default action */
        if (none != tid) {
            struct timespec wait = {5, 0};
            nanosleep(&wait, NULL);
        }
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    fl_crash_ctx *ctx = current;
    void *frames[MAX_FRAMES];
    int n = backtrace(frames, MAX_FRAMES);
    uintptr_t pc = fault_pc(uc);
    /* the frames below the handler start at the faulting pc */
    int first = 0;
    for (int i = 0; i < n; i++)
        if ((uintptr_t)frames[i] == pc) {
            first = i;
            break;
        }
    /* where: the first frame in the bundle, else the faulting one */
    int where = first;
    for (int i = first; i < n; i++)
        if (in_bundle(ctx, (uintptr_t)frames[i] - (i > first))) {
            where = i;
            break;
        }
    /* which operator: the first frame that is one of the chain's user functions */
    int op = ctx ? ctx->op : -1;
    for (int i = first; i < n && ctx; i++) {
        Dl_info di;
        uintptr_t a = (uintptr_t)frames[i] - (i > first);
        if (dladdr((void *)a, &di) && di.dli_sname) {
            int o = op_of_symbol(ctx, di.dli_sname);
            if (o >= 0) {
                op = o;
                break;
            }
        }
    }

    /* the summary */
    sbuf s = {summary_buf, 0, sizeof summary_buf};
    if (crash_mode == FL_CRASH_EXIT) {
        put(&s, summary_prefix[0] ? summary_prefix : identity);
        put(&s, " crashed: ");
        put(&s, signal_name(sig));
    } else {
        put(&s, identity);
        put(&s, " crashed: ");
        put(&s, signal_name(sig));
        put(&s, " at ");
        put_hex(&s, (uintptr_t)info->si_addr);
    }
    put(&s, " in ");
    const char *sym;
    if (n > 0)
        put_frame(&s, ctx, (uintptr_t)frames[where] - (where > first), &sym);
    else
        put_hex(&s, pc);
    if (ctx && ctx->task_name) {
        if (op >= 0 && op < ctx->nops) {
            put(&s, " (operator '");
            put(&s, ctx->op_names[op]);
            put(&s, "', subtask ");
        } else {
            put(&s, " (task '");
            put(&s, ctx->task_name);
            put(&s, "', subtask ");
        }
        put_i(&s, ctx->subtask + 1);
        put(&s, "/");
        put_i(&s, ctx->parallelism);
        put(&s, ")");
    }

    /* the report */
    sbuf r = {report_buf, 0, sizeof report_buf};
    put(&r, summary_buf);
    put(&r, "\n\n");
    put(&r, "signal:    ");
    put(&r, signal_name(sig));
    put(&r, " (");
    put_i(&r, sig);
    put(&r, "), code ");
    put_i(&r, info->si_code);
    put(&r, ", address ");
    put_hex(&r, (uintptr_t)info->si_addr);
    put(&r, ", instruction ");
    put_hex(&r, pc);
    put(&r, "\nprocess:   ");
    put(&r, identity);
    put(&r, ", pid ");
    put_i(&r, getpid());
    put(&r, "\nthread:    ");
    put(&r, fl_log_thread_name());
    put(&r, " (tid ");
    put_i(&r, tid);
    put(&r, ")\n");
    if (ctx && ctx->task_name) {
        put(&r, "task:      ");
        put(&r, ctx->task_name);
        put(&r, ", attempt ");
        put_i(&r, ctx->attempt);
        put(&r, "\njob:       ");
        put(&r, ctx->job_name ? ctx->job_name : "?");
        put(&r, " (");
        put(&r, ctx->job_id ? ctx->job_id : "?");
        put(&r, ")\noperator:  ");
        put(&r, op >= 0 && op < ctx->nops ? ctx->op_names[op] : "(none of the chain's user "
                                                                 "functions is on the stack)");
        put(&r, "\nbundle:    ");
        put(&r, ctx->bundle_name ? ctx->bundle_name : "?");
        put(&r, "\n");
    }
    put(&r, "backtrace:\n");
    for (int i = first; i < n; i++) {
        put(&r, "  #");
        put_i(&r, i - first);
        put(&r, " ");
        put_frame(&r, ctx, (uintptr_t)frames[i] - (i > first), &sym);
        put(&r, " [");
        put_hex(&r, (uintptr_t)frames[i]);
        put(&r, "]\n");
    }

    if (crash_mode == FL_CRASH_EXIT) {
        write_all(STDERR_FILENO, report_buf, r.len);
        _exit(1);
    }

    /* the log: one line, as log.c writes them */
    char line[1400];
    sbuf l = {line, 0, sizeof line};
    put_time(&l);
    put(&l, " ERROR [");
    put(&l, fl_log_thread_name());
    put(&l, "] ");
    put(&l, summary_buf);
    char file[1600] = "";
    sbuf f = {file, 0, sizeof file};
    if (crash_dir[0]) {
        put(&f, crash_dir);
        put(&f, "/");
        put(&f, crash_base);
        put(&f, "-crash-");
        put_i(&f, getpid());
        put(&f, ".txt");
        put(&l, "; crash report in ");
        put(&l, file);
    }
    put(&l, "\n");
    write_all(fl_log_fd(), line, l.len);
    if (fl_log_fd() != STDERR_FILENO)
        write_all(STDERR_FILENO, report_buf, r.len);
    if (file[0]) {
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        write_all(fd, report_buf, r.len);
        if (fd >= 0)
            close(fd);
    }
    if (ctx && ctx->cookie)
        report_to_reporter(ctx->cookie);

    /* the default action: a fault happens again at once on return; a sent signal
     * (abort(3), kill) is sent again */
    signal(sig, SIG_DFL);
    errno = saved;
    if (info->si_code <= 0 || sig == SIGABRT)
        raise(sig);
}

/* ---- set-up ------------------------------------------------------------------------ */

void fl_crash_thread_init(void)
{
    if (alt_stack)
        return;
    alt_stack = malloc(ALT_STACK_SIZE);
    if (!alt_stack)
        return;
    stack_t ss = {.ss_sp = alt_stack, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) < 0) {
        free(alt_stack);
        alt_stack = NULL;
    }
}

void fl_crash_thread_exit(void)
{
    if (!alt_stack)
        return;
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(alt_stack);
    alt_stack = NULL;
}

static void set_paths(void)
{
    const char *log = getenv("FLINT_LOG_FILE");
    const char *dir = getenv("FLINT_LOG_DIR");
    crash_dir[0] = 0;
    if (log && *log && strlen(log) < sizeof crash_dir) {
        const char *slash = strrchr(log, '/');
        if (slash)
            snprintf(crash_dir, sizeof crash_dir, "%.*s", (int)(slash - log), log);
        else
            snprintf(crash_dir, sizeof crash_dir, ".");
        const char *name = slash ? slash + 1 : log;
        size_t len = strlen(name);
        if (len > 4 && strcmp(name + len - 4, ".log") == 0)
            len -= 4;
        snprintf(crash_base, sizeof crash_base, "%.*s", (int)(len < 400 ? len : 400), name);
    } else if (dir && *dir && strlen(dir) < sizeof crash_dir) {
        snprintf(crash_dir, sizeof crash_dir, "%s", dir);
        snprintf(crash_base, sizeof crash_base, "flint");
    }
}

void fl_crash_install(const char *what, enum fl_crash_mode mode)
{
    crash_mode = mode;
    fl_crash_set_identity(what);
    set_paths();
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        gmt_offset_s = tm.tm_gmtoff;
    /* backtrace(3) loads libgcc_s on first use, which allocates: not in the handler */
    void *warm[2];
    backtrace(warm, 2);
    fl_crash_thread_init();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        sigaction(crash_signals[i], &sa, NULL);
    installed = true;
}

bool fl_crash_installed(void)
{
    return installed;
}

void fl_crash_uninstall(void)
{
    installed = false;
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        signal(crash_signals[i], SIG_DFL);
}

void fl_crash_set_identity(const char *what)
{
    snprintf(identity, sizeof identity, "%s", what);
}

void fl_crash_set_summary_prefix(const char *prefix)
{
    snprintf(summary_prefix, sizeof summary_prefix, "%s", prefix);
}

void fl_crash_set_context(fl_crash_ctx *ctx)
{
    current = ctx;
}

fl_crash_ctx *fl_crash_context(void)
{
    return current;
}

static void *reporter_main(void *arg)
{
    char one;
    fl_log_set_thread_name("crash-reporter");
    for (;;) {
        ssize_t r = read(report_pipe[0], &one, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        report_slot.summary[sizeof report_slot.summary - 1] = 0;
        reporter(report_slot.cookie, report_slot.summary);
        write_all(ack_pipe[1], &one, 1);
    }
}

void fl_crash_set_reporter(fl_crash_report_fn fn)
{
    if (reporter || pipe2(report_pipe, O_CLOEXEC) < 0)
        return;
    if (pipe2(ack_pipe, O_CLOEXEC) < 0)
        return;
    reporter = fn;
    pthread_t th;
    sigset_t all, old;
    sigfillset(&all);
    /* the crash signals stay deliverable (a crash of the reporter is reported too) */
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        sigdelset(&all, crash_signals[i]);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&th, NULL, reporter_main, NULL) == 0)
        pthread_detach(th);
    else
        reporter = NULL;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void fl_crash_file_path(int pid, char *out, size_t len)
{
    if (!crash_dir[0])
        set_paths();
    if (!crash_dir[0]) {
        if (len)
            out[0] = 0;
        return;
    }
    snprintf(out, len, "%s/%s-crash-%d.txt", crash_dir, crash_base, pid);
}

int fl_crash_read_summary(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int rc = fgets(out, (int)len, f) ? 0 : -1;
    fclose(f);
    if (rc == 0)
        out[strcspn(out, "\n")] = 0;
    return rc == 0 && out[0] ? 0 : -1;
}
