/* check_config.c -- unit tests of common/config.c: the flink-conf parser's file forms and
 * the typed value parsers (integers, booleans, durations, memory sizes, enums);
 * check_config_keys.c has the keys (unknown ones, secrets, -D overrides, start-up loading,
 * defaults, ranges, linear loading).
 *
 * Every expected number is written out here (1 gb is 1073741824), never computed by the
 * parser under test. Tests that read the log redirect it to a temporary file.
 */
#include "config_util.h"

/* ---- file forms ------------------------------------------------------------------- */

START_TEST(test_flat_key_value)
{
    fl_conf *c = load_ok("jobmanager.rpc.address: jm.example.com\n"
                         "rest.port: 9091\n"
                         "heartbeat.interval: 2 s\n");
    ck_assert_str_eq(fl_conf_get_str(c, "jobmanager.rpc.address"), "jm.example.com");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9091);
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "heartbeat.interval"), 2000);
    ck_assert(fl_conf_contains(c, "rest.port"));
    ck_assert(!fl_conf_contains(c, "jobmanager.rpc.port"));
    fl_conf_free(c);
}
END_TEST

START_TEST(test_last_line_without_newline)
{
    fl_conf *c = load_ok("rest.port: 1\nparallelism.default: 7");
    ck_assert_int_eq(fl_conf_get_int(c, "parallelism.default"), 7);
    fl_conf_free(c);
}
END_TEST

START_TEST(test_whitespace_around_key_and_value)
{
    fl_conf *c = load_ok("   rest.port   :    9092   \n\ttaskmanager.host: \t tm-3 \t\n");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9092);
    ck_assert_str_eq(fl_conf_get_str(c, "taskmanager.host"), "tm-3");
    fl_conf_free(c);
}
END_TEST

START_TEST(test_crlf_line_endings)
{
    fl_conf *c = load_ok("rest.port: 9093\r\ntaskmanager.host: tm-crlf\r\n\r\n");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9093);
    ck_assert_str_eq(fl_conf_get_str(c, "taskmanager.host"), "tm-crlf");
    fl_conf_free(c);
}
END_TEST

START_TEST(test_comments_whole_line_and_trailing)
{
    fl_conf *c = load_ok("# Flint configuration\n"
                         "#rest.port: 1111\n"
                         "   # indented comment: with a colon\n"
                         "rest.port: 9094 # the REST port\n"
                         "taskmanager.host: tm-4#no space before the hash\n"
                         "# jobmanager.rpc.port: 2222\n");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9094);
    ck_assert_str_eq(fl_conf_get_str(c, "taskmanager.host"), "tm-4");
    ck_assert(!fl_conf_contains(c, "jobmanager.rpc.port"));
    ck_assert_int_eq(fl_conf_get_int(c, "jobmanager.rpc.port"), 6123);
    visit_buf b = {{0}, 0};
    fl_conf_foreach(c, false, visit_collect, &b);
    ck_assert_int_eq(b.count, 2); /* nothing from the comments was stored */
    fl_conf_free(c);
}
END_TEST

START_TEST(test_blank_lines_ignored_but_counted)
{
    fl_conf *c = load_ok("\n\n   \n\t\nrest.port: 9095\n\n");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9095);
    fl_conf_free(c);

    /* Blank lines and comments still count for the line number in a message. */
    fl_err err;
    load_fail("\n# comment\n\n   \nrest.port: 1\nrest.port: nine\n", "conf/flint-conf.yaml", &err);
    ck_assert_has(err.msg, "conf/flint-conf.yaml:6:");
}
END_TEST

START_TEST(test_empty_text)
{
    fl_conf *c = load_ok("");
    visit_buf b = {{0}, 0};
    fl_conf_foreach(c, false, visit_collect, &b);
    ck_assert_int_eq(b.count, 0);
    fl_conf_free(c);
}
END_TEST

