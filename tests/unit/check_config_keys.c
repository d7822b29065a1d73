/* check_config_keys.c -- unit tests of common/config.c's keys (check_config.c has the file
 * forms and the typed values): unknown keys, secret masking, -D overrides, start-up loading,
 * defaults and copies, the range of every key of config_keys.h (each end taken, one past it
 * refused), and loading checked to be linear by comparing the CPU time of 10,000 and
 * 100,000 keys. Every expected number is written out here, never computed by the parser
 * under test. Tests that read the log redirect it to a temporary file.
 */
#include "config_util.h"

/* ---- unknown keys ----------------------------------------------------------------- */

START_TEST(test_unknown_key_accepted_with_warning)
{
    fl_conf *c = load_ok("rest.port: 9097\nmy.custom.key: 42\n");
    ck_assert(fl_conf_contains(c, "my.custom.key"));
    ck_assert_str_eq(visited_value(c, "my.custom.key", false), "42");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9097);
    char *log = tu_log_text();
    ck_assert_has(log, "WARN");
    ck_assert_has(log, "test.yaml:2");
    ck_assert_has(log, "unknown configuration key 'my.custom.key'");
    ck_assert_int_eq(tu_count(log, "unknown configuration key"), 1); /* rest.port is known */
    free(log);
    fl_conf_free(c);
}
END_TEST

START_TEST(test_key_table)
{
    const fl_conf_key *k = fl_conf_key_find("heartbeat.timeout");
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(k->type, FL_CT_DURATION);
    ck_assert_ptr_null(fl_conf_key_find("no.such.key"));
    ck_assert_ptr_null(fl_conf_key_find(""));
}
END_TEST

/* ---- secrets ---------------------------------------------------------------------- */

START_TEST(test_secret_key_detection)
{
    ck_assert(fl_conf_key_is_secret("s3.secret-key"));
    ck_assert(fl_conf_key_is_secret("security.ssl.keystore-password"));
    ck_assert(fl_conf_key_is_secret("my.PASSWORD"));
    ck_assert(fl_conf_key_is_secret("metrics.reporter.secret"));
    ck_assert(!fl_conf_key_is_secret("rest.port"));
    ck_assert(!fl_conf_key_is_secret("taskmanager.host"));
}
END_TEST

START_TEST(test_secret_values_masked_by_foreach)
{
    fl_conf *c = load_ok("s3.secret-key: hunter2-secret\n"
                         "db.password: \"correct horse\"\n"
                         "rest.port: 9098\n");
    ck_assert_str_eq(visited_value(c, "s3.secret-key", true), "******");
    ck_assert_str_eq(visited_value(c, "db.password", true), "******");
    ck_assert_str_eq(visited_value(c, "rest.port", true), "9098");
    /* Unmasked iteration (for the program itself) still sees the values. */
    ck_assert_str_eq(visited_value(c, "s3.secret-key", false), "hunter2-secret");
    ck_assert_str_eq(visited_value(c, "db.password", false), "correct horse");
    visit_buf b = {{0}, 0};
    fl_conf_foreach(c, true, visit_collect, &b);
    ck_assert_int_eq(b.count, 3);
    ck_assert_lacks(b.text, "hunter2");
    ck_assert_lacks(b.text, "horse");
    /* foreach goes in key order */
    ck_assert_str_eq(b.text, "db.password=******\nrest.port=9098\ns3.secret-key=******\n");
    char *log = tu_log_text();
    ck_assert_lacks(log, "hunter2");
    ck_assert_lacks(log, "horse");
    free(log);
    fl_conf_free(c);
}
END_TEST

START_TEST(test_secret_never_in_error_message)
{
    /* Malformed lines holding a secret must not be echoed back in the error. */
    static const char *bad[] = {
        "db.password hunter2-value",
        "db.password:hunter2-value",
        "s3.SECRET=hunter2-value",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "rest.port: 1\n%s\n", bad[i]);
        fl_err err;
        load_fail(text, "s.yaml", &err);
        ck_assert_has(err.msg, "s.yaml:2:");
        ck_assert_lacks(err.msg, "hunter2");
    }
    /* ... nor a malformed -D option. */
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_set_dynamic(c, "db.password:hunter2-value", &err), -1);
    ck_assert_lacks(err.msg, "hunter2");
    ck_assert_has(err.msg, "key=value");
    fl_conf_free(c);
    char *log = tu_log_text();
    ck_assert_lacks(log, "hunter2");
    free(log);
}
END_TEST

