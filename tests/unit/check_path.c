/* check_path.c -- unit tests of common/path.c (state handle names, confinement with every
 * symlink resolved, unlinking without following a symlink) and of fl_remove_tree
 * (common/util.c), which must never follow one either.
 *
 * Each file-system test builds its own tree under a fresh temporary directory: a checkpoint
 * directory job/chk-1, its job's shared/, and "outside" files that a hostile handle or a
 * planted symlink points to; after each operation the outside files must still be there.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/path.h"
#include "common/util.h"
#include "testutil.h"

START_TEST(test_handle_names)
{
    static const char *good[] = {"v0-s0-op1.keyed", "a/b/c", "../shared/x-000012.sst",
                                 "../shared/a/b", "...", "a..b", ".hidden", "x."};
    static const char *bad[] = {"", "/etc/passwd", "..", "../x", "../shared/", "../shared/..",
                                "../shared/../../../x", "a/../b", "a/./b", "./a", "a//b",
                                "a/", "../shared//x", "../sharedx/y", "x/..", "../../shared/x",
                                "../shared/./x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(fl_path_is_handle(good[i]), "'%s' should be a handle", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!fl_path_is_handle(bad[i]), "'%s' should not be a handle", bad[i]);
    ck_assert(!fl_path_is_handle(NULL));
    char longname[FL_HANDLE_PATH_MAX + 8];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert(!fl_path_is_handle(longname));
    longname[FL_HANDLE_PATH_MAX - 1] = '\0';
    ck_assert(fl_path_is_handle(longname));
}
END_TEST

/* The tree: T/job/chk-1/{state}, T/job/shared/{sst}, T/outside/{victim}. */
static char T[256];

static void path_of(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", T, rel);
}

static void make_tree(void)
{
    char p[512];
    tu_mkdtemp(T, sizeof T);
    const char *dirs[] = {"job", "job/chk-1", "job/shared", "outside", "outside/dir"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        path_of(p, sizeof p, dirs[i]);
        ck_assert_int_eq(mkdir(p, 0755), 0);
    }
    const char *files[] = {"job/chk-1/state", "job/shared/sst", "outside/victim",
                           "outside/dir/victim"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        path_of(p, sizeof p, files[i]);
        tu_write_file(p, "x");
    }
}

static bool exists(const char *rel)
{
    char p[512];
    struct stat st;
    path_of(p, sizeof p, rel);
    return lstat(p, &st) == 0;
}

static void link_to(const char *target_rel, const char *link_rel)
{
    char t[512], l[512];
    path_of(t, sizeof t, target_rel);
    path_of(l, sizeof l, link_rel);
    ck_assert_int_eq(symlink(t, l), 0);
}

static void drop_tree(void)
{
    ck_assert_int_eq(fl_remove_tree(T), 0);
    ck_assert(!exists(""));
}

START_TEST(test_check_inside)
{
    char root[512], p[512], chk[512];
    fl_err err;
    make_tree();
    path_of(root, sizeof root, "job");
    path_of(chk, sizeof chk, "job/chk-1");
    path_of(p, sizeof p, "job/chk-1/state");
    ck_assert_int_eq(fl_path_check_inside(chk, p, &err), 0);
    path_of(p, sizeof p, "job/chk-1/../shared/sst");
    ck_assert_int_eq(fl_path_check_inside(root, p, &err), 0);
    ck_assert_int_eq(fl_path_check_inside(chk, p, &err), -1); /* not inside chk-1 */
    path_of(p, sizeof p, "job/chk-1/not-written-yet");
    ck_assert_int_eq(fl_path_check_inside(chk, p, &err), 0);
    path_of(p, sizeof p, "job/chk-1/../shared/../../outside/victim");
    ck_assert_int_eq(fl_path_check_inside(root, p, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "outside"));
    ck_assert_int_eq(fl_path_check_inside(chk, chk, &err), -1); /* the root itself */
    /* symlinks out: a file, a directory on the way, the shared directory itself */
    link_to("outside/victim", "job/chk-1/evil");
    path_of(p, sizeof p, "job/chk-1/evil");
    ck_assert_int_eq(fl_path_check_inside(chk, p, &err), -1);
    link_to("outside/dir", "job/chk-1/evildir");
    path_of(p, sizeof p, "job/chk-1/evildir/victim");
    ck_assert_int_eq(fl_path_check_inside(chk, p, &err), -1);
    path_of(p, sizeof p, "job/chk-1/evildir/absent");
    ck_assert_int_eq(fl_path_check_inside(chk, p, &err), -1);
    path_of(p, sizeof p, "job/shared");
    char moved[512];
    path_of(moved, sizeof moved, "job/shared-real");
    ck_assert_int_eq(rename(p, moved), 0);
    link_to("outside", "job/shared");
    path_of(p, sizeof p, "job/chk-1/../shared/victim");
    ck_assert_int_eq(fl_path_check_inside(root, p, &err), -1);
    /* a symlink that stays inside is fine */
    link_to("job/chk-1/state", "job/chk-1/alias");
    path_of(p, sizeof p, "job/chk-1/alias");
    ck_assert_int_eq(fl_path_check_inside(chk, p, &err), 0);
    /* an unresolvable root is an error, not a pass */
    path_of(p, sizeof p, "job/chk-1/state");
    ck_assert_int_eq(fl_path_check_inside("/nonexistent-flint-root", p, &err), -1);
    ck_assert(exists("outside/victim") && exists("outside/dir/victim"));
    drop_tree();
}
END_TEST

