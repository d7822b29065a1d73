/* rocksdb_util.h -- what the RocksDB backend's tests (check_rocksdb.c,
 * check_rocksdb_window.c) share: a temp directory per test (setup/teardown, the tcases'
 * fixture), backends, keys and values computed from an index (never read back from the
 * backend under test), fill/verify of a known state, snapshots in two parts or whole,
 * restore and the files a handle lists. Header-only (static inline), as testutil.h, so
 * each test binary stays one .c file. */
#ifndef FL_ROCKSDB_UTIL_H
#define FL_ROCKSDB_UTIL_H

#include "common/keygroup.h"
#include "common/util.h"
#include "proto/checkpoint.pb-c.h"
#include "taskmanager/state/keyed.h"
#include "testutil.h"

#include <dirent.h>

#define MAXP 128

static char tmp[256];

static inline void setup(void)
{
    tu_mkdtemp(tmp, sizeof tmp);
}

static inline void teardown(void)
{
    fl_remove_tree(tmp);
}

static inline fl_kbackend *new_backend(int first, int last, const char *name)
{
    fl_err err = {{0}};
    char dir[300];
    snprintf(dir, sizeof dir, "%s/io", tmp);
    fl_kbackend *b = fl_kbackend_rocksdb_new(MAXP, first, last, dir, name, NULL, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    return b;
}

/* A backend of 256 kb memtables: a few thousand writes fill several of them, so flushes
 * and compactions happen while a test runs. */
static inline fl_kbackend *new_small_backend(const char *name)
{
    fl_err err = {{0}};
    fl_conf *conf = fl_conf_new();
    ck_assert_int_eq(fl_conf_set(conf, "state.backend.rocksdb.writebuffer.size", "256 kb", &err),
                     0);
    char io[300];
    snprintf(io, sizeof io, "%s/io", tmp);
    fl_kbackend *b = fl_kbackend_rocksdb_new(MAXP, 0, MAXP - 1, io, name, conf, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    fl_conf_free(conf);
    return b;
}

/* Key i and its values: independent of the backend. */
static inline uint32_t key_of(uint32_t i, char *out)
{
    return (uint32_t)sprintf(out, "key-%u", i);
}

static inline uint32_t value_of(uint32_t i, uint32_t version, char *out)
{
    int n = sprintf(out, "value %u v%u ", i, version);
    uint32_t extra = (i * 37u) % 90u; /* lengths vary */
    for (uint32_t k = 0; k < extra; k++)
        out[n + k] = (char)('a' + (i + k) % 26);
    return (uint32_t)n + extra;
}

static inline void set_key(fl_kbackend *b, uint32_t i, char *kbuf)
{
    fl_kbackend_set_key(b, kbuf, key_of(i, kbuf));
}

static inline void expect_value(fl_kbackend *b, fl_kstate *s, const void *ns, uint32_t nslen,
                                const void *want, uint32_t wlen, const char *what)
{
    const void *v;
    uint32_t n;
    ck_assert_msg(b->ops->get(s, ns, nslen, &v, &n), "%s: missing", what);
    ck_assert_msg(n == wlen && memcmp(v, want, n) == 0, "%s: %u bytes, want %u", what, n, wlen);
}

static inline void expect_absent(fl_kbackend *b, fl_kstate *s, const void *ns, uint32_t nslen,
                                 const char *what)
{
    const void *v;
    uint32_t n;
    ck_assert_msg(!b->ops->get(s, ns, nslen, &v, &n), "%s: present (%u bytes)", what, n);
}

/* Snapshot part 1 into base/chk-<id> (shared files in base/shared). */
static inline fl_kb_snapshot *part1(fl_kbackend *b, const char *base, int64_t id,
                                    bool incremental, bool savepoint, const char *prefix)
{
    char dir[400], shared[400];
    fl_err err = {{0}};
    snprintf(dir, sizeof dir, "%s/chk-%lld", base, (long long)id);
    snprintf(shared, sizeof shared, "%s/shared", base);
    ck_assert_int_eq(fl_mkdirs(dir, &err), 0);
    fl_snapshot_ctx sc = {dir, shared, prefix, id, incremental, savepoint, false};
    fl_kb_snapshot *snap = b->ops->snapshot(b, &sc, &err);
    ck_assert_msg(snap != NULL, "snapshot: %s", err.msg);
    return snap;
}

/* Snapshot part 2: the handle into *h, the snapshot freed. */
static inline void part2(fl_kbackend *b, fl_kb_snapshot *snap, uint8_t **h, size_t *hl)
{
    fl_err err = {{0}};
    ck_assert_msg(b->ops->snapshot_write(snap, h, hl, &err) == 0, "snapshot_write: %s",
                  err.msg);
    b->ops->snapshot_free(snap);
}

/* Snapshot (both parts) into base/chk-<id> (shared files in base/shared). */
static inline void take(fl_kbackend *b, const char *base, int64_t id, bool incremental,
                        bool savepoint, const char *prefix, uint8_t **h, size_t *hl)
{
    part2(b, part1(b, base, id, incremental, savepoint, prefix), h, hl);
}

static inline Fl__Pb__KeyedStateHandle *unpack(const uint8_t *h, size_t hl)
{
    Fl__Pb__KeyedStateHandle *k = fl__pb__keyed_state_handle__unpack(NULL, hl, h);
    ck_assert(k != NULL);
    return k;
}

static inline int restore(fl_kbackend *b, const char *chkdir, uint8_t **hs, size_t *hls,
                          size_t n, fl_err *err)
{
    return b->ops->restore(b, chkdir, (const uint8_t *const *)hs, hls, n, err);
}

static inline int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Fills states "v" (values per key, version ver, namespace "" and "ns") and "l" (appended
 * list) for keys [0, n). */
static inline void fill(fl_kbackend *b, uint32_t n, uint32_t ver)
{
    fl_kstate *vs = fl_kstate_get_or_create(b, "v"), *ls = fl_kstate_get_or_create(b, "l");
    char k[32], v[256];
    for (uint32_t i = 0; i < n; i++) {
        set_key(b, i, k);
        b->ops->put(vs, NULL, 0, v, value_of(i, ver, v));
        b->ops->put(vs, "ns", 2, v, value_of(i + 1, ver, v));
        if (i % 3 == 0) {
            b->ops->append(ls, NULL, 0, v, value_of(i, 0, v));
            b->ops->append(ls, NULL, 0, "|", 1);
        }
    }
}

/* Checks keys [0, n) of fill(); keys whose key group is outside [first, last] must be
 * absent. Returns the keys found. */
static inline uint32_t verify(fl_kbackend *b, uint32_t n, uint32_t ver, int first, int last)
{
    fl_kstate *vs = fl_kstate_get_or_create(b, "v"), *ls = fl_kstate_get_or_create(b, "l");
    char k[32], v[256], what[64];
    uint32_t found = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t kl = key_of(i, k);
        int kg = fl_key_group(fl_key_hash(k, kl), MAXP);
        fl_kbackend_set_key(b, k, kl);
        snprintf(what, sizeof what, "key %u (key group %d)", i, kg);
        if (kg < first || kg > last) {
            expect_absent(b, vs, NULL, 0, what);
            expect_absent(b, vs, "ns", 2, what);
            expect_absent(b, ls, NULL, 0, what);
            continue;
        }
        found++;
        expect_value(b, vs, NULL, 0, v, value_of(i, ver, v), what);
        expect_value(b, vs, "ns", 2, v, value_of(i + 1, ver, v), what);
        if (i % 3 == 0) {
            uint32_t vl = value_of(i, 0, v);
            v[vl++] = '|';
            expect_value(b, ls, NULL, 0, v, vl, what);
        } else {
            expect_absent(b, ls, NULL, 0, what);
        }
    }
    return found;
}

/* Files of the handle that point into shared/. */
static inline size_t shared_files(const Fl__Pb__KeyedStateHandle *k)
{
    size_t n = 0;
    for (size_t i = 0; i < k->n_files; i++)
        n += strncmp(k->files[i]->path, "../shared/", 10) == 0;
    return n;
}

static inline bool lists(const Fl__Pb__KeyedStateHandle *k, const char *path)
{
    for (size_t i = 0; i < k->n_files; i++)
        if (strcmp(k->files[i]->path, path) == 0)
            return true;
    return false;
}

#endif