START_TEST(test_nonsecret_bad_line_is_echoed)
{
    /* The counterpart of the secret case: an ordinary bad line is shown to help the user. */
    fl_err err;
    load_fail("rest.port 9000\n", "s.yaml", &err);
    ck_assert_has(err.msg, "rest.port 9000");
}
END_TEST

START_TEST(test_startup_log_masks_secrets)
{
    char dir[256], path[300];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/flint-conf.yaml", dir);
    tu_write_file(path, "rest.port: 9099\nfs.s3.secret-key: hunter2-file\n");
    setenv("FLINT_CONF_DIR", dir, 1);
    char *argv[] = {"prog", "-D", "db.password=hunter2-cli", NULL};
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_msg(fl_conf_load_startup(c, 3, argv, true, &err) == 0, "%s", err.msg);
    char *log = tu_log_text();
    ck_assert_has(log, "rest.port, 9099");          /* properties were logged ... */
    ck_assert_has(log, "fs.s3.secret-key, ******"); /* ... with secrets masked */
    ck_assert_has(log, "db.password, ******");
    ck_assert_lacks(log, "hunter2");
    free(log);
    fl_conf_free(c);
    unsetenv("FLINT_CONF_DIR");
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- -D overrides ----------------------------------------------------------------- */

START_TEST(test_dynamic_override_beats_file)
{
    fl_conf *c = load_ok("rest.port: 9000\ntaskmanager.host: from-file\n");
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_set_dynamic(c, "rest.port=9999", &err), 0);
    ck_assert_int_eq(fl_conf_set_dynamic(c, "my.key=a=b", &err), 0);
    ck_assert_int_eq(fl_conf_set_dynamic(c, "my.empty=", &err), 0);
    ck_assert_int_eq(fl_conf_set_dynamic(c, "taskmanager.host=", &err), -1); /* no host */
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9999);
    ck_assert_str_eq(visited_value(c, "my.key", false), "a=b"); /* split at the first '=' */
    ck_assert_str_eq(visited_value(c, "my.empty", false), "");
    ck_assert_str_eq(fl_conf_get_str(c, "taskmanager.host"), "from-file");
    fl_conf_free(c);
}
END_TEST

START_TEST(test_dynamic_malformed)
{
    fl_conf *c = load_ok("rest.port: 9000\n");
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_set_dynamic(c, "rest.port", &err), -1);
    ck_assert_has(err.msg, "key=value");
    ck_assert_int_eq(fl_conf_set_dynamic(c, "=5", &err), -1);
    ck_assert_has(err.msg, "key=value");
    ck_assert_int_eq(fl_conf_set_dynamic(c, "rest.port=abc", &err), -1);
    ck_assert_has(err.msg, "-D rest.port");
    ck_assert_has(err.msg, "expected an integer");
    ck_assert_int_eq(fl_conf_set_dynamic(c, "heartbeat.timeout=forever", &err), -1);
    ck_assert_has(err.msg, "expected a duration");
    char longkey[400];
    memset(longkey, 'k', 300);
    strcpy(longkey + 300, "=1");
    ck_assert_int_eq(fl_conf_set_dynamic(c, longkey, &err), -1);
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 9000); /* failed overrides changed nothing */
    fl_conf_free(c);
}
END_TEST

START_TEST(test_set_checks_value)
{
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_set(c, "parallelism.default", "4", &err), 0);
    ck_assert_int_eq(fl_conf_get_int(c, "parallelism.default"), 4);
    ck_assert_int_eq(fl_conf_set(c, "parallelism.default", "four", &err), -1);
    ck_assert_has(err.msg, "parallelism.default");
    ck_assert_has(err.msg, "expected an integer");
    ck_assert_int_eq(fl_conf_get_int(c, "parallelism.default"), 4);
    fl_conf_free(c);
}
END_TEST

/* ---- start-up loading ------------------------------------------------------------- */

typedef struct conf_dir {
    char dir[256];
    char path[300];
} conf_dir;

static void conf_dir_make(conf_dir *d, const char *text)
{
    tu_mkdtemp(d->dir, sizeof d->dir);
    snprintf(d->path, sizeof d->path, "%s/flint-conf.yaml", d->dir);
    if (text)
        tu_write_file(d->path, text);
    setenv("FLINT_CONF_DIR", d->dir, 1);
}

static void conf_dir_remove(conf_dir *d)
{
    unsetenv("FLINT_CONF_DIR");
    unlink(d->path);
    rmdir(d->dir);
}

