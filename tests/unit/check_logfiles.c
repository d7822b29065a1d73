/* check_logfiles.c -- unit tests of common/logfiles.c, the log directory as GET
 * /jobmanager/logs and /taskmanagers/:tmid/logs list and read it: exactly its regular
 * files (no symlink, no dot file, no directory), a file's last max bytes with the bytes
 * before them counted, and every name that could leave the directory refused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/logfiles.h"
#include "testutil.h"

static char dir[256], logdir[300], outside[300];

static void make_tree(void)
{
    char p[512];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(logdir, sizeof logdir, "%s/log", dir);
    snprintf(outside, sizeof outside, "%s/secret.txt", dir);
    ck_assert_int_eq(mkdir(logdir, 0700), 0);
    tu_write_file(outside, "secret");
    snprintf(p, sizeof p, "%s/b.log", logdir);
    tu_write_file(p, "0123456789");
    snprintf(p, sizeof p, "%s/a.out", logdir);
    tu_write_file(p, "");
    snprintf(p, sizeof p, "%s/.hidden", logdir);
    tu_write_file(p, "h");
    snprintf(p, sizeof p, "%s/sub", logdir);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/link.log", logdir);
    ck_assert_int_eq(symlink(outside, p), 0);
    snprintf(p, sizeof p, "%s/flint-x-taskmanager-0-h.log", logdir);
    setenv("FLINT_LOG_FILE", p, 1);
}

static void drop_tree(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    unsetenv("FLINT_LOG_FILE");
}

START_TEST(test_list)
{
    make_tree();
    ck_assert_str_eq(fl_logfiles_dir(), logdir);
    fl_logfile *f = NULL;
    int n = fl_logfiles_list(&f);
    ck_assert_int_eq(n, 2); /* not .hidden, sub, link.log; the daemon's own log not created */
    ck_assert_str_eq(f[0].name, "a.out");
    ck_assert_int_eq(f[0].size, 0);
    ck_assert_str_eq(f[1].name, "b.log");
    ck_assert_int_eq(f[1].size, 10);
    free(f);
    unsetenv("FLINT_LOG_FILE"); /* a console daemon has no directory */
    ck_assert_str_eq(fl_logfiles_dir(), "");
    ck_assert_int_eq(fl_logfiles_list(&f), 0);
    drop_tree();
}
END_TEST

START_TEST(test_read_tail)
{
    make_tree();
    uint8_t *data;
    size_t len;
    uint64_t off, size;
    fl_err err;
    ck_assert_int_eq(fl_logfiles_read("b.log", 4, &data, &len, &off, &size, &err), 0);
    ck_assert_int_eq(len, 4);
    ck_assert_int_eq(off, 6);
    ck_assert_int_eq(size, 10);
    ck_assert(memcmp(data, "6789", 4) == 0);
    free(data);
    ck_assert_int_eq(fl_logfiles_read("b.log", 100, &data, &len, &off, &size, &err), 0);
    ck_assert_int_eq(len, 10);
    ck_assert_int_eq(off, 0);
    ck_assert(memcmp(data, "0123456789", 10) == 0);
    free(data);
    ck_assert_int_eq(fl_logfiles_read("a.out", 100, &data, &len, &off, &size, &err), 0);
    ck_assert_int_eq(len, 0);
    free(data);
    drop_tree();
}
END_TEST

START_TEST(test_refused)
{
    make_tree();
    static const char *bad[] = {"..", "../secret.txt", "%2e%2e", "%2e%2e%2fsecret.txt", "/etc/passwd",
                                ".hidden", "sub/x", "a\\b", "", "x y", "sub/../b.log"};
    static const char *missing[] = {"link.log", "sub", "nope.log"};
    uint8_t *data;
    size_t len;
    uint64_t off, size;
    fl_err err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(fl_logfiles_read(bad[i], 100, &data, &len, &off, &size, &err) == 400,
                      "'%s' should be refused as a name", bad[i]);
        ck_assert_ptr_null(data);
    }
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        ck_assert_msg(fl_logfiles_read(missing[i], 100, &data, &len, &off, &size, &err) == 404,
                      "'%s' should not be served", missing[i]);
        ck_assert_ptr_null(data);
    }
    drop_tree();
}
END_TEST

static Suite *logfiles_suite(void)
{
    Suite *s = suite_create("logfiles");
    TCase *tc = tcase_create("dir");
    tcase_add_test(tc, test_list);
    tcase_add_test(tc, test_read_tail);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(logfiles_suite());
}
