/* check_metrics.c -- unit tests of common/metrics.c (the process's numbers, the Prometheus
 * text format, the reporter's port spec) and jobmanager/task_metrics.c (the rates the
 * JobMaster derives from the TaskManagers' counter reports). Expected values are worked
 * out by hand here or read independently (/proc/self/status for the RSS).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/metrics.h"
#include "jobmanager/task_metrics.h"
#include "testutil.h"

static char *drain(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    return s;
}

START_TEST(test_ports)
{
    int lo, hi;
    fl_err err;
    ck_assert_int_eq(fl_prom_parse_ports("9249", &lo, &hi, &err), 0);
    ck_assert_int_eq(lo, 9249);
    ck_assert_int_eq(hi, 9249);
    ck_assert_int_eq(fl_prom_parse_ports("9249-9260", &lo, &hi, &err), 0);
    ck_assert_int_eq(lo, 9249);
    ck_assert_int_eq(hi, 9260);
    ck_assert_int_eq(fl_prom_parse_ports("1 - 65535", &lo, &hi, &err), 0);
    ck_assert_int_eq(hi, 65535);
    const char *bad[] = {"", "0", "65536", "9260-9249", "abc", "9249-", "-5", "9249-70000",
                         "12x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        ck_assert_msg(fl_prom_parse_ports(bad[i], &lo, &hi, &err) < 0, "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err.msg, "metrics.reporter.prom.port") != NULL, "%s", err.msg);
    }
}
END_TEST

START_TEST(test_text_format)
{
    struct evbuffer *b = evbuffer_new();
    fl_prom_family(b, "flint_x", "counter");
    fl_prom_sample(b, "flint_x", 42, "job_name", "a \"quoted\" \\ name\nnext", "subtask_index",
                   "3", NULL);
    fl_prom_sample(b, "flint_y", 0.25, NULL);
    fl_prom_sample(b, "flint_z", NAN, "k", "v", NULL);
    fl_prom_sample(b, "flint_w", -9223372036854775808.0, NULL);
    char *s = drain(b);
    ck_assert_str_eq(s, "# TYPE flint_x counter\n"
                        "flint_x{job_name=\"a \\\"quoted\\\" \\\\ name\\nnext\",subtask_index=\"3\"} 42\n"
                        "flint_y 0.25\n"
                        "flint_z{k=\"v\"} NaN\n"
                        "flint_w -9.2233720368547758e+18\n");
    free(s);
    evbuffer_free(b);
}
END_TEST

/* VmRSS of /proc/self/status, in bytes: another file than the one metrics.c reads. */
static long long status_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

START_TEST(test_proc_stats)
{
    fl_proc_stats a, b;
    ck_assert_int_eq(fl_proc_stats_read(&a), 0);
    long long rss = status_rss();
    ck_assert(rss > 0);
    ck_assert_msg(llabs((long long)a.rss_bytes - rss) < rss / 5 + (1 << 20), "rss %llu vs %lld",
                  (unsigned long long)a.rss_bytes, rss);
    ck_assert(a.vm_bytes >= a.rss_bytes);
    ck_assert_int_ge(a.threads, 1);
    ck_assert_int_ge(a.cpu_cores, 1);
    /* burn CPU until the clock ticks: the CPU time grows */
    volatile double x = 0;
    int64_t t0 = tu_now_ms();
    do {
        for (int i = 0; i < 1000000; i++)
            x += i * 0.5;
        ck_assert_int_eq(fl_proc_stats_read(&b), 0);
    } while (b.cpu_time_ms == a.cpu_time_ms && tu_now_ms() - t0 < 10000);
    ck_assert(b.cpu_time_ms > a.cpu_time_ms);
}
END_TEST

static Fl__Pb__TaskMetrics report(uint64_t rin, uint64_t rout, uint64_t bp, uint64_t idle,
                                  uint64_t busy)
{
    Fl__Pb__TaskMetrics m = FL__PB__TASK_METRICS__INIT;
    m.records_in = rin, m.records_out = rout, m.bytes_in = rin * 10, m.bytes_out = rout * 10;
    m.backpressure_ms = bp, m.idle_ms = idle, m.busy_ms = busy;
    m.current_input_watermark = 1234;
    return m;
}