START_TEST(test_startup_file_and_both_D_forms)
{
    conf_dir d;
    conf_dir_make(&d, "rest.port: 9000\n"
                      "taskmanager.numberOfTaskSlots: 2\n"
                      "heartbeat.timeout: 5 s\n"
                      "parallelism.default: 3\n");
    char *argv[] = {"flint-taskmanager", "start", "-D", "rest.port=7000",
                    "-Dtaskmanager.numberOfTaskSlots=4", "-Dheartbeat.interval=1 s", "extra",
                    NULL};
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_msg(fl_conf_load_startup(c, 7, argv, false, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 7000);                  /* -D k=v */
    ck_assert_int_eq(fl_conf_get_int(c, "taskmanager.numberOfTaskSlots"), 4); /* -Dk=v */
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "heartbeat.interval"), 1000);
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "heartbeat.timeout"), 5000); /* file */
    ck_assert_int_eq(fl_conf_get_int(c, "parallelism.default"), 3);            /* file */
    ck_assert_int_eq(fl_conf_get_int(c, "jobmanager.rpc.port"), 6123);         /* default */
    ck_assert_str_eq(fl_conf_dir(), d.dir);
    fl_conf_free(c);
    conf_dir_remove(&d);
}
END_TEST

START_TEST(test_startup_bad_file_fails)
{
    conf_dir d;
    conf_dir_make(&d, "taskmanager.numberOfTaskSlots: two\n");
    char *argv[] = {"prog", NULL};
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_load_startup(c, 1, argv, false, &err), -1);
    char file_line[400];
    snprintf(file_line, sizeof file_line, "%s:1:", d.path);
    ck_assert_has(err.msg, file_line);
    ck_assert_has(err.msg, "taskmanager.numberOfTaskSlots");
    ck_assert_has(err.msg, "expected an integer");
    fl_conf_free(c);
    conf_dir_remove(&d);
}
END_TEST

START_TEST(test_startup_D_does_not_rescue_bad_file)
{
    /* The file is read first; a bad value there fails even when -D would override it. */
    conf_dir d;
    conf_dir_make(&d, "rest.port: abc\n");
    char *argv[] = {"prog", "-Drest.port=1", NULL};
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_load_startup(c, 2, argv, false, &err), -1);
    ck_assert_has(err.msg, "rest.port");
    fl_conf_free(c);
    conf_dir_remove(&d);
}
END_TEST

START_TEST(test_startup_bad_D_fails)
{
    conf_dir d;
    conf_dir_make(&d, "rest.port: 9000\n");
    char *argv[] = {"prog", "-D", "rest.port=eighty", NULL};
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_load_startup(c, 3, argv, false, &err), -1);
    ck_assert_has(err.msg, "rest.port");
    ck_assert_has(err.msg, "expected an integer");
    fl_conf_free(c);
    conf_dir_remove(&d);
}
END_TEST

START_TEST(test_startup_explicit_dir_without_file_fails)
{
    conf_dir d;
    conf_dir_make(&d, NULL);
    char *argv[] = {"prog", NULL};
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_load_startup(c, 1, argv, false, &err), -1);
    ck_assert_has(err.msg, d.path);
    fl_conf_free(c);
    conf_dir_remove(&d);
}
END_TEST

START_TEST(test_load_file_missing)
{
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_load_file(c, "/nonexistent/flint/flint-conf.yaml", &err), -1);
    ck_assert_has(err.msg, "/nonexistent/flint/flint-conf.yaml");
    fl_conf_free(c);
}
END_TEST

/* ---- defaults, copies ------------------------------------------------------------- */

START_TEST(test_defaults_when_unset)
{
    fl_conf *c = fl_conf_new();
    ck_assert_str_eq(fl_conf_get_str(c, "jobmanager.rpc.address"), "localhost");
    ck_assert_int_eq(fl_conf_get_int(c, "jobmanager.rpc.port"), 6123);
    ck_assert_str_eq(fl_conf_get_str(c, "rest.address"), "localhost");
    ck_assert_int_eq(fl_conf_get_int(c, "rest.port"), 8081);
    ck_assert_int_eq(fl_conf_get_int(c, "taskmanager.rpc.port"), 0);
    ck_assert_int_eq(fl_conf_get_int(c, "taskmanager.data.port"), 0);
    ck_assert_int_eq(fl_conf_get_int(c, "taskmanager.numberOfTaskSlots"), 1);
    ck_assert_int_eq(fl_conf_get_int(c, "parallelism.default"), 1);
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "heartbeat.interval"), 10000);
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "heartbeat.timeout"), 50000);
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "rpc.ask-timeout"), 10000);
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "cluster.registration.initial-timeout"), 100);
    ck_assert_int_eq(fl_conf_get_bytes(c, "rpc.frame.max-size"), 16777216);
    ck_assert_str_eq(fl_conf_get_str(c, "log.level"), "INFO");
    ck_assert_ptr_null(fl_conf_get_str(c, "taskmanager.resource-id"));
    ck_assert_int_eq(fl_conf_get_bytes(c, "taskmanager.memory.process.size"), 1811939328LL);
    ck_assert_int_eq(fl_conf_get_bytes(c, "taskmanager.memory.segment-size"), 32768);
    ck_assert(fl_conf_get_double(c, "taskmanager.memory.network.fraction") == 0.1);
    ck_assert_int_eq(fl_conf_get_bytes(c, "taskmanager.memory.network.min"), 67108864);
    ck_assert_int_eq(fl_conf_get_bytes(c, "taskmanager.memory.network.max"), 1073741824LL);
    ck_assert_int_eq(fl_conf_get_int(c, "taskmanager.network.numberOfBuffers"), 0); /* unset */
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "execution.buffer-timeout"), 100);
    ck_assert(!fl_conf_contains(c, "rest.port"));
    fl_conf_free(c);
}
END_TEST

