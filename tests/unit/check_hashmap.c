/* check_hashmap.c -- unit tests of the hashmap keyed state backend
 * (taskmanager/state/hashmap_backend.c) around its memo of namespace hashes: many
 * namespaces of every length from 1 to 16 bytes (more than the memo holds, so they evict
 * each other, and pairs equal but for their length), interleaved with keys of 1 to 24
 * bytes (the lengths its key copy treats apart), read back
 * right; and the hash in a snapshot file is still key hash ^ murmur3(namespace), computed
 * here from keygroup.h, so snapshots of earlier versions restore. */
#include "common/fs.h"
#include "common/keygroup.h"
#include "common/log.h"
#include "common/util.h"
#include "taskmanager/state/keyed.h"
#include "testutil.h"

#define MAXP 128
#define NKEYS 50
#define NNS 400

static char tmp[256];

static void setup(void)
{
    tu_mkdtemp(tmp, sizeof tmp);
}

static void teardown(void)
{
    fl_remove_tree(tmp);
}

/* Namespace j: 1..16 bytes (j % 16 + 1), the first its group j / 16, then a window-like
 * start of the group (starts a slide apart), zero-padded: distinct for every j, and the
 * namespaces of a group equal but for their length wherever the start's bytes are zero. */
static uint32_t ns_of(uint32_t j, uint8_t *ns)
{
    uint32_t len = j % 16 + 1;
    uint8_t full[16] = {0};
    uint64_t start = (uint64_t)(j / 16) * 300000;
    full[0] = (uint8_t)(j / 16);
    memcpy(full + 1, &start, 8);
    memset(ns, 0, 16);
    memcpy(ns, full, len);
    return len;
}

/* Key k: 1..24 bytes (k % 24 + 1, so short, word-sized and long keys), its first byte k. */
static uint32_t key_of(uint32_t k, char *key)
{
    uint32_t len = k % 24 + 1;
    memset(key, 'x', len);
    key[0] = (char)('A' + k);
    return len;
}

static void put_all(fl_kbackend *b, fl_kstate *s)
{
    char key[32];
    uint8_t ns[16];
    for (uint32_t j = 0; j < NNS; j++)
        for (uint32_t k = 0; k < NKEYS; k++) {
            fl_kbackend_set_key(b, key, key_of(k, key));
            uint64_t v = (uint64_t)k * 100000 + j;
            b->ops->put(s, ns, ns_of(j, ns), &v, sizeof v);
        }
}

/* Each (key, namespace) holds its own value; read in another order than written. */
static void expect_all(fl_kbackend *b, fl_kstate *s)
{
    char key[32];
    uint8_t ns[16];
    for (uint32_t k = 0; k < NKEYS; k++)
        for (uint32_t jj = 0; jj < NNS; jj++) {
            uint32_t j = (jj * 7919u) % NNS;
            fl_kbackend_set_key(b, key, key_of(k, key));
            const void *v;
            uint32_t n;
            uint64_t got, want = (uint64_t)k * 100000 + j;
            ck_assert_msg(b->ops->get(s, ns, ns_of(j, ns), &v, &n) && n == 8,
                          "key %u ns %u: missing", k, j);
            memcpy(&got, v, 8);
            ck_assert_msg(got == want, "key %u ns %u: %llu, want %llu", k, j,
                          (unsigned long long)got, (unsigned long long)want);
        }
}

START_TEST(test_namespaces_of_every_length)
{
    fl_kbackend *b = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    fl_kstate *s = b->ops->state(b, "s");
    put_all(b, s);
    expect_all(b, s);
    /* removing every other namespace leaves the rest */
    char key[32];
    uint8_t ns[16];
    fl_kbackend_set_key(b, key, key_of(3, key));
    for (uint32_t j = 0; j < NNS; j += 2)
        b->ops->remove(s, ns, ns_of(j, ns));
    for (uint32_t j = 0; j < NNS; j++) {
        const void *v;
        uint32_t n;
        ck_assert_msg(b->ops->get(s, ns, ns_of(j, ns), &v, &n) == (j % 2 == 1), "ns %u", j);
    }
    fl_kbackend_free(b);
}
END_TEST

START_TEST(test_snapshot_hashes_unchanged)
{
    fl_kbackend *b = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    fl_kstate *s = b->ops->state(b, "s");
    put_all(b, s);
    fl_err err = {{0}};
    fl_snapshot_ctx sc = {tmp, tmp, "op", 1, false, false, false};
    fl_kb_snapshot *snap = b->ops->snapshot(b, &sc, &err);
    ck_assert_msg(snap != NULL, "%s", err.msg);
    uint8_t *h;
    size_t hl;
    ck_assert_msg(b->ops->snapshot_write(snap, &h, &hl, &err) == 0, "%s", err.msg);
    b->ops->snapshot_free(snap);

    /* the file (README invariant 7): every entry's hash from its key and namespace */
    char path[400], *data;
    size_t len;
    snprintf(path, sizeof path, "%s/op.keyed", tmp);
    ck_assert_msg(fl_fs_get(path, &data, &len, &err) == 0, "%s", err.msg);
    const uint8_t *p = (const uint8_t *)data + 20, *end = (const uint8_t *)data + len;
    uint16_t nl;
    memcpy(&nl, p, 2);
    p += 2 + nl;
    uint32_t entries = 0;
    while (p < end) {
        uint64_t nb;
        memcpy(&nb, p + 4, 8);
        const uint8_t *sec = p + 12, *send = sec + nb;
        for (; sec < send; entries++) {
            uint32_t hash, klen, vlen, kl;
            memcpy(&hash, sec + 2, 4);
            memcpy(&klen, sec + 6, 4);
            const uint8_t *k = sec + 10;
            memcpy(&vlen, sec + 10 + klen, 4);
            uint64_t v;
            memcpy(&v, sec + 14 + klen, 8);
            uint8_t ns[16];
            uint32_t nslen = ns_of((uint32_t)(v % 100000), ns);
            kl = klen - nslen;
            ck_assert_uint_eq(hash, fl_key_hash(k, kl) ^ fl_murmur3_32(ns, nslen, 0x2545f491u));
            ck_assert(memcmp(k + kl, ns, nslen) == 0);
            sec += 14 + klen + vlen;
        }
        p = send;
    }
    free(data);
    ck_assert_uint_eq(entries, NKEYS * NNS);

    /* and a fresh backend restored from it finds every value */
    fl_kbackend *r = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    const uint8_t *hs[1] = {h};
    ck_assert_msg(r->ops->restore(r, tmp, hs, &hl, 1, &err) == 0, "%s", err.msg);
    expect_all(r, r->ops->state(r, "s"));
    free(h);
    fl_kbackend_free(r);
    fl_kbackend_free(b);
}
END_TEST

static Suite *hashmap_suite(void)
{
    Suite *s = suite_create("hashmap");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_namespaces_of_every_length);
    tcase_add_test(tc, test_snapshot_hashes_unchanged);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_OFF);
    return tu_run(hashmap_suite());
}