START_TEST(test_rates)
{
    fl_subtask_metrics sm;
    memset(&sm, 0, sizeof sm);
    Fl__Pb__TaskMetrics m = report(0, 0, 0, 0, 0);
    fl_subtask_metrics_take(&sm, &m, 10000);
    ck_assert(!sm.has_rates);
    m = report(5000, 2500, 800, 100, 100);
    fl_subtask_metrics_take(&sm, &m, 11000); /* one second later */
    ck_assert(sm.has_rates);
    ck_assert(fabs(sm.rate[FL_TM_RIN] - 5000) < 1e-9);
    ck_assert(fabs(sm.rate[FL_TM_ROUT] - 2500) < 1e-9);
    ck_assert(fabs(sm.rate[FL_TM_BIN] - 50000) < 1e-9);
    ck_assert(fabs(sm.rate[FL_TM_BP_MS] - 800) < 1e-9);
    ck_assert_int_eq(sm.wm, 1234);
    /* a report sooner than the window keeps the last rates, and the window's start */
    m = report(5100, 2550, 850, 100, 110);
    fl_subtask_metrics_take(&sm, &m, 11300);
    ck_assert(fabs(sm.rate[FL_TM_RIN] - 5000) < 1e-9);
    ck_assert_int_eq(sm.v[FL_TM_RIN], 5100);
    /* two seconds after the window's start: 5000 more records -> 2500/s; time per second
     * never above 1000 even when rounding says so */
    m = report(10000, 5000, 2900, 100, 110);
    fl_subtask_metrics_take(&sm, &m, 13000);
    ck_assert(fabs(sm.rate[FL_TM_RIN] - 2500) < 1e-9);
    ck_assert(sm.rate[FL_TM_BP_MS] <= 1000);
    ck_assert(fabs(sm.rate[FL_TM_BP_MS] - 1000) < 1e-9);
    /* a restarted attempt counts from zero: no negative rate, rates start over */
    m = report(10, 5, 0, 0, 0);
    fl_subtask_metrics_take(&sm, &m, 14000);
    ck_assert(!sm.has_rates);
    ck_assert_int_eq(sm.v[FL_TM_RIN], 10);
    m = report(1010, 505, 0, 0, 1000);
    fl_subtask_metrics_take(&sm, &m, 15000);
    ck_assert(sm.has_rates);
    ck_assert(fabs(sm.rate[FL_TM_RIN] - 1000) < 1e-9);
}
END_TEST

START_TEST(test_tm_process)
{
    fl_tm_process p;
    memset(&p, 0, sizeof p);
    Fl__Pb__MetricsTaskManager m = FL__PB__METRICS_TASK_MANAGER__INIT;
    m.cpu_time_ms = 1000, m.cpu_cores = 2, m.rss_bytes = 1 << 20;
    fl_tm_process_take(&p, &m, 5000);
    ck_assert(p.known);
    ck_assert(p.cpu_load == 0);
    m.cpu_time_ms = 2000; /* 1 s of CPU in 1 s of 2 cores: half */
    fl_tm_process_take(&p, &m, 6000);
    ck_assert(fabs(p.cpu_load - 0.5) < 1e-9);
    ck_assert_int_eq(p.rss_bytes, 1 << 20);
    fl_tm_process_take(&p, NULL, 7000); /* a heartbeat without metrics changes nothing */
    ck_assert_int_eq(p.at_mono_ms, 6000);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("prometheus");
    tcase_add_test(tc, test_ports);
    tcase_add_test(tc, test_text_format);
    suite_add_tcase(s, tc);
    tc = tcase_create("process");
    tcase_add_test(tc, test_proc_stats);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("rates");
    tcase_add_test(tc, test_rates);
    tcase_add_test(tc, test_tm_process);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(metrics_suite());
}
