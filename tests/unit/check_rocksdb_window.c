/* check_rocksdb_window.c -- unit tests of the RocksDB backend's listing window
 * (taskmanager/state/rocksdb_snapshot.c): a snapshot's part 1 only switches the memtables
 * and its files are listed later, by part 2 or by the task thread when its writes fill the
 * window; whatever is written between the two, on which thread and in which order the
 * parts run, a restored snapshot holds exactly the writes before its part 1. Expected
 * values are computed from the versions the test wrote (rocksdb_util.h), never read back
 * from the backend under test. */
#include "common/log.h"
#include "rocksdb_util.h"

#include <pthread.h>

/* ---- the listing window: part 1 only switches the memtables, part 2 lists the files ---- */

/* Checks keys [0, n) after fill() of versions 1..ver in turn: the values of version ver,
 * lists of ver elements. */
static void verify_fills(fl_kbackend *b, uint32_t n, uint32_t ver)
{
    fl_kstate *vs = fl_kstate_get_or_create(b, "v"), *ls = fl_kstate_get_or_create(b, "l");
    char k[32], v[256], list[2048], what[64];
    for (uint32_t i = 0; i < n; i++) {
        fl_kbackend_set_key(b, k, key_of(i, k));
        snprintf(what, sizeof what, "key %u, version %u", i, ver);
        expect_value(b, vs, NULL, 0, v, value_of(i, ver, v), what);
        expect_value(b, vs, "ns", 2, v, value_of(i + 1, ver, v), what);
        if (i % 3 == 0) {
            uint32_t vl = value_of(i, 0, v), ll = 0;
            for (uint32_t c = 0; c < ver; c++) {
                memcpy(list + ll, v, vl);
                list[ll + vl] = '|';
                ll += vl + 1;
            }
            expect_value(b, ls, NULL, 0, list, ll, what);
        }
    }
}

/* Restores handle h of base/chk-<id> into a new backend and checks version ver. */
static void expect_restored(const char *base, int64_t id, uint8_t *h, size_t hl, uint32_t n,
                            uint32_t ver)
{
    char chk[400], name[32];
    snprintf(chk, sizeof chk, "%s/chk-%lld", base, (long long)id);
    snprintf(name, sizeof name, "restored-%lld", (long long)id);
    fl_kbackend *r = new_backend(0, MAXP - 1, name);
    fl_err err = {{0}};
    ck_assert_msg(restore(r, chk, &h, &hl, 1, &err) == 0, "%s", err.msg);
    verify_fills(r, n, ver);
    fl_kbackend_free(r);
}

typedef struct writer_arg {
    fl_kbackend *b;
    fl_kb_snapshot *snap;
    uint8_t *h;
    size_t hl;
    fl_err err;
    int rc;
} writer_arg;

static void *run_part2(void *arg)
{
    writer_arg *w = arg;
    w->rc = w->b->ops->snapshot_write(w->snap, &w->h, &w->hl, &w->err);
    return NULL;
}

/* Part 1, then many more writes than a memtable holds before part 2 (on this thread: the
 * window fills and the task thread lists; on another thread, as the I/O thread does, while
 * this one writes): the snapshot holds exactly the writes before part 1. */
START_TEST(test_writes_after_barrier)
{
    char base[300];
    snprintf(base, sizeof base, "%s/chk", tmp);
    const uint32_t n = 6000; /* ~2 MB of writes a version: 8 memtables of 256 kb */
    fl_kbackend *b = new_small_backend("window");
    fill(b, n, 1);
    fl_kb_snapshot *snap = part1(b, base, 1, true, false, "w");
    fill(b, n, 2);
    uint8_t *h1;
    size_t hl1;
    part2(b, snap, &h1, &hl1);

    snap = part1(b, base, 2, true, false, "w");
    writer_arg w = {b, snap, NULL, 0, {{0}}, -1};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, run_part2, &w), 0);
    fill(b, n, 3);
    pthread_join(th, NULL);
    ck_assert_msg(w.rc == 0, "snapshot_write: %s", w.err.msg);
    b->ops->snapshot_free(snap);
    b->ops->notify_complete(b, 2);

    /* two snapshots' part 1 in a row: the second lists the first before switching */
    fl_kb_snapshot *s3 = part1(b, base, 3, true, false, "w");
    fill(b, n, 4);
    fl_kb_snapshot *s4 = part1(b, base, 4, true, false, "w");
    fill(b, n, 5);
    uint8_t *h3, *h4;
    size_t hl3, hl4;
    part2(b, s4, &h4, &hl4); /* out of order, too */
    part2(b, s3, &h3, &hl3);
    fl_kbackend_free(b);

    expect_restored(base, 1, h1, hl1, n, 1);
    expect_restored(base, 2, w.h, w.hl, n, 2);
    expect_restored(base, 3, h3, hl3, n, 3);
    expect_restored(base, 4, h4, hl4, n, 4);
    /* checkpoint 3 came after 2 completed (1 never did): its shared SSTs are its own or 2's */
    Fl__Pb__KeyedStateHandle *k2 = unpack(w.h, w.hl), *k3 = unpack(h3, hl3);
    for (size_t i = 0; i < k3->n_files; i++) {
        const char *p = k3->files[i]->path;
        if (strncmp(p, "../shared/", 10) == 0)
            ck_assert_msg(strstr(p, "-3-") || lists(k2, p), "checkpoint 3 references %s", p);
    }
    fl__pb__keyed_state_handle__free_unpacked(k2, NULL);
    fl__pb__keyed_state_handle__free_unpacked(k3, NULL);
    free(h1);
    free(w.h);
    free(h3);
    free(h4);
}
END_TEST

/* A snapshot whose part 2 comes after the backend is gone fails with a message (the DB it
 * would list is closed); one dropped before part 2 lets the writes go on. */
START_TEST(test_snapshot_outlives_backend)
{
    char base[300];
    snprintf(base, sizeof base, "%s/chk", tmp);
    fl_kbackend *b = new_small_backend("gone");
    fill(b, 2000, 1);
    b->ops->snapshot_free(part1(b, base, 1, true, false, "g")); /* dropped: the window closes */
    fill(b, 6000, 2);
    fl_kb_snapshot *snap = part1(b, base, 2, true, false, "g");
    const fl_kbackend_ops *ops = b->ops;
    fl_kbackend_free(b);
    uint8_t *h = NULL;
    size_t hl = 0;
    fl_err err = {{0}};
    ck_assert_int_eq(ops->snapshot_write(snap, &h, &hl, &err), -1);
    ck_assert_msg(strstr(err.msg, "closed"), "%s", err.msg);
    ops->snapshot_free(snap);
}
END_TEST

static Suite *rocksdb_window_suite(void)
{
    Suite *s = suite_create("rocksdb_window");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_writes_after_barrier);
    tcase_add_test(tc, test_snapshot_outlives_backend);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_OFF);
    return tu_run(rocksdb_window_suite());
}
