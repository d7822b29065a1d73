/* check_zk.c -- unit tests of common/zk.c (the ZooKeeper client and its one conversion of
 * ZooKeeper's codes) and common/leader_retrieval.c (the leader node's contents).
 *
 * "config" needs nothing. "server" runs against a real ZooKeeper server that the suite
 * starts (java and the Debian zookeeper package, as bin/zookeeper.sh runs it) on a free
 * loopback port in a temporary directory, and stops at the end; without java or the
 * package those tests fail with the reason (make deps installs both). Each test works in a
 * cluster root of its own, so they do not see each other's nodes.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/config.h"
#include "common/leader_retrieval.h"
#include "common/mailbox.h"
#include "common/util.h"
#include "common/zk.h"
#include "testutil.h"
#include "testzk.h"

/* ---- configuration ---------------------------------------------------------------------- */

static fl_conf *conf_of(const char *text)
{
    fl_conf *c = fl_conf_new();
    fl_err err;
    ck_assert_msg(fl_conf_load_string(c, text, "test", &err) == 0, "%s", err.msg);
    return c;
}

START_TEST(test_ha_enabled)
{
    fl_conf *c = conf_of("");
    ck_assert(!fl_ha_enabled(c));
    fl_conf_free(c);
    c = conf_of("high-availability: zookeeper\n");
    ck_assert(fl_ha_enabled(c));
    fl_conf_free(c);
    c = conf_of("high-availability.type: ZooKeeper\n");
    ck_assert(fl_ha_enabled(c));
    fl_conf_free(c);
    /* the new key wins over the older one */
    c = conf_of("high-availability: zookeeper\nhigh-availability.type: NONE\n");
    ck_assert(!fl_ha_enabled(c));
    fl_conf_free(c);
    fl_err err;
    c = fl_conf_new();
    ck_assert_int_eq(fl_conf_set(c, "high-availability.type", "etcd", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "NONE|zookeeper"));
    fl_conf_free(c);
}
END_TEST

START_TEST(test_zk_conf)
{
    fl_zk_conf zc;
    fl_err err;
    fl_conf *c = conf_of("high-availability.type: zookeeper\n");
    ck_assert_int_eq(fl_zk_conf_load(c, &zc, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "high-availability.zookeeper.quorum"));
    fl_conf_free(c);

    c = conf_of("high-availability.zookeeper.quorum: a:1,b.example:2181\n"
                "high-availability.zookeeper.path.root: flint\n"
                "high-availability.cluster-id: /prod/one\n"
                "high-availability.zookeeper.client.session-timeout: 2 s\n");
    ck_assert_int_eq(fl_zk_conf_load(c, &zc, &err), 0);
    ck_assert_str_eq(zc.quorum, "a:1,b.example:2181");
    ck_assert_str_eq(zc.root, "/flint/prod/one");
    ck_assert_int_eq(zc.session_timeout_ms, 2000);
    ck_assert_int_eq(zc.connection_timeout_ms, 15000); /* Flink's defaults */
    ck_assert_int_eq(zc.retry_wait_ms, 5000);
    ck_assert_int_eq(zc.max_retries, 3);
    fl_conf_free(c);

    static const char *bad[] = {
        "high-availability.zookeeper.quorum: a\n",
        "high-availability.zookeeper.quorum: a:1,,b:2\n",
        "high-availability.zookeeper.quorum: a:99999\n",
        "high-availability.zookeeper.quorum: a:1/chroot\n",
        "high-availability.zookeeper.quorum: a:1\nhigh-availability.cluster-id: x/../y\n",
        "high-availability.zookeeper.quorum: a:1\nhigh-availability.cluster-id: /x/\n",
        "high-availability.zookeeper.quorum: a:1\nhigh-availability.zookeeper.path.root: /a//b\n",
        "high-availability.zookeeper.quorum: a:1\nhigh-availability.zookeeper.path.root: /\n"
        "high-availability.cluster-id: /zookeeper\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = conf_of(bad[i]);
        ck_assert_msg(fl_zk_conf_load(c, &zc, &err) == -1, "accepted: %s", bad[i]);
        ck_assert_msg(strstr(err.msg, "high-availability."), "no key named: %s", err.msg);
        fl_conf_free(c);
    }
    c = fl_conf_new();
    ck_assert_int_eq(fl_conf_set(c, "high-availability.zookeeper.client.session-timeout",
                                 "500 ms", &err), -1); /* below its range */
    fl_conf_free(c);
}
END_TEST

