/* check_snapshot_compression.c -- execution.checkpointing.snapshot-compression on the
 * hashmap keyed backend (taskmanager/state/hashmap_backend.c, compress.c): a compressed
 * snapshot restores every value, at the same and at another parallelism (each subtask gets
 * exactly the keys of its key groups); compressed and uncompressed snapshots restore alike
 * and together (the file says how it was written, not the flag); a key-group section past
 * LZ4's 4 MB block size; plain files past the writer's 4 MB buffer (one key group, and 128
 * restored at another parallelism), each handle naming its file's true size; an empty state; damaged and truncated compressed files are errors,
 * never a crash. Expected values are computed here from the keys the test inserted (key
 * groups through keygroup.h); the file's header is read here byte by byte. */
#include "common/keygroup.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/checkpoint.pb-c.h"
#include "taskmanager/state/keyed.h"
#include "testutil.h"

#define MAXP 128

static char tmp[256];

static void setup(void)
{
    tu_mkdtemp(tmp, sizeof tmp);
}

static void teardown(void)
{
    fl_remove_tree(tmp);
}

static uint32_t key_of(uint32_t i, char *out)
{
    return (uint32_t)sprintf(out, "word-%u", i);
}

/* Compressible like word counts and window contents: text, lengths varying with i. */
static uint32_t value_of(uint32_t i, uint32_t len, char *out)
{
    for (uint32_t k = 0; k < len; k++)
        out[k] = "the quick brown fox jumps over the lazy dog "[(i + k) % 44];
    memcpy(out, &i, 4);
    return len;
}

static uint32_t len_of(uint32_t i)
{
    return 8 + (i * 37u) % 120u;
}

static int kg_of(uint32_t i, int maxp)
{
    char k[32];
    uint32_t n = key_of(i, k);
    return fl_key_group(fl_key_hash(k, n), maxp);
}

static void fill(fl_kbackend *b, uint32_t n, uint32_t vlen)
{
    char k[32], *v = fl_xmalloc(vlen ? vlen : 128);
    fl_kstate *a = fl_kstate_get_or_create(b, "user:count");
    fl_kstate *w = fl_kstate_get_or_create(b, "window-contents");
    for (uint32_t i = 0; i < n; i++) {
        fl_kbackend_set_key(b, k, key_of(i, k));
        uint32_t len = vlen ? vlen : len_of(i);
        b->ops->put(a, NULL, 0, v, value_of(i, len, v));
        uint64_t ns = i * 1000ull; /* a window's namespace */
        if (i % 3 == 0)
            b->ops->put(w, &ns, sizeof ns, v, value_of(i + 1, len, v));
    }
    free(v);
}

/* Every key of [0, n) whose key group b serves has its values, and no other key is there. */
static void expect_keys(fl_kbackend *b, uint32_t n, uint32_t vlen, int maxp)
{
    char k[32], *want = fl_xmalloc(vlen ? vlen : 128);
    fl_kstate *a = fl_kstate_get_or_create(b, "user:count");
    fl_kstate *w = fl_kstate_get_or_create(b, "window-contents");
    for (uint32_t i = 0; i < n; i++) {
        int kg = kg_of(i, maxp);
        bool ours = kg >= b->kg_first && kg <= b->kg_last;
        fl_kbackend_set_key(b, k, key_of(i, k));
        const void *v;
        uint32_t len = vlen ? vlen : len_of(i), got;
        bool have = b->ops->get(a, NULL, 0, &v, &got);
        ck_assert_msg(have == ours, "key %u (key group %d): %s", i, kg,
                      ours ? "missing" : "restored into the wrong subtask");
        if (have) {
            value_of(i, len, want);
            ck_assert_msg(got == len && !memcmp(v, want, len), "key %u: wrong value", i);
        }
        uint64_t ns = i * 1000ull;
        have = b->ops->get(w, &ns, sizeof ns, &v, &got);
        ck_assert_msg(have == (ours && i % 3 == 0), "key %u: window value %s", i,
                      have ? "unexpected" : "missing");
        if (have) {
            value_of(i + 1, len, want);
            ck_assert_msg(got == len && !memcmp(v, want, len), "key %u: wrong window value", i);
        }
    }
    free(want);
}