START_TEST(test_last_duplicate_wins)
{
    fl_conf *c = load_ok("rest.port: 1001\n"
                         "taskmanager.host: first\n"
                         "rest.port: 1002\n"
                         "taskmanager.host: second\n"
                         "rest.port: 1003\n");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 1003);
    ck_assert_str_eq(fl_conf_get_str(c, "taskmanager.host"), "second");
    visit_buf b = {{0}, 0};
    fl_conf_foreach(c, false, visit_collect, &b);
    ck_assert_int_eq(b.count, 2); /* one entry per key, not per line */
    fl_conf_free(c);
}
END_TEST

START_TEST(test_later_load_wins)
{
    fl_conf *c = load_ok("rest.port: 1001\n");
    fl_err err;
    ck_assert_int_eq(fl_conf_load_string(c, "rest.port: 1004\n", "second.yaml", &err), 0);
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 1004);
    fl_conf_free(c);
}
END_TEST

START_TEST(test_quoted_values)
{
    fl_conf *c = load_ok("taskmanager.host: \"tm quoted\"\n"
                         "jobmanager.rpc.address: 'single quoted'\n"
                         "rest.port: \"9096\"\n"
                         "rest.address: \"unbalanced'\n"
                         "my.empty: \"\"\n");
    ck_assert_str_eq(fl_conf_get_str(c, "taskmanager.host"), "tm quoted");
    ck_assert_str_eq(fl_conf_get_str(c, "jobmanager.rpc.address"), "single quoted");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9096);
    ck_assert_str_eq(fl_conf_get_str(c, "rest.address"), "\"unbalanced'");
    ck_assert_str_eq(visited_value(c, "my.empty", false), "");
    fl_conf_free(c);
    /* an empty host is no host: refused with the key's range */
    fl_err err;
    load_fail("taskmanager.bind-host: \"\"\n", "q.yaml", &err);
    ck_assert_has(err.msg, "taskmanager.bind-host");
    ck_assert_has(err.msg, "1 to 255 bytes");
}
END_TEST

START_TEST(test_value_containing_colons)
{
    fl_conf *c = load_ok("state.checkpoints.dir: file:///tmp/flint/checkpoints\n"
                         "jobmanager.rpc.address: hdfs://namenode:8020/path\n"
                         "high-availability.zookeeper.quorum: zk1:2181,zk2:2181\n"
                         "taskmanager.host: odd: value\n");
    ck_assert_str_eq(visited_value(c, "state.checkpoints.dir", false),
                     "file:///tmp/flint/checkpoints");
    ck_assert_str_eq(fl_conf_get_str(c, "jobmanager.rpc.address"), "hdfs://namenode:8020/path");
    ck_assert_str_eq(visited_value(c, "high-availability.zookeeper.quorum", false),
                     "zk1:2181,zk2:2181");
    ck_assert_str_eq(fl_conf_get_str(c, "taskmanager.host"), "odd: value"); /* first ": " splits */
    fl_conf_free(c);
}
END_TEST

START_TEST(test_line_without_separator_is_error)
{
    static const char *bad[] = {
        "rest.port 9000",      /* no colon at all */
        "rest.port:9000",      /* colon without the space Flink requires */
        "just-a-word",
        "rest.port=9000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "# header\nrest.port: 1\n%s\nrest.port: 2\n", bad[i]);
        fl_err err;
        load_fail(text, "/etc/flint/flint-conf.yaml", &err);
        ck_assert_has(err.msg, "/etc/flint/flint-conf.yaml:3:");
        ck_assert_has(err.msg, "key: value");
    }
}
END_TEST

START_TEST(test_missing_key_is_error)
{
    fl_err err;
    load_fail("rest.port: 1\n: 9000\n", "origin.yaml", &err);
    ck_assert_has(err.msg, "origin.yaml:2:");
    ck_assert_has(err.msg, "key");
}
END_TEST

START_TEST(test_error_stops_and_names_first_bad_line)
{
    fl_err err;
    load_fail("rest.port: x\nparallelism.default: y\n", "f.yaml", &err);
    ck_assert_has(err.msg, "f.yaml:1:");
    ck_assert_has(err.msg, "rest.port");
    ck_assert_lacks(err.msg, "parallelism.default");
}
END_TEST

