/* check_hmap.c -- unit tests of common/hmap.c, the hash map under the hashmap state
 * backend: random operations against a plain reference (an array searched linearly),
 * insertion-order iteration, values moving out of the entry and back, and copy-on-write
 * snapshots: a snapshot still shows the map as it was after every kind of change, while
 * another thread reads it, and with several snapshots alive at once; the map's invariant
 * checker (fl_hmap_validate) after every mutation.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/keygroup.h"
#include "testutil.h"

/* ---- the reference ------------------------------------------------------------------ */

#define MAXK 3000
#define MAXV 120

typedef struct ref_ent {
    char key[64];
    uint32_t klen;
    uint8_t val[MAXV * 4];
    uint32_t vlen;
    uint64_t order; /* insertion sequence: the map iterates in this order */
    bool live;
} ref_ent;

typedef struct ref {
    ref_ent *e;
    int n;
    uint64_t seq;
} ref;

static ref_ent *ref_find(ref *r, const char *k, uint32_t klen)
{
    for (int i = 0; i < r->n; i++)
        if (r->e[i].live && r->e[i].klen == klen && !memcmp(r->e[i].key, k, klen))
            return &r->e[i];
    return NULL;
}

static uint32_t ref_live(const ref *r)
{
    uint32_t n = 0;
    for (int i = 0; i < r->n; i++)
        n += r->e[i].live;
    return n;
}

static ref ref_copy(const ref *r)
{
    ref c = *r;
    c.e = malloc((size_t)(r->n + 1) * sizeof *c.e);
    memcpy(c.e, r->e, (size_t)r->n * sizeof *c.e);
    return c;
}

/* Keys of 1..60 bytes: some inline in the entry, some not. */
static uint32_t make_key(char *k, unsigned id)
{
    uint32_t len = (uint32_t)snprintf(k, 64, "k%u-", id);
    uint32_t pad = (id * 7919u) % 50u;
    memset(k + len, 'a' + (int)(id % 26), pad);
    return len + pad;
}

static void make_val(uint8_t *v, uint32_t len, unsigned salt)
{
    for (uint32_t i = 0; i < len; i++)
        v[i] = (uint8_t)(salt * 31u + i * 7u);
}

static uint32_t h(const char *k, uint32_t len)
{
    return fl_murmur3_32(k, len, 7);
}

/* Iterates `next` (the map or a snapshot) and checks it equals the reference: the same
 * live entries, values and insertion order. */
static void check_same(fl_hentry *(*next)(void *, uint32_t *), void *m, const ref *r)
{
    /* the reference's live entries in insertion order: r->e is appended in order */
    uint32_t cur = 0;
    int i = 0;
    fl_hentry *e;
    while ((e = next(m, &cur))) {
        while (i < r->n && !r->e[i].live)
            i++;
        ck_assert_msg(i < r->n, "the map has more entries than the reference");
        const ref_ent *x = &r->e[i++];
        ck_assert_uint_eq(e->klen, x->klen);
        ck_assert_msg(!memcmp(fl_hentry_key(e), x->key, x->klen), "key differs");
        ck_assert_uint_eq(e->vlen, x->vlen);
        ck_assert_msg(!memcmp(fl_hentry_val(e), x->val, x->vlen), "value of %.*s differs",
                      (int)x->klen, x->key);
        ck_assert_uint_eq(e->hash, h(x->key, x->klen));
    }
    while (i < r->n && !r->e[i].live)
        i++;
    ck_assert_msg(i == r->n, "the map misses entries of the reference");
}

static fl_hentry *map_next(void *m, uint32_t *c)
{
    return fl_hmap_next(m, c);
}

static fl_hentry *snap_next(void *s, uint32_t *c)
{
    return fl_hmap_snap_next(s, c);
}