START_TEST(test_every_default_is_valid)
{
    /* Each default in config_keys.h must pass its own key's check. */
    static const char *keys[] = {
        "jobmanager.rpc.address", "jobmanager.rpc.port", "jobmanager.bind-host", "rest.address",
        "rest.bind-address", "rest.port", "taskmanager.host", "taskmanager.bind-host",
        "taskmanager.rpc.port", "taskmanager.data.port", "taskmanager.numberOfTaskSlots",
        "taskmanager.resource-id", "parallelism.default", "heartbeat.interval",
        "heartbeat.timeout", "cluster.registration.initial-timeout",
        "cluster.registration.max-timeout", "rpc.frame.max-size", "rpc.ask-timeout",
        "web.refresh-interval", "log.level", "taskmanager.memory.process.size",
        "taskmanager.memory.segment-size", "taskmanager.memory.network.fraction",
        "taskmanager.memory.network.min", "taskmanager.memory.network.max",
        "taskmanager.network.numberOfBuffers", "taskmanager.network.memory.buffers-per-channel",
        "taskmanager.network.memory.floating-buffers-per-gate",
        "taskmanager.network.request-backoff.max", "execution.buffer-timeout",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const fl_conf_key *k = fl_conf_key_find(keys[i]);
        ck_assert_msg(k != NULL, "key %s missing from config_keys.h", keys[i]);
        fl_err err = {{0}};
        if (k->dflt)
            ck_assert_msg(fl_conf_check_value(k, k->dflt, &err) == 0, "default of %s: %s",
                          keys[i], err.msg);
    }
}
END_TEST

START_TEST(test_copy_is_independent)
{
    fl_conf *a = load_ok("rest.port: 9100\nmy.extra: x\n");
    fl_conf *b = fl_conf_copy(a);
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_set(b, "rest.port", "9101", &err), 0);
    ck_assert_int_eq(fl_conf_get_int(a, "rest.port"), 9100);
    ck_assert_int_eq(fl_conf_get_int(b, "rest.port"), 9101);
    ck_assert_str_eq(visited_value(b, "my.extra", false), "x");
    fl_conf_free(a);
    ck_assert_str_eq(visited_value(b, "my.extra", false), "x");
    fl_conf_free(b);
    fl_conf_free(NULL);
}
END_TEST

START_TEST(test_many_keys)
{
    /* More entries than the first allocation holds. */
    char text[8192] = "";
    for (int i = 0; i < 100; i++) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "custom.key%03d: v%d\n", i, i);
    }
    fl_conf *c = load_ok(text);
    visit_buf b = {{0}, 0};
    fl_conf_foreach(c, false, visit_collect, &b);
    ck_assert_int_eq(b.count, 100);
    ck_assert_str_eq(visited_value(c, "custom.key000", false), "v0");
    ck_assert_str_eq(visited_value(c, "custom.key099", false), "v99");
    fl_conf_free(c);
}
END_TEST

/* ---- ranges (issue 20: values that wrap, negative or zero where they must not be) -------- */

/* One value of one key, in a file: refused (naming file, line, key and the range) or taken. */
typedef struct range_case {
    const char *key, *value;
    const char *range_text; /* expected in the message; NULL: the value is accepted */
} range_case;