START_TEST(test_unlink_below)
{
    char root[512];
    fl_err err;
    make_tree();
    path_of(root, sizeof root, "job");
    ck_assert_int_eq(fl_path_unlink_below(root, "shared/sst", &err), 0);
    ck_assert(!exists("job/shared/sst"));
    ck_assert_int_eq(fl_path_unlink_below(root, "shared/sst", &err), 0); /* gone: fine */
    /* a symlinked directory on the way is not entered */
    link_to("outside/dir", "job/shared/evildir");
    ck_assert_int_eq(fl_path_unlink_below(root, "shared/evildir/victim", &err), -1);
    ck_assert(exists("outside/dir/victim"));
    /* a symlink as the last name is removed itself, not its target */
    link_to("outside/victim", "job/shared/evil");
    ck_assert_int_eq(fl_path_unlink_below(root, "shared/evil", &err), 0);
    ck_assert(!exists("job/shared/evil"));
    ck_assert(exists("outside/victim"));
    /* names with .. or absolute ones are refused before anything is opened */
    ck_assert_int_eq(fl_path_unlink_below(root, "../outside/victim", &err), -1);
    ck_assert_int_eq(fl_path_unlink_below(root, "shared/../../outside/victim", &err), -1);
    ck_assert_int_eq(fl_path_unlink_below(root, "/etc/passwd", &err), -1);
    ck_assert(exists("outside/victim"));
    drop_tree();
}
END_TEST

START_TEST(test_remove_tree_nofollow)
{
    char p[512];
    make_tree();
    link_to("outside", "job/chk-1/to-outside");
    link_to("outside/victim", "job/chk-1/to-victim");
    path_of(p, sizeof p, "job/chk-1/deep/er/still");
    fl_err err;
    ck_assert_int_eq(fl_mkdirs(p, &err), 0);
    link_to("outside/dir", "job/chk-1/deep/er/still/link");
    path_of(p, sizeof p, "job");
    ck_assert_int_eq(fl_remove_tree(p), 0);
    ck_assert(!exists("job"));
    ck_assert(exists("outside/victim") && exists("outside/dir/victim"));
    /* path itself a symlink: the link goes, the directory stays */
    link_to("outside", "alias");
    path_of(p, sizeof p, "alias");
    ck_assert_int_eq(fl_remove_tree(p), 0);
    ck_assert(!exists("alias"));
    ck_assert(exists("outside/victim"));
    /* missing: fine; "/" and "..": refused */
    ck_assert_int_eq(fl_remove_tree(p), 0);
    ck_assert_int_eq(fl_remove_tree("/"), -1);
    ck_assert_int_eq(fl_remove_tree(".."), -1);
    drop_tree();
}
END_TEST

static Suite *path_suite(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, test_handle_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_check_inside);
    tcase_add_test(tc, test_unlink_below);
    tcase_add_test(tc, test_remove_tree_nofollow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(path_suite());
}