/* One random operation on both. Re-inserting a removed key appends it (new order). */
static void random_op(fl_hmap *m, ref *r, unsigned *seed)
{
    char k[64];
    uint8_t v[MAXV];
    unsigned id = (unsigned)rand_r(seed) % MAXK;
    uint32_t klen = make_key(k, id), hash = h(k, klen);
    int op = rand_r(seed) % 10;
    ref_ent *x = ref_find(r, k, klen);
    if (op < 4) { /* set: small or large */
        uint32_t vlen = (uint32_t)(rand_r(seed) % 3 == 0 ? rand_r(seed) % MAXV : rand_r(seed) % 9);
        make_val(v, vlen, (unsigned)rand_r(seed));
        bool created;
        fl_hentry *e = fl_hmap_upsert(m, hash, k, klen, &created);
        ck_assert_int_eq(created, x == NULL);
        fl_hmap_set(e, v, vlen);
        if (!x) {
            ck_assert_int_lt(r->n, MAXK * 20);
            x = &r->e[r->n++];
            memcpy(x->key, k, klen);
            x->klen = klen;
            x->order = r->seq++;
            x->live = true;
        }
        memcpy(x->val, v, vlen);
        x->vlen = vlen;
    } else if (op < 6) { /* append */
        uint32_t vlen = (uint32_t)(rand_r(seed) % 30);
        if (x && x->vlen + vlen > sizeof x->val)
            return;
        make_val(v, vlen, (unsigned)rand_r(seed));
        fl_hentry *e = fl_hmap_upsert(m, hash, k, klen, NULL);
        fl_hmap_append(e, v, vlen);
        if (!x) {
            x = &r->e[r->n++];
            memcpy(x->key, k, klen);
            x->klen = klen;
            x->vlen = 0;
            x->order = r->seq++;
            x->live = true;
        }
        memcpy(x->val + x->vlen, v, vlen);
        x->vlen += vlen;
    } else if (op < 8) { /* remove */
        fl_hentry *e = fl_hmap_find(m, hash, k, klen);
        ck_assert_int_eq(e != NULL, x != NULL);
        if (e)
            fl_hmap_remove(m, e);
        if (x)
            x->live = false;
    } else if (op < 9) { /* in place through find_mut */
        fl_hentry *e = fl_hmap_find_mut(m, hash, k, klen);
        ck_assert_int_eq(e != NULL, x != NULL);
        if (e && e->vlen) {
            fl_hentry_val(e)[0] ^= 0x5a;
            x->val[0] ^= 0x5a;
        }
    } else { /* find */
        fl_hentry *e = fl_hmap_find(m, hash, k, klen);
        ck_assert_int_eq(e != NULL, x != NULL);
        if (e) {
            ck_assert_uint_eq(e->vlen, x->vlen);
            ck_assert(!memcmp(fl_hentry_val(e), x->val, x->vlen));
        }
    }
}

static ref ref_new(void)
{
    ref r = {calloc(MAXK * 20, sizeof(ref_ent)), 0, 0};
    return r;
}

START_TEST(test_random_ops_match_reference)
{
    fl_hmap *m = fl_hmap_new();
    ref r = ref_new();
    unsigned seed = 12345;
    for (int i = 0; i < 60000; i++) {
        random_op(m, &r, &seed);
        if (i % 5000 == 0)
            check_same(map_next, m, &r);
    }
    ck_assert_uint_eq(fl_hmap_size(m), ref_live(&r));
    check_same(map_next, m, &r);
    fl_hmap_free(m);
    free(r.e);
}
END_TEST

/* The map's invariants (fl_hmap_validate) hold after every operation: upserts that grow
 * the index, values moving out of the entry and back, removals leaving tombstones, the
 * compaction a growth does, and copies of chunks a snapshot holds. */
START_TEST(test_invariants_after_every_mutation)
{
    fl_hmap *m = fl_hmap_new();
    ref r = ref_new();
    unsigned seed = 4242;
    fl_err err;
    fl_hmap_snap *held = NULL;
    ck_assert_msg(fl_hmap_validate(m, &err) == 0, "empty: %s", err.msg);
    for (int i = 0; i < 25000; i++) {
        random_op(m, &r, &seed);
        ck_assert_msg(fl_hmap_validate(m, &err) == 0, "after operation %d: %s", i, err.msg);
        if (i % 3000 == 1000) { /* a snapshot alive for a while: writes copy its chunks */
            fl_hmap_snap_free(held);
            held = fl_hmap_snapshot(m);
        }
    }
    fl_hmap_snap_free(held);
    for (int i = 0; i < 5000; i++) { /* and after the snapshot went */
        random_op(m, &r, &seed);
        ck_assert_msg(fl_hmap_validate(m, &err) == 0, "after operation %d: %s", i, err.msg);
    }
    check_same(map_next, m, &r);
    fl_hmap_free(m);
    free(r.e);
}
END_TEST

/* A snapshot, then every kind of change (and the growth and compaction they cause): the
 * snapshot still shows the map as it was; the map shows the changes. Several snapshots
 * alive at once, freed in another order than taken. */