static const range_case range_cases[] = {
    /* ports: 16 bits; 0 ("any free port") only where the daemon picks one */
    {"rest.port", "70000", "from 1 to 65535"},
    {"rest.port", "65536", "from 1 to 65535"},
    {"rest.port", "0", "from 1 to 65535"},
    {"rest.port", "-1", "from 1 to 65535"},
    {"rest.port", "65535", NULL},
    {"jobmanager.rpc.port", "0", "from 1 to 65535"},
    {"jobmanager.rpc.port", "4464", NULL},
    {"taskmanager.rpc.port", "0", NULL},
    {"taskmanager.rpc.port", "65536", "from 0 to 65535"},
    {"taskmanager.data.port", "-7", "from 0 to 65535"},
    {"taskmanager.data.port", "0", NULL},
    /* slots: what the JobManager accepts in a registration */
    {"taskmanager.numberOfTaskSlots", "4097", "from 1 to 4096"},
    {"taskmanager.numberOfTaskSlots", "200000", "from 1 to 4096"},
    {"taskmanager.numberOfTaskSlots", "0", "from 1 to 4096"},
    {"taskmanager.numberOfTaskSlots", "4096", NULL},
    {"parallelism.default", "0", "from 1 to 32768"},
    {"parallelism.default", "-3", "from 1 to 32768"},
    {"parallelism.default", "32769", "from 1 to 32768"},
    /* sizes that fit their use: a frame length is 32 bits, the bundle limit is size - 1 kb */
    {"rpc.frame.max-size", "8gb", "from 1 mb to 1 gb"},
    {"rpc.frame.max-size", "4 gb", "from 1 mb to 1 gb"},
    {"rpc.frame.max-size", "0", "from 1 mb to 1 gb"},
    {"rpc.frame.max-size", "1023", "from 1 mb to 1 gb"},
    {"rpc.frame.max-size", "1 gb", NULL},
    {"taskmanager.memory.segment-size", "1 kb", "from 4 kb to 64 mb"},
    {"taskmanager.memory.segment-size", "1 gb", "from 4 kb to 64 mb"},
    {"taskmanager.memory.network.fraction", "1.5", "from 0 to 1"},
    {"taskmanager.memory.network.fraction", "-0.1", "from 0 to 1"},
    {"taskmanager.network.numberOfBuffers", "0", "from 1 to 16777216"},
    {"rest.server.max-content-length", "0", "from 1 kb to 1 gb"},
    {"rest.server.max-content-length", "2 gb", "from 1 kb to 1 gb"},
    /* durations: no zero where a timer would spin, nothing that overflows now + d */
    {"heartbeat.interval", "0", "from 1 ms to 365 d"},
    {"heartbeat.timeout", "9223372036854775807", "from 1 ms to 365 d"},
    {"heartbeat.timeout", "106751991 d", "from 1 ms to 365 d"},
    {"heartbeat.timeout", "366 d", "from 1 ms to 365 d"},
    {"heartbeat.timeout", "365 d", NULL},
    {"slot.request.timeout", "0 s", "from 1 ms to 365 d"},
    {"execution.checkpointing.interval", "1 ms", "from 10 ms to 365 d"},
    {"execution.checkpointing.interval", "10 ms", NULL},
    {"execution.buffer-timeout", "-1", NULL},
    {"execution.buffer-timeout", "-2", "from 0 ms to 1 h"},
    {"execution.buffer-timeout", "2 h", "from 0 ms to 1 h"},
    {"pipeline.auto-watermark-interval", "0", NULL},
    /* counts the code allocates by or loops over */
    {"restart-strategy.failure-rate.max-failures-per-interval", "2147483647",
     "from 1 to 100000"},
    {"restart-strategy.failure-rate.max-failures-per-interval", "0", "from 1 to 100000"},
    {"execution.checkpointing.max-concurrent-checkpoints", "0", "from 1 to 1000"},
    {"state.checkpoints.num-retained", "0", "from 1 to 10000"},
    {"restart-strategy.fixed-delay.attempts", "-1", "from 0 to 2147483647"},
    {"restart-strategy.exponential-delay.backoff-multiplier", "0.5", "from 1 to 1000"},
    {"restart-strategy.exponential-delay.jitter-factor", "2", "from 0 to 1"},
    {"jobstore.max-capacity", "0", "from 1 to 1000000"},
    {"jobstore.expiration-time", "0", "from 1 s to 365 d"},
    {"jobmanager.job-name.max-length", "8", "from 16 to 1048576"},
};