/* Both parts of a snapshot into tmp/<name>/; the handle into *h. */
static void take(fl_kbackend *b, const char *name, bool compress, uint8_t **h, size_t *hl)
{
    char dir[400];
    fl_err err = {{0}};
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    ck_assert_int_eq(fl_mkdirs(dir, &err), 0);
    fl_snapshot_ctx sc = {dir, NULL, name, 1, false, false, compress};
    fl_kb_snapshot *snap = b->ops->snapshot(b, &sc, &err);
    ck_assert_msg(snap != NULL, "snapshot: %s", err.msg);
    ck_assert_msg(b->ops->snapshot_write(snap, h, hl, &err) == 0, "snapshot_write: %s", err.msg);
    b->ops->snapshot_free(snap);
    /* the handle names the file with the size it has (the writer streams it and counts) */
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s.keyed", dir, name);
    ck_assert_int_eq(stat(p, &st), 0);
    Fl__Pb__KeyedStateHandle *kh = fl__pb__keyed_state_handle__unpack(NULL, *hl, *h);
    ck_assert(kh != NULL && kh->n_files == 1);
    ck_assert_uint_eq(kh->files[0]->size, (uint64_t)st.st_size);
    ck_assert_uint_eq(kh->incremental_size, (uint64_t)st.st_size);
    fl__pb__keyed_state_handle__free_unpacked(kh, NULL);
}

static char *file_of(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s.keyed", tmp, name, name);
    return out;
}

static off_t size_of(const char *name)
{
    char p[600];
    struct stat st;
    ck_assert_int_eq(stat(file_of(name, p, sizeof p), &st), 0);
    return st.st_size;
}

/* Restores the handles, each resolved in the directory of its snapshot. */
static int restore(fl_kbackend *b, const char *const *names, uint8_t **hs, size_t *hl, int n,
                   fl_err *err)
{
    for (int i = 0; i < n; i++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/%s", tmp, names[i]);
        const uint8_t *h = hs[i];
        if (b->ops->restore(b, dir, &h, &hl[i], 1, err) < 0)
            return -1;
    }
    return 0;
}

#define NKEYS 30000

START_TEST(test_round_trip_and_rescale)
{
    fl_err err = {{0}};
    fl_kbackend *src = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    fill(src, NKEYS, 0);
    uint8_t *hz, *hp;
    size_t lz, lp;
    take(src, "z", true, &hz, &lz);
    take(src, "p", false, &hp, &lp);
    fl_kbackend_free(src);

    /* the header, read here: "FLKH", version 2, flags 1 (LZ4); plain: version 1 */
    char p[600], *data;
    size_t len;
    ck_assert_int_eq(fl_read_file(file_of("z", p, sizeof p), &data, &len, &err), 0);
    uint32_t hdr[3];
    memcpy(hdr, data, sizeof hdr);
    ck_assert(!memcmp(data, "FLKH", 4));
    ck_assert_uint_eq(hdr[1], 2);
    ck_assert_uint_eq(hdr[2], 1);
    free(data);
    ck_assert_int_eq(fl_read_file(file_of("p", p, sizeof p), &data, &len, &err), 0);
    memcpy(hdr, data, sizeof hdr);
    ck_assert_uint_eq(hdr[1], 1);
    free(data);
    off_t zs = size_of("z"), ps = size_of("p");
    ck_assert_msg(zs * 2 < ps, "compressed %lld bytes, plain %lld: not even half",
                  (long long)zs, (long long)ps);
    printf("    text-like values: %lld bytes plain, %lld compressed (%.2fx)\n", (long long)ps,
           (long long)zs, (double)ps / (double)zs);

    /* same parallelism */
    const char *z[] = {"z"};
    fl_kbackend *all = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    ck_assert_msg(restore(all, z, &hz, &lz, 1, &err) == 0, "%s", err.msg);
    expect_keys(all, NKEYS, 0, MAXP);
    fl_kbackend_free(all);

    /* parallelism 1 -> 3: every subtask exactly its key groups */
    int ranges[3][2] = {{0, 42}, {43, 85}, {86, 127}};
    for (int s = 0; s < 3; s++) {
        fl_kbackend *b = fl_kbackend_hashmap_new(MAXP, ranges[s][0], ranges[s][1]);
        ck_assert_msg(restore(b, z, &hz, &lz, 1, &err) == 0, "%s", err.msg);
        expect_keys(b, NKEYS, 0, MAXP);
        fl_kbackend_free(b);
    }
    free(hz);
    free(hp);
}
END_TEST

