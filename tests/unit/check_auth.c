/* check_auth.c -- unit tests of common/auth.c (the cluster secret and its handshake) and of
 * the HMAC-SHA256 and SHA-256 of common/sha256.c they rest on.
 *
 * The two sides of a handshake are two fl_auth state machines joined by evbuffers, no
 * sockets: what one writes to its `out` is moved to the other's `in`. Expected digests are
 * the published test vectors (FIPS 180-4 examples, RFC 4231), never values computed by the
 * code under test; expected handshake frames are recomputed here from the protocol in
 * auth.h with the HMAC primitive (checked against RFC 4231 first).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/auth.h"
#include "common/frame.h"
#include "common/sha256.h"
#include "testutil.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

START_TEST(test_sha256_vectors)
{
    uint8_t d[32];
    char h[65];
    fl_sha256("abc", 3, d);
    fl_sha256_hex(d, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fl_sha256("", 0, d);
    fl_sha256_hex(d, h);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    fl_sha256(m, strlen(m), d);
    fl_sha256_hex(d, h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(test_hmac_rfc4231)
{
    uint8_t key[20], out[32];
    char h[65];
    memset(key, 0x0b, sizeof key);
    const void *parts[] = {"Hi ", "There"};
    size_t lens[] = {3, 5};
    fl_hmac_sha256(key, sizeof key, parts, lens, 2, out); /* test case 1, in two parts */
    hex(out, 32, h);
    ck_assert_str_eq(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    const void *p2[] = {"what do ya want for nothing?"};
    size_t l2[] = {28};
    fl_hmac_sha256((const uint8_t *)"Jefe", 4, p2, l2, 1, out); /* test case 2 */
    hex(out, 32, h);
    ck_assert_str_eq(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
    ck_assert(fl_digest_equal(a, b, 4));
    b[3] = 5;
    ck_assert(!fl_digest_equal(a, b, 4));
}
END_TEST

START_TEST(test_secret_bounds)
{
    fl_secret s;
    fl_err err;
    ck_assert_int_eq(fl_secret_from_bytes(&s, "short", 5, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "16 bytes"));
    /* trailing white space does not count (files end with a newline) */
    ck_assert_int_eq(fl_secret_from_bytes(&s, "0123456789abcde\n\n  ", 19, &err), -1);
    ck_assert_int_eq(fl_secret_from_bytes(&s, "0123456789abcdef\n", 17, &err), 0);
    ck_assert(s.set);
    fl_secret t;
    ck_assert_int_eq(fl_secret_from_bytes(&t, "0123456789abcdef", 16, &err), 0);
    ck_assert_mem_eq(s.key, t.key, sizeof s.key);
    ck_assert_int_eq(fl_secret_from_bytes(&t, "0123456789abcdeF", 16, &err), 0);
    ck_assert(memcmp(s.key, t.key, sizeof s.key) != 0);
}
END_TEST

START_TEST(test_secret_file)
{
    char dir[256], path[300];
    fl_secret s;
    fl_err err;
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/secret", dir);
    fl_conf *conf = fl_conf_new();
    ck_assert_int_eq(fl_secret_load(conf, &s, &err), 0); /* unset: no secret */
    ck_assert(!s.set);
    ck_assert_int_eq(fl_conf_set(conf, "security.cluster.secret-file", path, &err), 0);
    ck_assert_int_eq(fl_secret_load(conf, &s, &err), -1); /* missing */
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    tu_write_file(path, "tiny\n");
    ck_assert_int_eq(fl_secret_load(conf, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "16 bytes"));
    tu_write_file(path, "a cluster secret of some length\n");
    chmod(path, 0600);
    ck_assert_int_eq(fl_secret_load(conf, &s, &err), 0);
    ck_assert(s.set);
    fl_secret t;
    ck_assert_int_eq(fl_secret_from_bytes(&t, "a cluster secret of some length", 31, &err), 0);
    ck_assert_mem_eq(s.key, t.key, sizeof s.key);
    /* a symlink is not followed */
    char link[320];
    snprintf(link, sizeof link, "%s/link", dir);
    ck_assert_int_eq(symlink(path, link), 0);
    ck_assert_int_eq(fl_conf_set(conf, "security.cluster.secret-file", link, &err), 0);
    ck_assert_int_eq(fl_secret_load(conf, &s, &err), -1);
    unlink(link);
    unlink(path);
    rmdir(dir);
    fl_conf_free(conf);
}
END_TEST

/* ---- the handshake ------------------------------------------------------------------ */

typedef struct side {
    fl_auth a;
    struct evbuffer *in, *out;
    int rc;
    char why[300];
} side;

static void sides_new(side *acc, side *con)
{
    memset(acc, 0, sizeof *acc);
    memset(con, 0, sizeof *con);
    acc->in = evbuffer_new();
    acc->out = evbuffer_new();
    con->in = evbuffer_new();
    con->out = evbuffer_new();
}

static void sides_free(side *acc, side *con)
{
    evbuffer_free(acc->in);
    evbuffer_free(acc->out);
    evbuffer_free(con->in);
    evbuffer_free(con->out);
}

/* Moves what `from` wrote to `to`'s input. */
static void deliver(side *from, side *to)
{
    evbuffer_add_buffer(to->in, from->out);
}

static void step(side *s)
{
    s->rc = fl_auth_step(&s->a, s->in, s->out, s->why, sizeof s->why);
}

/* Runs a handshake to its end; the connector queues `pipelined` before the challenge. */
static void run(side *acc, side *con, const fl_secret *ka, const fl_secret *kc,
                const char *pipelined)
{
    fl_auth_accept(&acc->a, ka, acc->out);
    fl_auth_connect(&con->a, kc);
    if (pipelined) /* the connector's own frames, queued before the challenge came */
        evbuffer_add(con->out, pipelined, strlen(pipelined));
    deliver(acc, con);
    step(con);          /* challenge -> response (ahead of the queued bytes) */
    deliver(con, acc);
    step(acc);          /* response -> AUTH_OK */
    deliver(acc, con);
    if (con->rc == 0)
        step(con);      /* AUTH_OK */
}

static fl_secret secret_of(const char *text)
{
    fl_secret s;
    fl_err err;
    ck_assert_int_eq(fl_secret_from_bytes(&s, text, strlen(text), &err), 0);
    return s;
}

START_TEST(test_handshake_same_secret)
{
    side acc, con;
    fl_secret k = secret_of("the same secret on both sides");
    sides_new(&acc, &con);
    run(&acc, &con, &k, &k, "APP-FRAMES");
    ck_assert_msg(acc.rc == 1, "acceptor: %d %s", acc.rc, acc.why);
    ck_assert_msg(con.rc == 1, "connector: %d %s", con.rc, con.why);
    ck_assert(fl_auth_done(&acc.a) && fl_auth_done(&con.a));
    /* the connector's own bytes are what follows the handshake, untouched */
    size_t n = evbuffer_get_length(acc.in);
    ck_assert_uint_eq(n, 10);
    ck_assert_mem_eq(evbuffer_pullup(acc.in, -1), "APP-FRAMES", 10);
    sides_free(&acc, &con);
}
END_TEST

/* The frames carry exactly what auth.h says, computed here with the HMAC primitive. */
START_TEST(test_handshake_wire_format)
{
    side acc, con;
    fl_secret k = secret_of("wire format secret 0123");
    sides_new(&acc, &con);
    fl_auth_accept(&acc.a, &k, acc.out);
    uint8_t ch[16 + 32], resp[16 + 64], ok[16 + 32];
    ck_assert_uint_eq(evbuffer_get_length(acc.out), sizeof ch);
    evbuffer_copyout(acc.out, ch, sizeof ch);
    ck_assert_uint_eq(ch[0], 0xF1);
    ck_assert_uint_eq(ch[2] << 8 | ch[3], 900);
    ck_assert_uint_eq(ch[7], 32);
    fl_auth_connect(&con.a, &k);
    deliver(&acc, &con);
    step(&con);
    ck_assert_int_eq(con.rc, 0);
    ck_assert_uint_eq(evbuffer_get_length(con.out), sizeof resp);
    evbuffer_copyout(con.out, resp, sizeof resp);
    ck_assert_uint_eq(resp[2] << 8 | resp[3], 901);
    ck_assert_uint_eq(resp[7], 64);
    const uint8_t *ns = ch + 16, *nc = resp + 16;
    uint8_t mac[32];
    const char *lc = "flint-auth-1 connector", *la = "flint-auth-1 acceptor";
    const void *p1[] = {lc, ns, nc};
    size_t l1[] = {strlen(lc), 32, 32};
    fl_hmac_sha256(k.key, sizeof k.key, p1, l1, 3, mac);
    ck_assert_mem_eq(resp + 16 + 32, mac, 32);
    deliver(&con, &acc);
    step(&acc);
    ck_assert_int_eq(acc.rc, 1);
    ck_assert_uint_eq(evbuffer_get_length(acc.out), sizeof ok);
    evbuffer_copyout(acc.out, ok, sizeof ok);
    ck_assert_uint_eq(ok[2] << 8 | ok[3], 902);
    const void *p2[] = {la, nc, ns};
    size_t l2[] = {strlen(la), 32, 32};
    fl_hmac_sha256(k.key, sizeof k.key, p2, l2, 3, mac);
    ck_assert_mem_eq(ok + 16, mac, 32);
    sides_free(&acc, &con);
}
END_TEST

START_TEST(test_handshake_wrong_secret)
{
    side acc, con;
    fl_secret ka = secret_of("the acceptor's secret"), kc = secret_of("the connector's secret");
    sides_new(&acc, &con);
    run(&acc, &con, &ka, &kc, NULL);
    ck_assert_int_eq(acc.rc, -1);
    ck_assert_ptr_nonnull(strstr(acc.why, "security.cluster.secret-file"));
    ck_assert(!fl_auth_done(&acc.a));
    ck_assert_uint_eq(evbuffer_get_length(acc.out), 0); /* no AUTH_OK for a wrong proof */
    sides_free(&acc, &con);
}
END_TEST

/* An acceptor that does not know the secret cannot fake AUTH_OK: the connector refuses. */
START_TEST(test_handshake_connector_checks_acceptor)
{
    side acc, con;
    fl_secret k = secret_of("the real cluster secret"), fake = secret_of("an impostor's guess");
    sides_new(&acc, &con);
    fl_auth_accept(&acc.a, &fake, acc.out);
    fl_auth_connect(&con.a, &k);
    deliver(&acc, &con);
    step(&con);
    ck_assert_int_eq(con.rc, 0);
    /* the impostor answers with AUTH_OK under its own key (it cannot check the response) */
    uint8_t resp[16 + 64], frame[16 + 32];
    evbuffer_remove(con.out, resp, sizeof resp);
    const char *la = "flint-auth-1 acceptor";
    const void *p[] = {la, resp + 16, acc.a.mine};
    size_t l[] = {strlen(la), 32, 32};
    fl_frame_hdr h = {.type = FL_AUTH_OK, .len = 32};
    fl_frame_hdr_encode(&h, frame);
    fl_hmac_sha256(fake.key, sizeof fake.key, p, l, 3, frame + 16);
    evbuffer_add(con.in, frame, sizeof frame);
    step(&con);
    ck_assert_int_eq(con.rc, -1);
    ck_assert(!fl_auth_done(&con.a));
    sides_free(&acc, &con);
}
END_TEST

/* A response recorded from one handshake does not pass another (fresh challenge). */
START_TEST(test_handshake_replayed_response)
{
    side acc, con, acc2, con2;
    fl_secret k = secret_of("replay test secret 12345");
    sides_new(&acc, &con);
    fl_auth_accept(&acc.a, &k, acc.out);
    fl_auth_connect(&con.a, &k);
    deliver(&acc, &con);
    step(&con);
    uint8_t recorded[16 + 64];
    evbuffer_copyout(con.out, recorded, sizeof recorded);
    deliver(&con, &acc);
    step(&acc);
    ck_assert_int_eq(acc.rc, 1);
    sides_new(&acc2, &con2);
    fl_auth_accept(&acc2.a, &k, acc2.out);
    evbuffer_add(acc2.in, recorded, sizeof recorded);
    step(&acc2);
    ck_assert_int_eq(acc2.rc, -1);
    sides_free(&acc, &con);
    sides_free(&acc2, &con2);
}
END_TEST

/* A peer without the secret sends its own frames first: refused at the first one, and a
 * frame of any size is judged by its header, before its payload arrives. */
START_TEST(test_handshake_other_frame_first)
{
    side acc, con;
    fl_secret k = secret_of("first frame test secret");
    sides_new(&acc, &con);
    fl_auth_accept(&acc.a, &k, acc.out);
    uint8_t hdr[16];
    fl_frame_hdr h = {.type = 1, .len = 1u << 30};
    fl_frame_hdr_encode(&h, hdr);
    evbuffer_add(acc.in, hdr, 10); /* a partial header: wait */
    step(&acc);
    ck_assert_int_eq(acc.rc, 0);
    evbuffer_add(acc.in, hdr + 10, 6);
    step(&acc);
    ck_assert_int_eq(acc.rc, -1);
    ck_assert_ptr_nonnull(strstr(acc.why, "expected an AUTH_RESPONSE"));
    /* garbage is refused at its first byte */
    side g, gc;
    sides_new(&g, &gc);
    fl_auth_accept(&g.a, &k, g.out);
    evbuffer_add(g.in, "G", 1);
    step(&g);
    ck_assert_int_eq(g.rc, -1);
    sides_free(&acc, &con);
    sides_free(&g, &gc);
}
END_TEST

/* Byte by byte, the handshake still completes (frames split anywhere). */
START_TEST(test_handshake_byte_by_byte)
{
    side acc, con;
    fl_secret k = secret_of("byte by byte secret 4567");
    sides_new(&acc, &con);
    fl_auth_accept(&acc.a, &k, acc.out);
    fl_auth_connect(&con.a, &k);
    while (evbuffer_get_length(acc.out)) {
        evbuffer_remove_buffer(acc.out, con.in, 1);
        step(&con);
    }
    ck_assert_int_eq(con.rc, 0);
    while (evbuffer_get_length(con.out)) {
        ck_assert_int_eq(acc.rc, 0);
        evbuffer_remove_buffer(con.out, acc.in, 1);
        step(&acc);
    }
    ck_assert_int_eq(acc.rc, 1);
    while (evbuffer_get_length(acc.out)) {
        ck_assert_int_eq(con.rc, 0);
        evbuffer_remove_buffer(acc.out, con.in, 1);
        step(&con);
    }
    ck_assert_int_eq(con.rc, 1);
    sides_free(&acc, &con);
}
END_TEST

static Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("digests");
    tcase_add_test(tc, test_sha256_vectors);
    tcase_add_test(tc, test_hmac_rfc4231);
    suite_add_tcase(s, tc);
    tc = tcase_create("secret");
    tcase_add_checked_fixture(tc, tu_log_capture, tu_log_release);
    tcase_add_test(tc, test_secret_bounds);
    tcase_add_test(tc, test_secret_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("handshake");
    tcase_add_test(tc, test_handshake_same_secret);
    tcase_add_test(tc, test_handshake_wire_format);
    tcase_add_test(tc, test_handshake_wrong_secret);
    tcase_add_test(tc, test_handshake_connector_checks_acceptor);
    tcase_add_test(tc, test_handshake_replayed_response);
    tcase_add_test(tc, test_handshake_other_frame_first);
    tcase_add_test(tc, test_handshake_byte_by_byte);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(auth_suite());
}