START_TEST(test_check_path)
{
    fl_err err;
    static const char *good[] = {"/a", "/a/b", "/flint/default", "/a.b/c-d_e"};
    static const char *bad[] = {"", "a", "/a/", "//a", "/a//b", "/./a", "/a/..", "/a\nb"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(fl_zk_check_path(good[i], true, &err) == 0, "%s: %s", good[i], err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(fl_zk_check_path(bad[i], true, &err) == -1, "accepted '%s'", bad[i]);
    ck_assert_int_eq(fl_zk_check_path("name", false, &err), 0);
    ck_assert_int_eq(fl_zk_check_path("a/b", false, &err), -1);
    ck_assert_int_eq(fl_zk_check_path("..", false, &err), -1);
}
END_TEST

START_TEST(test_leader_info)
{
    fl_leader_info li = {.rpc_port = 6123}, back;
    fl_err err;
    snprintf(li.rpc_host, sizeof li.rpc_host, "jm-1.example");
    snprintf(li.rest_url, sizeof li.rest_url, "http://jm-1.example:8081");
    snprintf(li.session_id, sizeof li.session_id, "0123456789abcdef0123456789abcdef");
    char *s = fl_leader_info_format(&li);
    ck_assert_int_eq(fl_leader_info_parse(s, strlen(s), &back, &err), 0);
    ck_assert(fl_leader_info_equal(&li, &back));
    free(s);
    static const char *bad[] = {
        "",
        "[]",
        "{\"rpc-host\":\"h\",\"rpc-port\":1,\"rest-url\":\"http://h:1\"}",
        "{\"rpc-host\":\"h\",\"rpc-port\":0,\"rest-url\":\"http://h:1\",\"session-id\":\"s\"}",
        "{\"rpc-host\":\"h\",\"rpc-port\":\"1\",\"rest-url\":\"http://h:1\",\"session-id\":\"s\"}",
        "{\"rpc-host\":\"h\",\"rpc-port\":1,\"rest-url\":\"ftp://h:1\",\"session-id\":\"s\"}",
        "{\"rpc-host\":\"h\\n\",\"rpc-port\":1,\"rest-url\":\"http://h:1\",\"session-id\":\"s\"}",
        "{\"rpc-host\":\"h\\u0000x\",\"rpc-port\":1,\"rest-url\":\"http://h:1\",\"session-id\":\"s\"}",
        "{\"rpc-host\":\"h\",\"rpc-port\":1,\"rest-url\":\"http://h:1\","
        "\"session-id\":\"0123456789abcdef0123456789abcdef0\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(fl_leader_info_parse(bad[i], strlen(bad[i]), &back, &err) == -1,
                      "accepted: %s", bad[i]);
    char big[2000];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(fl_leader_info_parse(big, sizeof big, &back, &err), -1);
}
END_TEST

/* ---- a real server -------------------------------------------------------------------- */

/* Events of a session, as the test's endpoint saw them. */
typedef struct seen {
    tu_sync sync;
    int connected, expired, disconnected;
    int events;
    char last_path[256];
    int last_event;
} seen;

static seen S;

static void on_state(void *ctx, fl_zk *zk, int state)
{
    tu_lock(&S.sync);
    if (state == FL_ZK_CONNECTED)
        S.connected++;
    else if (state == FL_ZK_SESSION_EXPIRED)
        S.expired++;
    else
        S.disconnected++;
    tu_unlock_signal(&S.sync);
}

static void on_watch(void *ctx, fl_zk *zk, const char *path, int event)
{
    tu_lock(&S.sync);
    S.events++;
    snprintf(S.last_path, sizeof S.last_path, "%s", path);
    S.last_event = event;
    tu_unlock_signal(&S.sync);
}

static fl_endpoint *ep;

/* A client in a root of this test's own ("/t/<name>"). */
static fl_zk *client(const char *name, int64_t session_ms)
{
    fl_zk_conf zc = {.session_timeout_ms = session_ms, .connection_timeout_ms = 10000,
                     .retry_wait_ms = 100, .max_retries = 3};
    fl_err err;
    ck_assert_msg(tz_port_open(tz_port), "no ZooKeeper server runs (java and the Debian "
                                      "zookeeper package are needed: make deps)");
    snprintf(zc.quorum, sizeof zc.quorum, "127.0.0.1:%d", tz_port);
    snprintf(zc.root, sizeof zc.root, "/t/%s", name);
    memset(&S, 0, sizeof S);
    tu_sync_init(&S.sync);
    ep = fl_endpoint_new("zk-events");
    ck_assert_int_eq(fl_endpoint_start(ep, NULL, &err), 0);
    fl_zk_events ev = {ep, NULL, on_state, on_watch};
    fl_zk *zk = fl_zk_new(&zc, &ev, &err);
    ck_assert_msg(zk != NULL, "%s", err.msg);
    ck_assert_msg(fl_zk_wait_connected(zk, 45000, &err) == 0, "%s", err.msg);
    return zk;
}

static void client_free(fl_zk *zk)
{
    fl_zk_free(zk);
    fl_endpoint_free(ep);
}

START_TEST(test_nodes)
{
    fl_zk *zk = client("nodes", 5000);
    fl_err err;
    char *data;
    size_t len;
    int version;
    int64_t owner;
    ck_assert_int_eq(fl_zk_get(zk, "/a", false, &data, &len, NULL, NULL, &err), FL_ZK_NONODE);
    ck_assert_ptr_nonnull(strstr(err.msg, "/t/nodes/a"));
    ck_assert_int_eq(fl_zk_create(zk, "/a", "x", 1, 0, NULL, 0, &err), FL_ZK_NONODE);
    ck_assert_int_eq(fl_zk_mkdirs(zk, "/a/b", &err), 0);
    ck_assert_int_eq(fl_zk_mkdirs(zk, "/a/b", &err), 0); /* existing: fine */
    ck_assert_int_eq(fl_zk_create(zk, "/a/b/c", "hello", 5, 0, NULL, 0, &err), 0);
    ck_assert_int_eq(fl_zk_create(zk, "/a/b/c", "again", 5, 0, NULL, 0, &err), FL_ZK_EXISTS);
    ck_assert_int_eq(fl_zk_get(zk, "/a/b/c", false, &data, &len, &version, &owner, &err), 0);
    ck_assert_str_eq(data, "hello");
    ck_assert_int_eq(len, 5);
    ck_assert_int_eq(owner, 0);
    free(data);
    ck_assert_int_eq(fl_zk_set(zk, "/a/b/c", "v2", 2, version + 7, &err), FL_ZK_BADVERSION);
    ck_assert_int_eq(fl_zk_set(zk, "/a/b/c", "v2", 2, version, &err), 0);
    ck_assert_int_eq(fl_zk_delete(zk, "/a/b", -1, &err), FL_ZK_NOTEMPTY);
    char created[200];
    ck_assert_int_eq(fl_zk_create(zk, "/a/b/s-", NULL, 0, FL_ZK_EPHEMERAL | FL_ZK_SEQUENTIAL,
                                  created, sizeof created, &err), 0);
    ck_assert_int_eq(strncmp(created, "/a/b/s-", 7), 0); /* relative, with its sequence */
    ck_assert_int_eq(strlen(created), 7 + 10);
    ck_assert_int_eq(fl_zk_exists(zk, created, false, NULL, &owner, &err), 0);
    ck_assert_int_eq(owner, fl_zk_session_id(zk));
    char **names;
    int n;
    ck_assert_int_eq(fl_zk_children(zk, "/a/b", false, &names, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(names[0], "c"); /* sorted */
    fl_zk_names_free(names, n);
    /* a large value comes back whole */
    size_t big = 200 * 1024;
    char *buf = malloc(big);
    memset(buf, 'z', big);
    ck_assert_int_eq(fl_zk_set(zk, "/a/b/c", buf, big, -1, &err), 0);
    ck_assert_int_eq(fl_zk_get(zk, "/a/b/c", false, &data, &len, NULL, NULL, &err), 0);
    ck_assert_int_eq(len, big);
    ck_assert_int_eq(memcmp(data, buf, big), 0);
    free(data);
    free(buf);
    client_free(zk);
}
END_TEST

START_TEST(test_transactions)
{
    fl_zk *zk = client("txn", 5000);
    fl_err err;
    char *data;
    size_t len;
    ck_assert_int_eq(fl_zk_mkdirs(zk, "/d", &err), 0);
    ck_assert_int_eq(fl_zk_create(zk, "/d/guard", NULL, 0, FL_ZK_EPHEMERAL, NULL, 0, &err), 0);
    fl_zk_txn *t = fl_zk_txn_new();
    fl_zk_txn_check(t, "/d/guard", -1);
    fl_zk_txn_create(t, "/d/x", "1", 1, 0);
    fl_zk_txn_create(t, "/d/y", "2", 1, 0);
    ck_assert_int_eq(fl_zk_txn_size(t), 3);
    ck_assert_int_eq(fl_zk_txn_commit(zk, t, &err), 0);
    fl_zk_txn_free(t);
    /* all or nothing: the failing check keeps the create from happening, and is named */
    t = fl_zk_txn_new();
    fl_zk_txn_create(t, "/d/z", "3", 1, 0);
    fl_zk_txn_delete(t, "/d/x", -1);
    fl_zk_txn_check(t, "/d/no-such-guard", -1);
    ck_assert_int_eq(fl_zk_txn_commit(zk, t, &err), FL_ZK_NONODE);
    ck_assert_msg(strstr(err.msg, "check /t/txn/d/no-such-guard"), "%s", err.msg);
    fl_zk_txn_free(t);
    ck_assert_int_eq(fl_zk_exists(zk, "/d/z", false, NULL, NULL, &err), FL_ZK_NONODE);
    ck_assert_int_eq(fl_zk_get(zk, "/d/x", false, &data, &len, NULL, NULL, &err), 0);
    free(data);
    /* set with a version, delete */
    t = fl_zk_txn_new();
    fl_zk_txn_set(t, "/d/x", "9", 1, 0);
    fl_zk_txn_delete(t, "/d/y", -1);
    ck_assert_int_eq(fl_zk_txn_commit(zk, t, &err), 0);
    fl_zk_txn_free(t);
    ck_assert_int_eq(fl_zk_get(zk, "/d/x", false, &data, &len, NULL, NULL, &err), 0);
    ck_assert_str_eq(data, "9");
    free(data);
    ck_assert_int_eq(fl_zk_exists(zk, "/d/y", false, NULL, NULL, &err), FL_ZK_NONODE);
    client_free(zk);
}
END_TEST

START_TEST(test_watches_and_sessions)
{
    fl_zk *zk = client("watch", 5000);
    fl_err err;
    ck_assert(TU_WAIT_FOR(&S.sync, S.connected >= 1, 5000));
    ck_assert_int_eq(fl_zk_mkdirs(zk, "/w", &err), 0);
    /* an exists-watch on a missing node fires when it is created */
    ck_assert_int_eq(fl_zk_exists(zk, "/w/n", true, NULL, NULL, &err), FL_ZK_NONODE);
    ck_assert_int_eq(fl_zk_create(zk, "/w/n", "1", 1, FL_ZK_EPHEMERAL, NULL, 0, &err), 0);
    ck_assert(TU_WAIT_FOR(&S.sync, S.events >= 1, 5000));
    ck_assert_str_eq(S.last_path, "/w/n");
    ck_assert_int_eq(S.last_event, FL_ZK_CREATED);
    /* a restart is a new session: its ephemeral node is gone, events of the old one too */
    int64_t old = fl_zk_session_id(zk);
    ck_assert_int_eq(fl_zk_restart(zk, &err), 0);
    ck_assert_int_eq(fl_zk_wait_connected(zk, 10000, &err), 0);
    ck_assert(fl_zk_session_id(zk) != old);
    ck_assert_int_eq(fl_zk_exists(zk, "/w/n", false, NULL, NULL, &err), FL_ZK_NONODE);
    /* without a server, calls fail at once instead of waiting for one */
    tz_server_stop();
    ck_assert(TU_WAIT_FOR(&S.sync, S.disconnected >= 1, 5000));
    int64_t t0 = tu_now_ms();
    ck_assert_int_eq(fl_zk_create(zk, "/w/m", NULL, 0, 0, NULL, 0, &err), FL_ZK_CONNLOSS);
    ck_assert_int_lt(tu_now_ms() - t0, 100);
    ck_assert_ptr_nonnull(strstr(err.msg, "not connected"));
    ck_assert(!fl_zk_is_connected(zk));
    /* back within the session: the same session goes on */
    int64_t sid = fl_zk_session_id(zk);
    tz_server_start();
    ck_assert_int_eq(fl_zk_wait_connected(zk, 15000, &err), 0);
    ck_assert_int_eq(fl_zk_session_id(zk), sid);
    client_free(zk);
}
END_TEST

START_TEST(test_leader_read)
{
    fl_zk *zk = client("leader", 5000);
    fl_err err;
    fl_leader_info li = {.rpc_port = 7}, back;
    snprintf(li.rpc_host, sizeof li.rpc_host, "h");
    snprintf(li.rest_url, sizeof li.rest_url, "http://h:8");
    snprintf(li.session_id, sizeof li.session_id, "%032x", 5);
    ck_assert_int_eq(fl_leader_read(zk, false, &back, &err), FL_ZK_NONODE);
    ck_assert_int_eq(fl_zk_mkdirs(zk, "/leader", &err), 0);
    char *s = fl_leader_info_format(&li);
    ck_assert_int_eq(fl_zk_create(zk, FL_LEADER_NODE, s, strlen(s), FL_ZK_EPHEMERAL, NULL, 0,
                                  &err), 0);
    free(s);
    ck_assert_int_eq(fl_leader_read(zk, false, &back, &err), 0);
    ck_assert(fl_leader_info_equal(&li, &back));
    ck_assert_int_eq(fl_zk_set(zk, FL_LEADER_NODE, "garbage", 7, -1, &err), 0);
    ck_assert_int_eq(fl_leader_read(zk, false, &back, &err), -1);
    client_free(zk);
}
END_TEST

static Suite *zk_suite(void)
{
    Suite *s = suite_create("zk");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_ha_enabled);
    tcase_add_test(tc, test_zk_conf);
    tcase_add_test(tc, test_check_path);
    tcase_add_test(tc, test_leader_info);
    suite_add_tcase(s, tc);
    tc = tcase_create("server");
    tcase_add_unchecked_fixture(tc, tz_setup, tz_teardown);
    tcase_set_timeout(tc, 120); /* a Java ZooKeeper starts slowly on a loaded machine */
    tcase_add_test(tc, test_nodes);
    tcase_add_test(tc, test_transactions);
    tcase_add_test(tc, test_leader_read);
    tcase_add_test(tc, test_watches_and_sessions); /* last: it restarts the server */
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_ERROR);
    return tu_run(zk_suite());
}
