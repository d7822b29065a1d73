/* check_ha.c -- unit tests of jobmanager/ha/: the payload files (ha_file.c), leader terms,
 * the configuration the HA services refuse, and, against a real ZooKeeper server
 * (testzk.h), the stores and their fencing: the job graph store, the checkpoint store and
 * id counter, the job result store, recovery and the removal of what no pointer names.
 *
 * The store calls are the "ha" thread's; here the test's thread makes them, on an fl_ha
 * whose ZooKeeper client the test opens itself (no election runs). A term's latch node is
 * an ephemeral node the test creates and deletes: deleting it is a deposed leader.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fs.h"
#include "common/sha256.h"
#include "common/util.h"
#include "common/zk.h"
#include "jobmanager/ha/ha_internal.h"
#include "testutil.h"
#include "testzk.h"

/* ---- files and terms ------------------------------------------------------------------ */

static int count_entry(void *arg, const char *name, bool is_dir, uint64_t size)
{
    ++*(int *)arg;
    return 0;
}

START_TEST(test_payload_files)
{
    char dir[256], path[400];
    fl_err err;
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/r.result", dir);
    Fl__Pb__JobResult r = FL__PB__JOB_RESULT__INIT;
    r.job_id = "0123456789abcdef0123456789abcdef";
    r.name = "a job";
    r.state = "FINISHED";
    r.end_ms = 42;
    ck_assert_int_eq(fl_ha_file_write(path, MAGIC_RESULT, &r.base, &err), 0);
    Fl__Pb__JobResult *back = (Fl__Pb__JobResult *)fl_ha_file_read(
        path, MAGIC_RESULT, &fl__pb__job_result__descriptor, &err);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back->name, "a job");
    ck_assert_int_eq(back->end_ms, 42);
    fl__pb__job_result__free_unpacked(back, NULL);
    /* another kind of file, a damaged one, a truncated one, none: each named */
    ck_assert_ptr_null(fl_ha_file_read(path, MAGIC_JOBGRAPH, &fl__pb__job_result__descriptor,
                                       &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "bad magic"));
    char *data;
    size_t len;
    ck_assert_int_eq(fl_read_file(path, &data, &len, &err), 0);
    data[len - 1] ^= 0x55;
    ck_assert_int_eq(fl_write_file(path, data, len, false, &err), 0);
    ck_assert_ptr_null(fl_ha_file_read(path, MAGIC_RESULT, &fl__pb__job_result__descriptor, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "damaged"));
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_int_eq(fl_write_file(path, data, 5, false, &err), 0);
    ck_assert_ptr_null(fl_ha_file_read(path, MAGIC_RESULT, &fl__pb__job_result__descriptor, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
    free(data);
    unlink(path);
    ck_assert_ptr_null(fl_ha_file_read(path, MAGIC_RESULT, &fl__pb__job_result__descriptor, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    /* the files go through common/fs.h: no temporary file is left behind */
    ck_assert_int_eq(fl_ha_file_write(path, MAGIC_RESULT, &r.base, &err), 0);
    int nfiles = 0;
    ck_assert_int_eq(fl_fs_list(dir, false, count_entry, &nfiles, &err), 0);
    ck_assert_int_eq(nfiles, 1);
    ck_assert_int_eq(fl_remove_tree(dir), 0);
}
END_TEST

START_TEST(test_terms)
{
    fl_leader_term *a = fl_leader_term_new("/leader/latch/x-0000000001");
    fl_leader_term *b = fl_leader_term_new("");
    const char *s = fl_leader_term_session(a);
    ck_assert_int_eq(strlen(s), FL_SESSION_ID_LEN);
    ck_assert_int_eq(strspn(s, "0123456789abcdef"), FL_SESSION_ID_LEN);
    ck_assert_str_ne(s, fl_leader_term_session(b)); /* fresh per leadership */
    ck_assert_str_eq(fl_leader_term_latch(a), "/leader/latch/x-0000000001");
    ck_assert(fl_leader_term_is_active(a));
    fl_leader_term_set_state(a, FL_TERM_SUSPENDED);
    ck_assert(!fl_leader_term_is_active(a));
    fl_leader_term *r = fl_leader_term_ref(a);
    fl_leader_term_unref(a);
    ck_assert_int_eq(fl_leader_term_state(r), FL_TERM_SUSPENDED); /* still there */
    fl_leader_term_unref(r);
    fl_leader_term_unref(b);
    fl_leader_term_unref(NULL);
}
END_TEST

START_TEST(test_config_refused)
{
    fl_err err;
    fl_conf *c = fl_conf_new();
    ck_assert_int_eq(fl_conf_load_string(c, "high-availability.type: zookeeper\n"
                                            "high-availability.zookeeper.quorum: h:1\n",
                                         "t", &err), 0);
    ck_assert_ptr_null(fl_ha_new(c, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "high-availability.storageDir is not set"));
    ck_assert_int_eq(fl_conf_set(c, "high-availability.storageDir", "relative/dir", &err), 0);
    ck_assert_ptr_null(fl_ha_new(c, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "not an absolute path"));
    ck_assert_int_eq(fl_conf_set(c, "high-availability.storageDir", "hdfs://nn:8020/ha", &err),
                     0);
    ck_assert_ptr_null(fl_ha_new(c, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "Could not find a file system implementation"));
    ck_assert_int_eq(fl_conf_set(c, "high-availability.storageDir", "s3://", &err), 0);
    ck_assert_ptr_null(fl_ha_new(c, &err));
    ck_assert_msg(strstr(err.msg, "high-availability.storageDir") &&
                      strstr(err.msg, "not an S3 bucket name"), "%s", err.msg);
    fl_conf_free(c);
}
END_TEST

/* ---- the stores, on a real server -------------------------------------------------------- */

static char store_dir[256];

/* An fl_ha on the test's server, in a cluster of its own, with its client connected. */
static fl_ha *ha_open(const char *cluster, int max_results)
{
    fl_err err;
    char text[1200];
    tu_mkdtemp(store_dir, sizeof store_dir);
    snprintf(text, sizeof text,
             "high-availability.type: zookeeper\n"
             "high-availability.zookeeper.quorum: 127.0.0.1:%d\n"
             "high-availability.storageDir: file://%s\n"
             "high-availability.cluster-id: %s\n"
             "jobstore.max-capacity: %d\n",
             tz_port, store_dir, cluster, max_results);
    fl_conf *c = fl_conf_new();
    ck_assert_int_eq(fl_conf_load_string(c, text, "t", &err), 0);
    fl_ha *ha = fl_ha_new(c, &err);
    ck_assert_msg(ha != NULL, "%s", err.msg);
    ha->conf = NULL; /* c is freed below; the stores read nothing more from it */
    fl_conf_free(c);
    ck_assert_msg(tz_port_open(tz_port), "no ZooKeeper server runs (java and the Debian "
                                         "zookeeper package are needed: make deps)");
    ha->zk = fl_zk_new(&ha->zc, NULL, &err);
    ck_assert_ptr_nonnull(ha->zk);
    ck_assert_msg(fl_zk_wait_connected(ha->zk, 45000, &err) == 0, "%s", err.msg);
    static const char *paths[] = {FL_LEADER_LATCH, ZK_JOBGRAPHS, ZK_CHECKPOINTS, ZK_COUNTERS,
                                  ZK_RESULTS};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        ck_assert_int_eq(fl_zk_mkdirs(ha->zk, paths[i], &err), 0);
    return ha;
}

static void ha_close(fl_ha *ha)
{
    fl_ha_free(ha);
    fl_remove_tree(store_dir);
}

/* A term whose latch node exists (a leader's). */
static fl_leader_term *lead(fl_ha *ha)
{
    char created[300];
    fl_err err;
    ck_assert_int_eq(fl_zk_create(ha->zk, FL_LEADER_LATCH "/latch-t-", NULL, 0,
                                  FL_ZK_EPHEMERAL | FL_ZK_SEQUENTIAL, created, sizeof created,
                                  &err), 0);
    return fl_leader_term_new(created);
}

static void depose(fl_ha *ha, fl_leader_term *t)
{
    fl_err err;
    ck_assert_int_eq(fl_zk_delete(ha->zk, fl_leader_term_latch(t), -1, &err), 0);
}

/* A minimal graph of job `id` with a bundle of `bundle`. */
static Fl__Pb__JobGraph *graph(const char *id, const char *bundle)
{
    Fl__Pb__JobGraph *g = fl_xmalloc(sizeof *g);
    fl__pb__job_graph__init(g);
    g->job_id = fl_xstrdup(id);
    g->name = fl_xstrdup("graph");
    g->bundle_sha256.data = fl_xmalloc(32);
    g->bundle_sha256.len = 32;
    fl_sha256((const uint8_t *)bundle, strlen(bundle), g->bundle_sha256.data);
    return g;
}

#define JOB_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define JOB_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

START_TEST(test_fencing)
{
    fl_ha *ha = ha_open("fencing", 10);
    fl_err err;
    int64_t id;
    fl_leader_term *a = lead(ha);
    ck_assert_int_eq(fl_cks_next_id(ha, a, JOB_A, 1, &id, &err), 0);
    ck_assert_int_eq(id, 1);
    ck_assert_int_eq(fl_cks_next_id(ha, a, JOB_A, 1, &id, &err), 0);
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(fl_cks_next_id(ha, a, JOB_A, 10, &id, &err), 0); /* a floor raises it */
    ck_assert_int_eq(id, 10);
    Fl__Pb__JobGraph *g = graph(JOB_B, "bundle");
    /* deposed: its latch node is gone, so none of its writes takes effect */
    depose(ha, a);
    ck_assert_int_eq(fl_cks_next_id(ha, a, JOB_A, 1, &id, &err), FL_ZK_NONODE);
    ck_assert_msg(strstr(err.msg, "no longer leads"), "%s", err.msg);
    ck_assert_int_eq(fl_cks_record(ha, a, JOB_A, 11, "/ck/chk-11", false, NULL, 0, &err),
                     FL_ZK_NONODE);
    ck_assert_int_eq(fl_ha_store_job(ha, a, g, (const uint8_t *)"bundle", 6, 1, &err),
                     FL_ZK_NONODE);
    fl_ha_checkpoint *ck;
    int n;
    ck_assert_int_eq(fl_cks_list(ha, JOB_A, &ck, &n, &err), 0);
    ck_assert_int_eq(n, 0);
    free(ck);
    ck_assert_int_eq(fl_zk_exists(ha->zk, ZK_JOBGRAPHS "/" JOB_B, false, NULL, NULL, &err),
                     FL_ZK_NONODE);
    char gfile[600];
    snprintf(gfile, sizeof gfile, "%s/" DIR_JOBGRAPHS "/" JOB_B ".jobgraph", fl_ha_storage(ha));
    ck_assert_int_eq(access(gfile, F_OK), -1); /* certainly not recorded: its file went */
    /* the next leader's ids go on above every id the deposed one ever got */
    fl_leader_term *b = lead(ha);
    ck_assert_int_eq(fl_cks_next_id(ha, b, JOB_A, 1, &id, &err), 0);
    ck_assert_int_eq(id, 11);
    /* a suspended term is refused before ZooKeeper is asked */
    fl_leader_term_set_state(b, FL_TERM_SUSPENDED);
    ck_assert_int_eq(fl_ha_store_job(ha, b, g, (const uint8_t *)"bundle", 6, 1, &err),
                     FL_ZK_CONNLOSS);
    fl__pb__job_graph__free_unpacked(g, NULL);
    fl_leader_term_unref(a);
    fl_leader_term_unref(b);
    ha_close(ha);
}
END_TEST

START_TEST(test_checkpoints)
{
    fl_ha *ha = ha_open("checkpoints", 10);
    fl_err err;
    fl_leader_term *t = lead(ha);
    int64_t drop1 = 1, drop2 = 2;
    ck_assert_int_eq(fl_cks_record(ha, t, JOB_A, 1, "/ck/chk-1", false, NULL, 0, &err), 0);
    ck_assert_int_eq(fl_cks_record(ha, t, JOB_A, 2, "/ck/chk-2", false, NULL, 0, &err), 0);
    ck_assert_int_eq(fl_cks_record(ha, t, JOB_A, 3, "/ck/chk-3", false, &drop1, 1, &err), 0);
    ck_assert_int_eq(fl_cks_record(ha, t, JOB_A, 4, "/ck/chk-4", false, &drop2, 1, &err), 0);
    /* a retry after a lost connection finds its own work done */
    ck_assert_int_eq(fl_cks_record(ha, t, JOB_A, 4, "/ck/chk-4", false, &drop2, 1, &err), 0);
    /* a savepoint only confirms the leadership */
    ck_assert_int_eq(fl_cks_record(ha, t, JOB_A, 5, "/sp/savepoint-x", true, NULL, 0, &err), 0);
    fl_ha_checkpoint *ck;
    int n;
    ck_assert_int_eq(fl_cks_list(ha, JOB_A, &ck, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(ck[0].id, 3); /* oldest first */
    ck_assert_str_eq(ck[0].dir, "/ck/chk-3");
    ck_assert_int_eq(ck[1].id, 4);
    free(ck);
    /* a pointer that names no directory is ignored with a warning, not trusted */
    ck_assert_int_eq(fl_zk_create(ha->zk, ZK_CHECKPOINTS "/" JOB_A "/0000000000000000009",
                                  "relative", 8, 0, NULL, 0, &err), 0);
    ck_assert_int_eq(fl_zk_create(ha->zk, ZK_CHECKPOINTS "/" JOB_A "/junk", "/x", 2, 0, NULL, 0,
                                  &err), 0);
    ck_assert_int_eq(fl_cks_list(ha, JOB_A, &ck, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    free(ck);
    fl_leader_term_unref(t);
    ha_close(ha);
}
END_TEST

START_TEST(test_jobs_and_results)
{
    fl_ha *ha = ha_open("jobs", 1);
    fl_err err;
    fl_leader_term *t = lead(ha);
    Fl__Pb__JobGraph *g = graph(JOB_A, "bundle-a");
    ck_assert_int_eq(fl_ha_store_job(ha, t, g, (const uint8_t *)"bundle-a", 8, 77, &err), 0);
    ck_assert_int_eq(fl_ha_store_job(ha, t, g, (const uint8_t *)"bundle-a", 8, 77, &err),
                     FL_ZK_EXISTS);
    ck_assert_int_eq(fl_cks_record(ha, t, JOB_A, 7, "/ck/chk-7", false, NULL, 0, &err), 0);
    char orphan[600], gfile[600];
    snprintf(orphan, sizeof orphan, "%s/" DIR_JOBGRAPHS "/" JOB_B ".jobgraph", fl_ha_storage(ha));
    snprintf(gfile, sizeof gfile, "%s/" DIR_JOBGRAPHS "/" JOB_A ".jobgraph", fl_ha_storage(ha));
    tu_write_file(orphan, "a submission that lost its leadership before its pointer");

    fl_ha_recovery *rec = fl_xcalloc(1, sizeof *rec);
    ck_assert_int_eq(fl_jgs_recover(ha, rec, &err), 0);
    ck_assert_int_eq(rec->njobs, 1);
    ck_assert_str_eq(rec->jobs[0].job_id, JOB_A);
    ck_assert_ptr_nonnull(rec->jobs[0].stored);
    ck_assert_str_eq(rec->jobs[0].stored->graph->name, "graph");
    ck_assert_int_eq(rec->jobs[0].stored->submitted_ms, 77);
    ck_assert_int_eq(rec->jobs[0].ncheckpoints, 1);
    ck_assert_int_eq(access(rec->jobs[0].bundle_path, R_OK), 0);
    ck_assert_int_eq(access(orphan, F_OK), -1); /* no pointer names it: removed */
    fl_ha_recovery_free(rec);

    /* a damaged graph file: the job is there with the reason, naming the file */
    char *data;
    size_t len;
    ck_assert_int_eq(fl_read_file(gfile, &data, &len, &err), 0);
    data[len / 2] ^= 0x10;
    ck_assert_int_eq(fl_write_file(gfile, data, len, false, &err), 0);
    rec = fl_xcalloc(1, sizeof *rec);
    ck_assert_int_eq(fl_jgs_recover(ha, rec, &err), 0);
    ck_assert_int_eq(rec->njobs, 1);
    ck_assert_ptr_null(rec->jobs[0].stored);
    ck_assert_msg(strstr(rec->jobs[0].error, gfile) && strstr(rec->jobs[0].error, "damaged"),
                  "%s", rec->jobs[0].error);
    fl_ha_recovery_free(rec);
    data[len / 2] ^= 0x10; /* repaired */
    ck_assert_int_eq(fl_write_file(gfile, data, len, false, &err), 0);
    free(data);

    /* the job ends: its result in, its graph, checkpoints and counter out, in one go */
    int64_t id;
    ck_assert_int_eq(fl_cks_next_id(ha, t, JOB_A, 1, &id, &err), 0);
    Fl__Pb__JobResult r = FL__PB__JOB_RESULT__INIT;
    r.job_id = JOB_A;
    r.name = "graph";
    r.state = "FINISHED";
    r.end_ms = 100;
    ck_assert_int_eq(fl_jrs_record(ha, t, &r, &err), 0);
    ck_assert_int_eq(fl_jrs_record(ha, t, &r, &err), 0); /* again: nothing left to do */
    ck_assert_int_eq(fl_zk_exists(ha->zk, ZK_JOBGRAPHS "/" JOB_A, false, NULL, NULL, &err),
                     FL_ZK_NONODE);
    ck_assert_int_eq(fl_zk_exists(ha->zk, ZK_CHECKPOINTS "/" JOB_A, false, NULL, NULL, &err),
                     FL_ZK_NONODE);
    ck_assert_int_eq(fl_zk_exists(ha->zk, ZK_COUNTERS "/" JOB_A, false, NULL, NULL, &err),
                     FL_ZK_NONODE);
    ck_assert_int_eq(access(gfile, F_OK), -1);
    rec = fl_xcalloc(1, sizeof *rec);
    ck_assert_int_eq(fl_jgs_recover(ha, rec, &err), 0);
    ck_assert_int_eq(fl_jrs_recover(ha, rec, &err), 0);
    ck_assert_int_eq(rec->njobs, 0); /* never run again */
    ck_assert_int_eq(rec->nresults, 1);
    ck_assert_str_eq(rec->results[0]->state, "FINISHED");
    fl_ha_recovery_free(rec);

    /* jobstore.max-capacity 1: the older result goes */
    r.job_id = JOB_B;
    r.end_ms = 200;
    ck_assert_int_eq(fl_jrs_record(ha, t, &r, &err), 0);
    rec = fl_xcalloc(1, sizeof *rec);
    ck_assert_int_eq(fl_jrs_recover(ha, rec, &err), 0);
    ck_assert_int_eq(rec->nresults, 2);
    fl_jrs_prune(ha, t, rec);
    ck_assert_int_eq(rec->nresults, 1);
    ck_assert_str_eq(rec->results[0]->job_id, JOB_B);
    fl_ha_recovery_free(rec);
    ck_assert_int_eq(fl_zk_exists(ha->zk, ZK_RESULTS "/" JOB_A, false, NULL, NULL, &err),
                     FL_ZK_NONODE);
    fl__pb__job_graph__free_unpacked(g, NULL);
    fl_leader_term_unref(t);
    ha_close(ha);
}
END_TEST

static Suite *ha_suite(void)
{
    Suite *s = suite_create("ha");
    TCase *tc = tcase_create("local");
    tcase_add_test(tc, test_payload_files);
    tcase_add_test(tc, test_terms);
    tcase_add_test(tc, test_config_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("stores");
    tcase_add_unchecked_fixture(tc, tz_setup, tz_teardown);
    tcase_set_timeout(tc, 120); /* a Java ZooKeeper starts slowly on a loaded machine */
    tcase_add_test(tc, test_fencing);
    tcase_add_test(tc, test_checkpoints);
    tcase_add_test(tc, test_jobs_and_results);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_ERROR);
    return tu_run(ha_suite());
}