/* ---- integers --------------------------------------------------------------------- */

START_TEST(test_int_non_numeric_names_file_line_key)
{
    char dir[256], path[300];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/flint-conf.yaml", dir);
    tu_write_file(path, "# slots\n"
                        "jobmanager.rpc.port: 6123\n"
                        "\n"
                        "taskmanager.numberOfTaskSlots: two\n");
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_load_file(c, path, &err), -1);
    char file_line[400];
    snprintf(file_line, sizeof file_line, "%s:4:", path);
    ck_assert_has(err.msg, path);                             /* file */
    ck_assert_has(err.msg, file_line);                        /* line number */
    ck_assert_has(err.msg, "taskmanager.numberOfTaskSlots"); /* key */
    ck_assert_has(err.msg, "expected an integer");           /* expected form */
    ck_assert_has(err.msg, "'two'");                          /* the offending value */
    ck_assert(!fl_conf_contains(c, "taskmanager.numberOfTaskSlots"));
    ck_assert_int_eq(fl_conf_get_int(c, "taskmanager.numberOfTaskSlots"), 1);
    fl_conf_free(c);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_int_overflow_names_file_line_key)
{
    static const char *bad[] = {
        "99999999999999999999999", /* beyond int64 */
        "9223372036854775808",     /* INT64_MAX + 1 */
        "2147483648",              /* beyond the int range of a config int */
        "-2147483649",
        "12abc",
        "1.5",
        "0x10",
        "",
        "- 5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "rest.port: 1\nrest.port: %s\n", bad[i]);
        fl_err err;
        load_fail(text, "my.yaml", &err);
        ck_assert_has(err.msg, "my.yaml");
        ck_assert_has(err.msg, "my.yaml:2:");
        ck_assert_has(err.msg, "rest.port");
        ck_assert_has(err.msg, "expected an integer");
    }
}
END_TEST

START_TEST(test_int_range_limits_accepted)
{
    /* the ends of each key's range are accepted, in every integer spelling */
    fl_conf *c = load_ok("rest.port: 65535\nparallelism.default: 1\n"
                         "jobmanager.rpc.port: +17\ntaskmanager.rpc.port: 007\n"
                         "taskmanager.data.port: 0\n"
                         "restart-strategy.fixed-delay.attempts: 2147483647\n");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 65535);
    ck_assert_int_eq(fl_conf_get_int(c, "parallelism.default"), 1);
    ck_assert_int_eq(fl_conf_get_int(c, "jobmanager.rpc.port"), 17);
    ck_assert_int_eq(fl_conf_get_int(c, "taskmanager.rpc.port"), 7);
    ck_assert_int_eq(fl_conf_get_int(c, "taskmanager.data.port"), 0);
    ck_assert_int_eq(fl_conf_get_int(c, "restart-strategy.fixed-delay.attempts"), 2147483647LL);
    fl_conf_free(c);
}
END_TEST