START_TEST(test_snapshot_unchanged_by_later_writes)
{
    fl_hmap *m = fl_hmap_new();
    ref r = ref_new();
    unsigned seed = 99;
    for (int i = 0; i < 20000; i++)
        random_op(m, &r, &seed);
    fl_hmap_snap *s[3];
    ref at[3];
    for (int k = 0; k < 3; k++) {
        s[k] = fl_hmap_snapshot(m);
        at[k] = ref_copy(&r);
        ck_assert_uint_eq(fl_hmap_snap_size(s[k]), ref_live(&r));
        for (int i = 0; i < 30000; i++)
            random_op(m, &r, &seed);
        for (int j = 0; j <= k; j++)
            check_same(snap_next, s[j], &at[j]);
        check_same(map_next, m, &r);
    }
    fl_hmap_snap_free(s[1]);
    for (int i = 0; i < 10000; i++)
        random_op(m, &r, &seed);
    check_same(snap_next, s[0], &at[0]);
    check_same(snap_next, s[2], &at[2]);
    fl_hmap_snap_free(s[0]);
    fl_hmap_free(m); /* a snapshot outlives its map */
    check_same(snap_next, s[2], &at[2]);
    fl_hmap_snap_free(s[2]);
    for (int k = 0; k < 3; k++)
        free(at[k].e);
    free(r.e);
}
END_TEST

/* Another thread reads a snapshot (as the checkpoint I/O thread does) while the owner keeps
 * changing every entry; what it reads is the map as it was. */
typedef struct reader {
    fl_hmap_snap *s;
    uint64_t sum;
    int rounds;
} reader;

static uint64_t digest(fl_hmap_snap *s)
{
    uint64_t d = 1469598103934665603ull;
    uint32_t cur = 0;
    fl_hentry *e;
    while ((e = fl_hmap_snap_next(s, &cur))) {
        const uint8_t *p = fl_hentry_kv(e);
        for (uint32_t i = 0; i < e->klen + e->vlen; i++)
            d = (d ^ p[i]) * 1099511628211ull;
        d = (d ^ e->vlen) * 1099511628211ull;
    }
    return d;
}

static void *reader_main(void *arg)
{
    reader *rd = arg;
    uint64_t first = digest(rd->s);
    for (int i = 0; i < rd->rounds; i++)
        if (digest(rd->s) != first)
            first = 0; /* changed under us */
    rd->sum = first;
    fl_hmap_snap_free(rd->s); /* released on this thread */
    return NULL;
}

START_TEST(test_snapshot_read_by_another_thread)
{
    fl_hmap *m = fl_hmap_new();
    char k[64];
    uint8_t v[120];
    for (unsigned id = 0; id < 20000; id++) {
        uint32_t klen = make_key(k, id);
        make_val(v, id % 3 ? 8 : 100, id);
        fl_hmap_set(fl_hmap_upsert(m, h(k, klen), k, klen, NULL), v, id % 3 ? 8 : 100);
    }
    for (int round = 0; round < 5; round++) {
        fl_hmap_snap *s = fl_hmap_snapshot(m);
        fl_hmap_snap *mine = fl_hmap_snapshot(m);
        uint64_t before = digest(mine);
        reader rd = {s, 0, 20};
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, reader_main, &rd), 0);
        for (unsigned id = 0; id < 20000; id++) { /* overwrite, grow, remove, re-add */
            uint32_t klen = make_key(k, id);
            fl_hentry *e = fl_hmap_find_mut(m, h(k, klen), k, klen);
            if (!e)
                e = fl_hmap_upsert(m, h(k, klen), k, klen, NULL);
            make_val(v, 120, id + (unsigned)round * 7);
            if (id % 5 == 0)
                fl_hmap_append(e, v, 20);
            else
                fl_hmap_set(e, v, id % 2 ? 4 : 120);
            if (id % 7 == 0)
                fl_hmap_remove(m, fl_hmap_find(m, h(k, klen), k, klen));
            klen = make_key(k, 100000 + id + (unsigned)round * 20000);
            fl_hmap_set(fl_hmap_upsert(m, h(k, klen), k, klen, NULL), v, 16);
        }
        pthread_join(th, NULL);
        ck_assert_msg(rd.sum == before, "the other thread read a changing snapshot");
        ck_assert_msg(digest(mine) == before, "the snapshot changed");
        fl_hmap_snap_free(mine);
    }
    fl_hmap_free(m);
}
END_TEST

static Suite *hmap_suite(void)
{
    Suite *s = suite_create("hmap");
    TCase *tc = tcase_create("hmap");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_random_ops_match_reference);
    tcase_add_test(tc, test_invariants_after_every_mutation);
    tcase_add_test(tc, test_snapshot_unchanged_by_later_writes);
    tcase_add_test(tc, test_snapshot_read_by_another_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(hmap_suite());
}