START_TEST(test_value_out_of_range_names_key_file_line_range)
{
    for (size_t i = 0; i < sizeof range_cases / sizeof range_cases[0]; i++) {
        const range_case *rc = &range_cases[i];
        char text[512];
        snprintf(text, sizeof text, "# ranges\n%s: %s\n", rc->key, rc->value);
        fl_conf *c = fl_conf_new();
        fl_err err = {{0}};
        int rv = fl_conf_load_string(c, text, "r.yaml", &err);
        if (!rc->range_text) {
            ck_assert_msg(rv == 0, "%s: %s refused: %s", rc->key, rc->value, err.msg);
        } else {
            ck_assert_msg(rv == -1, "%s: %s accepted", rc->key, rc->value);
            ck_assert_has(err.msg, "r.yaml:2:");    /* file and line */
            ck_assert_has(err.msg, rc->key);        /* key */
            ck_assert_has(err.msg, rc->range_text); /* range */
            ck_assert(!fl_conf_contains(c, rc->key));
        }
        fl_conf_free(c);
    }
}
END_TEST

START_TEST(test_range_applies_to_D_and_set)
{
    /* -D at start-up and a job's -D at submission (fl_conf_set) are checked the same way */
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    ck_assert_int_eq(fl_conf_set_dynamic(c, "rest.port=70000", &err), -1);
    ck_assert_has(err.msg, "-D rest.port");
    ck_assert_has(err.msg, "from 1 to 65535");
    ck_assert_int_eq(fl_conf_set(c, "parallelism.default", "0", &err), -1);
    ck_assert_has(err.msg, "from 1 to 32768");
    ck_assert_int_eq(fl_conf_set(c, "parallelism.default", "7", &err), 0);
    ck_assert_int_eq(fl_conf_get_int(c, "parallelism.default"), 7);
    fl_conf_free(c);
}
END_TEST

START_TEST(test_string_lengths)
{
    /* a resource id the ResourceManager would refuse (>= 128 bytes) or a working directory the
     * TaskExecutor would truncate (>= 1024) is refused at start, not retried forever */
    char text[4096], id[200];
    memset(id, 'r', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    snprintf(text, sizeof text, "taskmanager.resource-id: %s\n", id);
    fl_err err;
    load_fail(text, "s.yaml", &err);
    ck_assert_has(err.msg, "taskmanager.resource-id");
    ck_assert_has(err.msg, "1 to 127 bytes");
    char dir[1100] = "/";
    memset(dir + 1, 'd', sizeof dir - 2);
    dir[sizeof dir - 1] = '\0';
    snprintf(text, sizeof text, "io.tmp.dirs: %s\n", dir);
    load_fail(text, "s.yaml", &err);
    ck_assert_has(err.msg, "1 to 1023 bytes");
    load_fail("jobmanager.rpc.address: \"\"\n", "s.yaml", &err);
    ck_assert_has(err.msg, "jobmanager.rpc.address");
    fl_conf *c = load_ok("taskmanager.resource-id: tm-1\n");
    ck_assert_str_eq(fl_conf_get_str(c, "taskmanager.resource-id"), "tm-1");
    fl_conf_free(c);
}
END_TEST

START_TEST(test_seconds_key_as_in_flink)
{
    /* jobstore.expiration-time is seconds in Flink: a bare 3600 is an hour, units work too */
    fl_conf *c = fl_conf_new();
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "jobstore.expiration-time"), 3600000);
    fl_conf_free(c);
    c = load_ok("jobstore.expiration-time: 90\n");
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "jobstore.expiration-time"), 90000);
    fl_conf_free(c);
    c = load_ok("jobstore.expiration-time: 2 min\n");
    ck_assert_int_eq(fl_conf_get_duration_ms(c, "jobstore.expiration-time"), 120000);
    fl_conf_free(c);
    int64_t v = 0;
    ck_assert_int_eq(fl_parse_seconds_ms("-5", &v), -1);
    ck_assert_int_eq(fl_parse_seconds_ms("9223372036854775807", &v), -1); /* * 1000 overflows */
    ck_assert_int_eq(fl_parse_seconds_ms("9223372036854775", &v), 0);
    ck_assert_int_eq(v, 9223372036854775000LL);
}
END_TEST

/* Each key's range is well formed, contains its default, and its ends are exactly the ends:
 * the last value inside is taken, the first one outside refused. */
