/* check_crash.c -- unit tests of common/crash.c, the crash handler. Each test forks a child
 * that installs the handler (as a TaskManager does), publishes a task's context and
 * crashes; the parent checks how the child died (the signal's default action ran after
 * the report) and what the crash file in the log directory says: the summary line names
 * the signal, the faulting address, the function (by symbol: the binary is linked with
 * -rdynamic, as a bundle's functions are exported) and the operator whose function is on
 * the stack, also when the fault is in a helper it called; the report holds the task, the
 * job and the backtrace. A stack overflow is reported too (the alternate stack).
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash.h"
#include "testutil.h"


/* the chain's user functions, global so that dladdr names them */
void cc_source(void);
void cc_my_map(int how);
void cc_helper(int how);
int cc_recurse(int depth);

void cc_source(void) {}

__attribute__((noinline)) int cc_recurse(int depth)
{
    volatile char pad[4096];
    pad[0] = (char)depth;
    if (depth > (1 << 30)) /* never: 4 TB of stack */
        return 0;
    return cc_recurse(depth + 1) + pad[0];
}

/* not instrumented by UBSan (make asan): the null store and the division by zero must fault
 * as they do in a user's bundle, not be reported as undefined behaviour first */
__attribute__((noinline, no_sanitize("undefined"))) void cc_helper(int how)
{
    volatile int zero = 0, hundred = 100;
    volatile int *nowhere = NULL;
    switch (how) {
    case 0: *nowhere = 1; break;
    case 1: printf("%d\n", hundred / zero); break;
    case 2: abort();
    case 3: printf("%d\n", cc_recurse(0)); break;
    }
}

__attribute__((noinline, no_sanitize("undefined"))) void cc_my_map(int how)
{
    if (how == 0) {
        volatile int *nowhere = NULL;
        *nowhere = 1; /* the bug, in the operator's own function */
    }
    cc_helper(how);
    __asm__ volatile("" ::: "memory"); /* not a tail call: cc_my_map stays on the stack */
}

static const char *const op_names[] = {"Source: Numbers", "My Map"};
static const fl_crash_fn fns[] = {{"cc_source", 0}, {"cc_my_map", 1}};

/* Runs cc_my_map(how) (in cc_helper when helper) in a child with the handler installed;
 * returns the signal it died of, the crash file's content in report. */
static int crash_child(int how, bool helper, char *report, size_t len)
{
    char dir[256], log[300];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(log, sizeof log, "%s/flint-test-taskmanager.log", dir);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit none = {0, 0}, stack = {8 << 20, 8 << 20};
        setrlimit(RLIMIT_CORE, &none);
        setrlimit(RLIMIT_STACK, &stack); /* the overflow comes soon, whatever ulimit -s says */
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO); /* the report's copy on stderr */
        setenv("FLINT_LOG_FILE", log, 1);
        fl_crash_install("TaskManager tm-test", FL_CRASH_ABORT);
        fl_crash_ctx ctx = {.job_id = "00112233445566778899aabbccddeeff",
                            .job_name = "Crash Test",
                            .task_name = "Source: Numbers -> My Map (2/3)",
                            .subtask = 1,
                            .parallelism = 3,
                            .attempt = 4,
                            .bundle_name = "check_crash",
                            .op_names = op_names,
                            .nops = 2,
                            .fns = fns,
                            .nfns = 2,
                            .op = -1};
        fl_crash_set_context(&ctx);
        if (helper)
            cc_helper(how);
        else
            cc_my_map(how);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status), "the child did not die of a signal: status %d", status);
    char file[400];
    snprintf(file, sizeof file, "%s/flint-test-taskmanager-crash-%d.txt", dir, (int)pid);
    FILE *f = fopen(file, "r");
    ck_assert_msg(f != NULL, "no crash file %s", file);
    size_t n = fread(report, 1, len - 1, f);
    report[n] = 0;
    fclose(f);
    unlink(file);
    rmdir(dir);
    return WTERMSIG(status);
}

#define HAS(text, what)                                                                      \
    ck_assert_msg(strstr((text), (what)) != NULL, "no '%s' in:\n%s", (what), (text))

START_TEST(test_segv_in_operator)
{
    static char r[32768];
    ck_assert_int_eq(crash_child(0, false, r, sizeof r), SIGSEGV);
    HAS(r, "TaskManager tm-test crashed: SIGSEGV at 0x0 in check_crash:cc_my_map+0x");
    HAS(r, "(operator 'My Map', subtask 2/3)\n");
    HAS(r, "signal:    SIGSEGV (11)");
    HAS(r, "task:      Source: Numbers -> My Map (2/3), attempt 4");
    HAS(r, "job:       Crash Test (00112233445566778899aabbccddeeff)");
    HAS(r, "operator:  My Map");
    HAS(r, "#0 check_crash:cc_my_map+0x");
}
END_TEST

/* the fault is in a helper; the operator is the one whose function called it */
START_TEST(test_fpe_in_helper)
{
    static char r[32768];
    ck_assert_int_eq(crash_child(1, false, r, sizeof r), SIGFPE);
    HAS(r, "crashed: SIGFPE at 0x");
    HAS(r, " in check_crash:cc_helper+0x");
    HAS(r, "(operator 'My Map', subtask 2/3)");
    HAS(r, "#1 check_crash:cc_my_map+0x");
}
END_TEST

/* abort(3): reported, then SIGABRT's default action */
START_TEST(test_abort)
{
    static char r[32768];
    ck_assert_int_eq(crash_child(2, false, r, sizeof r), SIGABRT);
    HAS(r, "crashed: SIGABRT");
    HAS(r, "(operator 'My Map', subtask 2/3)");
}
END_TEST

/* no chain function on the stack: the task is named instead of an operator */
START_TEST(test_no_operator)
{
    static char r[32768];
    ck_assert_int_eq(crash_child(0, true, r, sizeof r), SIGSEGV);
    HAS(r, " in check_crash:cc_helper+0x");
    HAS(r, "(task 'Source: Numbers -> My Map (2/3)', subtask 2/3)");
}
END_TEST

/* a stack overflow: the handler runs on its alternate stack */
START_TEST(test_stack_overflow)
{
    static char r[32768];
    ck_assert_int_eq(crash_child(3, false, r, sizeof r), SIGSEGV);
    HAS(r, "crashed: SIGSEGV at 0x");
    HAS(r, "check_crash:cc_recurse+0x");
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("reports");
    tcase_add_test(tc, test_segv_in_operator);
    tcase_add_test(tc, test_fpe_in_helper);
    tcase_add_test(tc, test_abort);
    tcase_add_test(tc, test_no_operator);
    tcase_add_test(tc, test_stack_overflow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(crash_suite());
}