START_TEST(test_plain_rescale_past_the_write_buffer)
{
    /* uncompressed, 128 key groups, about 9 MB: the writer's 4 MB buffer fills twice in
     * the middle of key groups; restored at parallelism 3 */
    fl_err err = {{0}};
    fl_kbackend *src = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    fill(src, NKEYS, 200);
    uint8_t *h;
    size_t hl;
    take(src, "p9", false, &h, &hl);
    fl_kbackend_free(src);
    ck_assert_msg(size_of("p9") > 8 << 20, "%lld bytes", (long long)size_of("p9"));
    const char *p9[] = {"p9"};
    int ranges[3][2] = {{0, 42}, {43, 85}, {86, 127}};
    for (int s = 0; s < 3; s++) {
        fl_kbackend *b = fl_kbackend_hashmap_new(MAXP, ranges[s][0], ranges[s][1]);
        ck_assert_msg(restore(b, p9, &h, &hl, 1, &err) == 0, "%s", err.msg);
        expect_keys(b, NKEYS, 200, MAXP);
        fl_kbackend_free(b);
    }
    free(h);
}
END_TEST

START_TEST(test_mixed_snapshots)
{
    /* two subtasks at parallelism 2, one writing compressed, one not (the flag changed
     * between runs); restored together at parallelism 1 and at 3 */
    fl_err err = {{0}};
    fl_kbackend *a = fl_kbackend_hashmap_new(MAXP, 0, 63);
    fl_kbackend *b = fl_kbackend_hashmap_new(MAXP, 64, 127);
    fill(a, NKEYS, 0); /* each keeps only its key groups' entries in its snapshot */
    fill(b, NKEYS, 0);
    uint8_t *h[2];
    size_t hl[2];
    take(a, "a", true, &h[0], &hl[0]);
    take(b, "b", false, &h[1], &hl[1]);
    fl_kbackend_free(a);
    fl_kbackend_free(b);
    const char *names[] = {"a", "b"};
    fl_kbackend *all = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    ck_assert_msg(restore(all, names, h, hl, 2, &err) == 0, "%s", err.msg);
    expect_keys(all, NKEYS, 0, MAXP);
    fl_kbackend_free(all);
    fl_kbackend *mid = fl_kbackend_hashmap_new(MAXP, 40, 90);
    ck_assert_msg(restore(mid, names, h, hl, 2, &err) == 0, "%s", err.msg);
    expect_keys(mid, NKEYS, 0, MAXP);
    fl_kbackend_free(mid);
    free(h[0]);
    free(h[1]);
}
END_TEST