START_TEST(test_every_key_range_consistent)
{
    size_t n;
    const fl_conf_key *keys = fl_conf_keys(&n);
    ck_assert_int_ge(n, 60);
    for (size_t i = 0; i < n; i++) {
        const fl_conf_key *k = &keys[i];
        fl_err err = {{0}};
        if (k->type == FL_CT_BOOL || k->type == FL_CT_ENUM) {
            ck_assert_msg(k->range == NULL, "%s: a range on a bool or enum", k->name);
            continue;
        }
        ck_assert_msg(k->range != NULL, "%s has no range in config_keys.h", k->name);
        if (k->dflt)
            ck_assert_msg(fl_conf_check_value(k, k->dflt, &err) == 0, "default of %s: %s",
                          k->name, err.msg);
        const char *dots = strstr(k->range, "..");
        ck_assert_msg(dots != NULL, "%s: range '%s'", k->name, k->range);
        char lo[64], hi[64], out[64];
        snprintf(lo, sizeof lo, "%.*s", (int)(dots - k->range), k->range);
        snprintf(hi, sizeof hi, "%s", dots + 2);
        if (k->type == FL_CT_STRING) {
            long l = atol(lo), h = atol(hi);
            ck_assert_msg(l >= 0 && l <= h && h <= 1 << 20, "%s: range %s", k->name, k->range);
            char *s = malloc((size_t)h + 2);
            memset(s, 'x', (size_t)h + 1);
            s[h] = '\0';
            ck_assert_msg(fl_conf_check_value(k, s, &err) == 0, "%s: %ld bytes", k->name, h);
            s[h] = 'x';
            s[h + 1] = '\0';
            ck_assert_msg(fl_conf_check_value(k, s, &err) == -1, "%s: %ld bytes", k->name, h + 1);
            if (l > 0) {
                s[l - 1] = '\0';
                ck_assert_msg(fl_conf_check_value(k, s, &err) == -1, "%s: %ld bytes", k->name,
                              l - 1);
            }
            free(s);
            continue;
        }
        ck_assert_msg(fl_conf_check_value(k, lo, &err) == 0, "%s: low end %s: %s", k->name, lo,
                      err.msg);
        ck_assert_msg(fl_conf_check_value(k, hi, &err) == 0, "%s: high end %s: %s", k->name, hi,
                      err.msg);
        if (k->type == FL_CT_DOUBLE) {
            double l = atof(lo), h = atof(hi);
            ck_assert_msg(l <= h, "%s: range %s", k->name, k->range);
            snprintf(out, sizeof out, "%.6f", h + 0.001);
            ck_assert_msg(fl_conf_check_value(k, out, &err) == -1, "%s: %s", k->name, out);
            snprintf(out, sizeof out, "%.6f", l - 0.001);
            ck_assert_msg(fl_conf_check_value(k, out, &err) == -1, "%s: %s", k->name, out);
            continue;
        }
        /* integers, durations (ms), sizes (bytes): one past each end in the smallest unit */
        int64_t l, h;
        if (k->type == FL_CT_INT) {
            ck_assert_int_eq(fl_parse_int(lo, &l), 0);
            ck_assert_int_eq(fl_parse_int(hi, &h), 0);
        } else if (k->type == FL_CT_MEMORY) {
            ck_assert_int_eq(fl_parse_bytes(lo, &l), 0);
            ck_assert_int_eq(fl_parse_bytes(hi, &h), 0);
        } else {
            ck_assert_int_eq(fl_parse_duration_ms(lo, &l), 0);
            ck_assert_int_eq(fl_parse_duration_ms(hi, &h), 0);
        }
        ck_assert_msg(l <= h, "%s: range %s", k->name, k->range);
        const char *unit = k->type == FL_CT_INT ? "" : k->type == FL_CT_MEMORY ? " b" : " ms";
        snprintf(out, sizeof out, "%lld%s", (long long)h + 1, unit);
        ck_assert_msg(fl_conf_check_value(k, out, &err) == -1, "%s: %s taken", k->name, out);
        ck_assert_has(err.msg, hi);
        if (l > 0 || k->type == FL_CT_INT) {
            snprintf(out, sizeof out, "%lld%s", (long long)l - 1, unit);
            if (!(k->type == FL_CT_TIMEOUT && l - 1 == -1))
                ck_assert_msg(fl_conf_check_value(k, out, &err) == -1, "%s: %s taken", k->name,
                              out);
        }
    }
}
END_TEST

/* ---- loading is linear ----------------------------------------------------------------- */

/* CPU time of this process (the test's forked child): other processes do not count. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A file of n distinct keys, loaded; the CPU seconds it took (best of `runs`). */
static double time_load(int n, int runs)
{
    size_t cap = (size_t)n * 40 + 1;
    char *text = malloc(cap), *p = text;
    for (int i = 0; i < n; i++)
        p += sprintf(p, "custom.key%07d: value %d\n", i, i);
    double best = 1e9;
    for (int r = 0; r < runs; r++) {
        fl_conf *c = fl_conf_new();
        fl_err err = {{0}};
        double t0 = cpu_seconds();
        ck_assert_int_eq(fl_conf_load_string(c, text, "big.yaml", &err), 0);
        double t = cpu_seconds() - t0;
        best = t < best ? t : best;
        char key[32];
        snprintf(key, sizeof key, "custom.key%07d", n - 1);
        ck_assert(fl_conf_contains(c, key));
        ck_assert(!fl_conf_contains(c, "custom.key"));
        fl_conf_free(c);
    }
    free(text);
    return best;
}

