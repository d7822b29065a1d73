/* check_bundle_sign.c -- unit tests of common/bundle_sign.c (signed job bundles).
 *
 * Expected signatures are RFC 8032's Ed25519 test vectors (section 7.1, TESTS 1 and 2),
 * never values computed by the code under test; the key files are written here as PEM from
 * the RFC's raw keys (the fixed DER prefixes of RFC 8410), so the test does not depend on
 * the openssl command either.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/bundle_sign.h"
#include "common/config.h"
#include "testutil.h"

/* RFC 8032 7.1 TEST 1 (empty message) and TEST 2 (the one byte 0x72) */
static const char *T1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char *T1_SIG = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
static const char *T2_SECRET = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
static const char *T2_PUBLIC = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
static const char *T2_SIG = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
static const uint8_t T2_MSG[1] = {0x72};

static char dir[256];

static void setup(void)
{
    tu_log_capture();
    tu_mkdtemp(dir, sizeof dir);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    tu_log_release();
}

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Appends one PEM block (label, DER = prefix || 32 raw key bytes) to path. */
static void append_pem(const char *path, const char *label, const char *prefix_hex,
                       const char *key_hex)
{
    uint8_t der[64];
    size_t n = unhex(prefix_hex, der);
    n += unhex(key_hex, der + n);
    unsigned char b64[128];
    EVP_EncodeBlock(b64, der, (int)n);
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "-----BEGIN %s-----\n%s\n-----END %s-----\n", label, b64, label);
    ck_assert_int_eq(fclose(f), 0);
}

static void public_pem(const char *path, const char *pub_hex)
{
    append_pem(path, "PUBLIC KEY", "302a300506032b6570032100", pub_hex);
}

static void private_pem(const char *path, const char *seed_hex)
{
    append_pem(path, "PRIVATE KEY", "302e020100300506032b657004220420", seed_hex);
}

/* Loads security.bundles.trusted-keys = value; the return code of the load. */
static int load(const char *value, fl_trusted_keys **k, fl_err *err)
{
    fl_conf *conf = fl_conf_new();
    ck_assert_int_eq(fl_conf_set(conf, "security.bundles.trusted-keys", value, err), 0);
    int rc = fl_trusted_keys_load(conf, k, err);
    fl_conf_free(conf);
    return rc;
}