START_TEST(test_large_section_and_empty)
{
    /* max parallelism 1: every key in key group 0, a 12 MB section (LZ4 blocks are 4 MB) */
    fl_err err = {{0}};
    fl_kbackend *src = fl_kbackend_hashmap_new(1, 0, 0);
    fill(src, 3000, 4000);
    uint8_t *h;
    size_t hl;
    take(src, "big", true, &h, &hl);
    fl_kbackend_free(src);
    ck_assert_msg(size_of("big") < 4 << 20, "the 12 MB section did not compress: %lld bytes",
                  (long long)size_of("big"));
    const char *big[] = {"big"};
    fl_kbackend *b = fl_kbackend_hashmap_new(1, 0, 0);
    ck_assert_msg(restore(b, big, &h, &hl, 1, &err) == 0, "%s", err.msg);
    expect_keys(b, 3000, 4000, 1);
    fl_kbackend_free(b);
    free(h);
    /* and plain: written through the 4 MB write buffer three times over */
    src = fl_kbackend_hashmap_new(1, 0, 0);
    fill(src, 3000, 4000);
    take(src, "bigp", false, &h, &hl);
    fl_kbackend_free(src);
    ck_assert_msg(size_of("bigp") > 12 << 20, "plain: %lld bytes", (long long)size_of("bigp"));
    const char *bigp[] = {"bigp"};
    b = fl_kbackend_hashmap_new(1, 0, 0);
    ck_assert_msg(restore(b, bigp, &h, &hl, 1, &err) == 0, "%s", err.msg);
    expect_keys(b, 3000, 4000, 1);
    fl_kbackend_free(b);
    free(h);

    fl_kbackend *e = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    fl_kstate_get_or_create(e, "user:count");
    take(e, "empty", true, &h, &hl);
    fl_kbackend_free(e);
    const char *empty[] = {"empty"};
    e = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    ck_assert_msg(restore(e, empty, &h, &hl, 1, &err) == 0, "%s", err.msg);
    expect_keys(e, 0, 0, MAXP);
    fl_kbackend_free(e);
    free(h);
}
END_TEST

START_TEST(test_damaged)
{
    fl_err err = {{0}};
    fl_kbackend *src = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    fill(src, 5000, 0);
    uint8_t *h;
    size_t hl;
    take(src, "d", true, &h, &hl);
    fl_kbackend_free(src);
    char p[600], *data;
    size_t len;
    ck_assert_int_eq(fl_read_file(file_of("d", p, sizeof p), &data, &len, &err), 0);
    const char *d[] = {"d"};
    /* a flipped byte in the last key group's compressed bytes: its checksum fails */
    data[len - 10] ^= 0x5a;
    ck_assert_int_eq(fl_write_file(p, data, len, false, &err), 0);
    fl_kbackend *b = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    ck_assert_int_eq(restore(b, d, &h, &hl, 1, &err), -1);
    ck_assert_msg(strstr(err.msg, "key group") && strstr(err.msg, p), "%s", err.msg);
    fl_kbackend_free(b);
    /* truncated in the middle of a section */
    data[len - 10] ^= 0x5a;
    ck_assert_int_eq(fl_write_file(p, data, len / 2, false, &err), 0);
    b = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    ck_assert_int_eq(restore(b, d, &h, &hl, 1, &err), -1);
    ck_assert_msg(strstr(err.msg, "damaged"), "%s", err.msg);
    fl_kbackend_free(b);
    /* an unknown flag is refused, not guessed at */
    data[8] = 2;
    ck_assert_int_eq(fl_write_file(p, data, len, false, &err), 0);
    b = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    ck_assert_int_eq(restore(b, d, &h, &hl, 1, &err), -1);
    ck_assert_msg(strstr(err.msg, "bad header"), "%s", err.msg);
    fl_kbackend_free(b);
    free(data);
    free(h);
}
END_TEST

static Suite *compression_suite(void)
{
    Suite *s = suite_create("snapshot_compression");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip_and_rescale);
    tcase_add_test(tc, test_plain_rescale_past_the_write_buffer);
    tcase_add_test(tc, test_mixed_snapshots);
    tcase_add_test(tc, test_large_section_and_empty);
    tcase_add_test(tc, test_damaged);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_OFF);
    return tu_run(compression_suite());
}