START_TEST(test_load_is_linear)
{
    /* 10x the keys must cost about 10x, not 100x (quadratic: 100,000 keys took 15.8 s).
     * CPU time of this process, best of three: independent of the machine's speed and load */
    double t10k = time_load(10000, 3), t100k = time_load(100000, 3);
    double ratio = t100k / (t10k > 1e-4 ? t10k : 1e-4);
    fprintf(stderr, "config load: 10,000 keys %.1f ms, 100,000 keys %.1f ms (x%.1f)\n",
            t10k * 1e3, t100k * 1e3, ratio);
    ck_assert_msg(ratio < 30, "10,000 keys: %.3f s, 100,000 keys: %.3f s: x%.1f, not linear",
                  t10k, t100k, ratio);
}
END_TEST

START_TEST(test_unknown_key_warnings_bounded)
{
    /* a file of 100 unknown keys draws 20 lines naming them and one with the count, not 100 */
    char text[8192] = "";
    for (int i = 0; i < 100; i++) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "unknown.key%03d: v\n", i);
    }
    fl_conf *c = load_ok(text);
    char *log = tu_log_text();
    ck_assert_int_eq(tu_count(log, "unknown configuration key '"), 20);
    ck_assert_has(log, "unknown.key019");
    ck_assert_lacks(log, "unknown.key020");
    ck_assert_has(log, "80 more unknown configuration keys");
    ck_assert(fl_conf_contains(c, "unknown.key099"));
    free(log);
    fl_conf_free(c);
}
END_TEST

START_TEST(test_copy_does_not_warn_again)
{
    /* the Dispatcher copies the configuration for every job: no warnings per submission */
    fl_conf *c = load_ok("my.unknown: 1\n");
    char *log = tu_log_text();
    int before = tu_count(log, "unknown configuration key");
    free(log);
    fl_conf *copy = fl_conf_copy(c);
    log = tu_log_text();
    ck_assert_int_eq(tu_count(log, "unknown configuration key"), before);
    free(log);
    ck_assert(fl_conf_contains(copy, "my.unknown"));
    fl_conf_free(copy);
    fl_conf_free(c);
}
END_TEST

static Suite *config_keys_suite(void)
{
    Suite *s = suite_create("config keys");
    TCase *tc;
    tc = tcase_create("file");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_load_file_missing);
    suite_add_tcase(s, tc);
    tc = tcase_create("values");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_set_checks_value);
    suite_add_tcase(s, tc);
    tc = tcase_create("keys");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_unknown_key_accepted_with_warning);
    tcase_add_test(tc, test_key_table);
    tcase_add_test(tc, test_secret_key_detection);
    tcase_add_test(tc, test_secret_values_masked_by_foreach);
    tcase_add_test(tc, test_secret_never_in_error_message);
    tcase_add_test(tc, test_nonsecret_bad_line_is_echoed);
    tcase_add_test(tc, test_defaults_when_unset);
    tcase_add_test(tc, test_every_default_is_valid);
    tcase_add_test(tc, test_copy_is_independent);
    tcase_add_test(tc, test_many_keys);
    suite_add_tcase(s, tc);
    tc = tcase_create("overrides");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_dynamic_override_beats_file);
    tcase_add_test(tc, test_dynamic_malformed);
    tcase_add_test(tc, test_startup_file_and_both_D_forms);
    tcase_add_test(tc, test_startup_bad_file_fails);
    tcase_add_test(tc, test_startup_D_does_not_rescue_bad_file);
    tcase_add_test(tc, test_startup_bad_D_fails);
    tcase_add_test(tc, test_startup_explicit_dir_without_file_fails);
    tcase_add_test(tc, test_startup_log_masks_secrets);
    suite_add_tcase(s, tc);
    tc = tcase_create("ranges");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_value_out_of_range_names_key_file_line_range);
    tcase_add_test(tc, test_range_applies_to_D_and_set);
    tcase_add_test(tc, test_string_lengths);
    tcase_add_test(tc, test_seconds_key_as_in_flink);
    tcase_add_test(tc, test_every_key_range_consistent);
    tcase_add_test(tc, test_unknown_key_warnings_bounded);
    tcase_add_test(tc, test_copy_does_not_warn_again);
    suite_add_tcase(s, tc);
    tc = tcase_create("scale");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_load_is_linear);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(config_keys_suite());
}