START_TEST(test_parse_int)
{
    int64_t v = 0;
    ck_assert_int_eq(fl_parse_int("0", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(fl_parse_int(" 42 ", &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(fl_parse_int("-9223372036854775808", &v), 0);
    ck_assert(v == INT64_MIN);
    ck_assert_int_eq(fl_parse_int("9223372036854775807", &v), 0);
    ck_assert(v == INT64_MAX);
    v = 5;
    ck_assert_int_eq(fl_parse_int("9223372036854775808", &v), -1);
    ck_assert_int_eq(fl_parse_int("two", &v), -1);
    ck_assert_int_eq(fl_parse_int("", &v), -1);
    ck_assert_int_eq(fl_parse_int("   ", &v), -1);
    ck_assert_int_eq(fl_parse_int("3 4", &v), -1);
    ck_assert_int_eq(v, 5); /* untouched on failure */
}
END_TEST

START_TEST(test_parse_double)
{
    double d = 0;
    ck_assert_int_eq(fl_parse_double("0.25", &d), 0);
    ck_assert(d == 0.25);
    ck_assert_int_eq(fl_parse_double("-1e3", &d), 0);
    ck_assert(d == -1000.0);
    ck_assert_int_eq(fl_parse_double("nan", &d), -1);
    ck_assert_int_eq(fl_parse_double("inf", &d), -1);
    ck_assert_int_eq(fl_parse_double("1e999", &d), -1);
    ck_assert_int_eq(fl_parse_double("0.1x", &d), -1);
    ck_assert_int_eq(fl_parse_double("", &d), -1);
}
END_TEST

START_TEST(test_double_key)
{
    fl_conf *c = load_ok("taskmanager.memory.network.fraction: 0.25\n");
    ck_assert(fl_conf_get_double(c, "taskmanager.memory.network.fraction") == 0.25);
    fl_conf_free(c);
    fl_err err;
    load_fail("\n\ntaskmanager.memory.network.fraction: a lot\n", "x.yaml", &err);
    ck_assert_has(err.msg, "x.yaml:3:");
    ck_assert_has(err.msg, "taskmanager.memory.network.fraction");
    ck_assert_has(err.msg, "expected a number");
}
END_TEST

/* ---- booleans --------------------------------------------------------------------- */

START_TEST(test_bool_forms)
{
    static const struct {
        const char *s;
        int rc;
        bool v;
    } cases[] = {
        {"true", 0, true},   {"false", 0, false}, {"TRUE", 0, true},  {"False", 0, false},
        {"tRuE", 0, true},   {"yes", -1, false},  {"no", -1, false},  {"1", -1, false},
        {"0", -1, false},    {"", -1, false},     {"truex", -1, false}, {"t", -1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool v = !cases[i].v;
        int rc = fl_parse_bool(cases[i].s, &v);
        ck_assert_msg(rc == cases[i].rc, "fl_parse_bool(\"%s\") = %d", cases[i].s, rc);
        if (rc == 0)
            ck_assert_msg(v == cases[i].v, "fl_parse_bool(\"%s\") gave %d", cases[i].s, v);
    }
    /* The key-level check names the expected form. */
    fl_conf_key k = {"test.flag", FL_CT_BOOL, "false", NULL, NULL, "a test flag"};
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_check_value(&k, "true", &err), 0);
    ck_assert_int_eq(fl_conf_check_value(&k, "maybe", &err), -1);
    ck_assert_has(err.msg, "true or false");
}
END_TEST

/* ---- durations -------------------------------------------------------------------- */

START_TEST(test_duration_forms)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"500 ms", 500},
        {"500ms", 500},
        {"10s", 10000},
        {"10 s", 10000},
        {"10 S", 10000},
        {"3 seconds", 3000},
        {"1 min", 60000},
        {"5m", 300000},
        {"2 h", 7200000},
        {"2 hours", 7200000},
        {"1d", 86400000},
        {"7 days", 604800000},
        {"250", 250},        /* bare number: milliseconds */
        {"0", 0},
        {"  42  ", 42},
        {"2000 us", 2},
        {"1500000 ns", 1},   /* sub-millisecond parts are truncated */
        {"9223372036854775807", 9223372036854775807LL},
        {"106751991167 d", 106751991167LL * 86400000LL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -7;
        int rc = fl_parse_duration_ms(ok[i].s, &v);
        ck_assert_msg(rc == 0, "fl_parse_duration_ms(\"%s\") failed", ok[i].s);
        ck_assert_msg(v == ok[i].ms, "fl_parse_duration_ms(\"%s\") = %lld, expected %lld",
                      ok[i].s, (long long)v, (long long)ok[i].ms);
    }
}
END_TEST

START_TEST(test_duration_malformed)
{
    static const char *bad[] = {
        "10 parsecs", "-5 s", "-5", "s", "", "   ", "ten s", "1.5 s", "10 s s", "5 mss",
        "9223372036854775808",   /* one past INT64_MAX milliseconds */
        "106751991168 d",        /* overflows int64 milliseconds */
        "9223372036854775807 s", "99999999999999999999999 ms", "+5 s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = -7;
        ck_assert_msg(fl_parse_duration_ms(bad[i], &v) == -1,
                      "fl_parse_duration_ms(\"%s\") accepted (%lld)", bad[i], (long long)v);
        ck_assert_int_eq(v, -7);
    }
}
END_TEST

START_TEST(test_duration_minus_one_means_disabled)
{
    /* Flink's "-1" (execution.buffer-timeout: -1, only full buffers) is accepted by
     * timeout-typed keys only; no other negative is, and ordinary durations refuse it. */
    int64_t v = 0;
    ck_assert_int_eq(fl_parse_timeout_ms("-1", &v), 0);
    ck_assert_int_eq(v, -1);
    ck_assert_int_eq(fl_parse_timeout_ms("250 ms", &v), 0);
    ck_assert_int_eq(v, 250);
    v = 7;
    ck_assert_int_eq(fl_parse_duration_ms("-1", &v), -1);
    ck_assert_int_eq(fl_parse_timeout_ms("-2", &v), -1);
    ck_assert_int_eq(fl_parse_timeout_ms("-1 s", &v), -1);
    ck_assert_int_eq(fl_parse_timeout_ms("-1ms", &v), -1);
    ck_assert_int_eq(v, 7);
    fl_conf *c = load_ok("execution.buffer-timeout: -1\n");
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "execution.buffer-timeout"), -1);
    fl_conf_free(c);
    fl_err err;
    load_fail("heartbeat.timeout: -1\n", "d.yaml", &err);
    ck_assert_has(err.msg, "heartbeat.timeout");
}
END_TEST