static void path_of(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

START_TEST(test_sign_is_rfc8032)
{
    char key[300];
    uint8_t sig[FL_BUNDLE_SIG_LEN], want[FL_BUNDLE_SIG_LEN];
    fl_err err = {0};
    path_of(key, sizeof key, "t2.key");
    private_pem(key, T2_SECRET);
    ck_assert_int_eq(fl_bundle_sign(key, T2_MSG, sizeof T2_MSG, sig, &err), 0);
    unhex(T2_SIG, want);
    ck_assert_mem_eq(sig, want, FL_BUNDLE_SIG_LEN);
}
END_TEST

START_TEST(test_verify_rfc8032)
{
    char pub[300];
    uint8_t sig[FL_BUNDLE_SIG_LEN];
    fl_err err = {0};
    fl_trusted_keys *k;
    path_of(pub, sizeof pub, "t2.pub");
    public_pem(pub, T2_PUBLIC);
    ck_assert_int_eq(load(pub, &k, &err), 0);
    ck_assert_int_eq(fl_trusted_keys_count(k), 1);
    unhex(T2_SIG, sig);
    ck_assert_int_eq(fl_bundle_verify(k, "t2.so", T2_MSG, 1, sig, sizeof sig, &err), 0);
    fl_trusted_keys_free(k);

    /* TEST 1: the empty message */
    path_of(pub, sizeof pub, "t1.pub");
    public_pem(pub, T1_PUBLIC);
    ck_assert_int_eq(load(pub, &k, &err), 0);
    unhex(T1_SIG, sig);
    ck_assert_int_eq(fl_bundle_verify(k, "t1.so", "", 0, sig, sizeof sig, &err), 0);
    fl_trusted_keys_free(k);
}
END_TEST

START_TEST(test_changed_bundle_or_signature)
{
    char pub[300];
    uint8_t sig[FL_BUNDLE_SIG_LEN], other = 0x73;
    fl_err err = {0};
    fl_trusted_keys *k;
    path_of(pub, sizeof pub, "t2.pub");
    public_pem(pub, T2_PUBLIC);
    ck_assert_int_eq(load(pub, &k, &err), 0);
    unhex(T2_SIG, sig);
    ck_assert_int_eq(fl_bundle_verify(k, "job.so", &other, 1, sig, sizeof sig, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'job.so' does not match its signature"));
    sig[10] ^= 1;
    ck_assert_int_eq(fl_bundle_verify(k, "job.so", T2_MSG, 1, sig, sizeof sig, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not match its signature"));
    fl_trusted_keys_free(k);
}
END_TEST

START_TEST(test_other_key)
{
    char pub[300];
    uint8_t sig[FL_BUNDLE_SIG_LEN];
    fl_err err = {0};
    fl_trusted_keys *k;
    path_of(pub, sizeof pub, "t1.pub");
    public_pem(pub, T1_PUBLIC);
    ck_assert_int_eq(load(pub, &k, &err), 0);
    unhex(T2_SIG, sig); /* TEST 2's key signed it, only TEST 1's is trusted */
    ck_assert_int_eq(fl_bundle_verify(k, "job.so", T2_MSG, 1, sig, sizeof sig, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "any of the 1 trusted key(s)"));
    fl_trusted_keys_free(k);
}
END_TEST

START_TEST(test_several_keys)
{
    char both[300], a[300], b[300], list[1000];
    uint8_t sig[FL_BUNDLE_SIG_LEN];
    fl_err err = {0};
    fl_trusted_keys *k;
    unhex(T2_SIG, sig);
    /* two keys in one file, the signer's second */
    path_of(both, sizeof both, "both.pub");
    public_pem(both, T1_PUBLIC);
    public_pem(both, T2_PUBLIC);
    ck_assert_int_eq(load(both, &k, &err), 0);
    ck_assert_int_eq(fl_trusted_keys_count(k), 2);
    ck_assert_int_eq(fl_bundle_verify(k, "job.so", T2_MSG, 1, sig, sizeof sig, &err), 0);
    fl_trusted_keys_free(k);
    /* a list of files, ';' as Flink's lists, ',' too, with blanks around */
    path_of(a, sizeof a, "a.pub");
    path_of(b, sizeof b, "b.pub");
    public_pem(a, T1_PUBLIC);
    public_pem(b, T2_PUBLIC);
    const char *forms[] = {"%s;%s", "%s, %s", " %s ;%s;"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        snprintf(list, sizeof list, forms[i], a, b);
        ck_assert_msg(load(list, &k, &err) == 0, "%s: %s", list, err.msg);
        ck_assert_int_eq(fl_trusted_keys_count(k), 2);
        ck_assert_int_eq(fl_bundle_verify(k, "job.so", T2_MSG, 1, sig, sizeof sig, &err), 0);
        fl_trusted_keys_free(k);
    }
}
END_TEST

START_TEST(test_bad_key_files)
{
    char path[300], list[700];
    fl_err err = {0};
    fl_trusted_keys *k = (fl_trusted_keys *)1;
    /* unset: bundles are not checked */
    fl_conf *conf = fl_conf_new();
    ck_assert_int_eq(fl_trusted_keys_load(conf, &k, &err), 0);
    ck_assert_ptr_null(k);
    fl_conf_free(conf);
    /* missing file: named */
    path_of(path, sizeof path, "nope.pub");
    ck_assert_int_eq(load(path, &k, &err), -1);
    ck_assert_ptr_null(k);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    /* no PEM in it */
    path_of(path, sizeof path, "junk.pub");
    tu_write_file(path, "not a key\n");
    ck_assert_int_eq(load(path, &k, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "holds no PEM public key"));
    /* a key that is not Ed25519 (EC P-256) */
    path_of(path, sizeof path, "ec.pub");
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(ec);
    FILE *f = fopen(path, "w");
    ck_assert_int_eq(PEM_write_PUBKEY(f, ec), 1);
    fclose(f);
    EVP_PKEY_free(ec);
    ck_assert_int_eq(load(path, &k, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "not Ed25519"));
    /* a good file then a bad one: the whole setting is refused */
    char good[300];
    path_of(good, sizeof good, "good.pub");
    public_pem(good, T2_PUBLIC);
    snprintf(list, sizeof list, "%s;%s/missing.pub", good, dir);
    ck_assert_int_eq(load(list, &k, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing.pub"));
    /* only separators */
    ck_assert_int_eq(load(" ; ,", &k, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "names no file"));
    /* signing with a public key file, or a missing one */
    uint8_t sig[FL_BUNDLE_SIG_LEN];
    ck_assert_int_eq(fl_bundle_sign(good, "x", 1, sig, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no unencrypted PEM private key"));
    ck_assert_int_eq(fl_bundle_sign(path, "x", 1, sig, &err), -1);
}
END_TEST

START_TEST(test_unsigned_and_short_signature)
{
    char pub[300];
    uint8_t sig[FL_BUNDLE_SIG_LEN];
    fl_err err = {0};
    fl_trusted_keys *k;
    path_of(pub, sizeof pub, "t2.pub");
    public_pem(pub, T2_PUBLIC);
    ck_assert_int_eq(load(pub, &k, &err), 0);
    ck_assert_int_eq(fl_bundle_verify(k, "job.so", T2_MSG, 1, NULL, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'job.so' is not signed"));
    unhex(T2_SIG, sig);
    ck_assert_int_eq(fl_bundle_verify(k, "job.so", T2_MSG, 1, sig, 63, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "is 63 bytes"));
    fl_trusted_keys_free(k);
}
END_TEST

static Suite *bundle_sign_suite(void)
{
    Suite *s = suite_create("bundle_sign");
    TCase *tc = tcase_create("ed25519");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sign_is_rfc8032);
    tcase_add_test(tc, test_verify_rfc8032);
    tcase_add_test(tc, test_changed_bundle_or_signature);
    tcase_add_test(tc, test_other_key);
    tcase_add_test(tc, test_several_keys);
    tcase_add_test(tc, test_bad_key_files);
    tcase_add_test(tc, test_unsigned_and_short_signature);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(bundle_sign_suite());
}