START_TEST(test_duration_key)
{
    fl_conf *c = load_ok("heartbeat.timeout: 1 s\nheartbeat.interval: 250\n");
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "heartbeat.timeout"), 1000);
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "heartbeat.interval"), 250);
    fl_conf_free(c);

    fl_err err;
    load_fail("heartbeat.timeout: soon\n", "d.yaml", &err);
    ck_assert_has(err.msg, "d.yaml:1:");
    ck_assert_has(err.msg, "heartbeat.timeout");
    ck_assert_has(err.msg, "expected a duration");
    load_fail("heartbeat.timeout: -1 s\n", "d.yaml", &err);
    ck_assert_has(err.msg, "expected a duration");
}
END_TEST

/* ---- memory sizes ----------------------------------------------------------------- */

START_TEST(test_memory_forms)
{
    static const struct {
        const char *s;
        int64_t bytes;
    } ok[] = {
        {"32kb", 32LL * 1024},
        {"32 KB", 32LL * 1024},
        {"32k", 32LL * 1024},
        {"64 mb", 64LL * 1024 * 1024},
        {"64m", 64LL * 1024 * 1024},
        {"16 mebibytes", 16LL * 1024 * 1024},
        {"1gb", 1073741824LL},
        {"1 g", 1073741824LL},
        {"2 tb", 2LL * 1099511627776LL},
        {"1024", 1024},
        {"10 b", 10},
        {"10 bytes", 10},
        {"0", 0},
        {"8589934591 gb", 9223372035781033984LL}, /* largest whole number of gb in int64 */
        {"9223372036854775807", 9223372036854775807LL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -7;
        int rc = fl_parse_bytes(ok[i].s, &v);
        ck_assert_msg(rc == 0, "fl_parse_bytes(\"%s\") failed", ok[i].s);
        ck_assert_msg(v == ok[i].bytes, "fl_parse_bytes(\"%s\") = %lld, expected %lld", ok[i].s,
                      (long long)v, (long long)ok[i].bytes);
    }
}
END_TEST

START_TEST(test_memory_malformed)
{
    static const char *bad[] = {
        "12 parsecs", "kb", "-1kb", "1.5gb", "", "lots", "1 kbb", "1 kb 2",
        "8589934592 gb",        /* exactly 2^63 bytes: one past int64 */
        "9000000000 gb",
        "9223372036854775808",  /* bare, one past INT64_MAX */
        "99999999999999999999999",
        "8388608 tb",           /* 2^23 * 2^40 = 2^63 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = -7;
        ck_assert_msg(fl_parse_bytes(bad[i], &v) == -1, "fl_parse_bytes(\"%s\") accepted (%lld)",
                      bad[i], (long long)v);
        ck_assert_int_eq(v, -7);
    }
}
END_TEST

START_TEST(test_memory_key)
{
    fl_conf *c = load_ok("rpc.frame.max-size: 32mb\n");
    ck_assert_int_eq(fl_conf_get_bytes(c, "rpc.frame.max-size"), 33554432);
    fl_conf_free(c);

    fl_err err;
    load_fail("\nrpc.frame.max-size: 1 parsec\n", "m.yaml", &err);
    ck_assert_has(err.msg, "m.yaml:2:");
    ck_assert_has(err.msg, "rpc.frame.max-size");
    ck_assert_has(err.msg, "expected a memory size");
    load_fail("rpc.frame.max-size: 99999999999 gb\n", "m.yaml", &err);
    ck_assert_has(err.msg, "expected a memory size");
}
END_TEST

/* ---- enums ------------------------------------------------------------------------ */

START_TEST(test_enum_log_level)
{
    static const char *ok[] = {"DEBUG", "INFO", "WARN", "ERROR", "debug", "Warn"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "log.level: %s\n", ok[i]);
        fl_conf *c = load_ok(text);
        ck_assert_str_eq(fl_conf_get_str(c, "log.level"), ok[i]);
        fl_conf_free(c);
    }
    static const char *bad[] = {"VERBOSE", "INF", "INFOX", "", "DEBUG|INFO", "|", "INFO|"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "log.level: %s\n", bad[i]);
        fl_err err;
        load_fail(text, "e.yaml", &err);
        ck_assert_has(err.msg, "e.yaml:1:");
        ck_assert_has(err.msg, "log.level");
        ck_assert_has(err.msg, "expected one of DEBUG|INFO|WARN|ERROR");
    }
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc;
    tc = tcase_create("file");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_flat_key_value);
    tcase_add_test(tc, test_last_line_without_newline);
    tcase_add_test(tc, test_whitespace_around_key_and_value);
    tcase_add_test(tc, test_crlf_line_endings);
    tcase_add_test(tc, test_comments_whole_line_and_trailing);
    tcase_add_test(tc, test_blank_lines_ignored_but_counted);
    tcase_add_test(tc, test_empty_text);
    tcase_add_test(tc, test_last_duplicate_wins);
    tcase_add_test(tc, test_later_load_wins);
    tcase_add_test(tc, test_quoted_values);
    tcase_add_test(tc, test_value_containing_colons);
    tcase_add_test(tc, test_line_without_separator_is_error);
    tcase_add_test(tc, test_missing_key_is_error);
    tcase_add_test(tc, test_error_stops_and_names_first_bad_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_int_non_numeric_names_file_line_key);
    tcase_add_test(tc, test_int_overflow_names_file_line_key);
    tcase_add_test(tc, test_int_range_limits_accepted);
    tcase_add_test(tc, test_parse_int);
    tcase_add_test(tc, test_parse_double);
    tcase_add_test(tc, test_bool_forms);
    tcase_add_test(tc, test_duration_forms);
    tcase_add_test(tc, test_duration_malformed);
    tcase_add_test(tc, test_duration_minus_one_means_disabled);
    tcase_add_test(tc, test_duration_key);
    tcase_add_test(tc, test_double_key);
    tcase_add_test(tc, test_memory_forms);
    tcase_add_test(tc, test_memory_malformed);
    tcase_add_test(tc, test_memory_key);
    tcase_add_test(tc, test_enum_log_level);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(config_suite());
}
