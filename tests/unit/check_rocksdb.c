/* check_rocksdb.c -- unit tests of the RocksDB keyed state backend
 * (taskmanager/state/rocksdb_backend.c, rocksdb_snapshot.c): value access with namespaces,
 * append, many keys, full and incremental snapshots restored at the same and at another
 * parallelism, damaged snapshot files, handles of the hashmap backend, the tuning keys,
 * and compactions at a low CPU priority (snapshots listed after later writes:
 * check_rocksdb_window.c). Expected values
 * are computed here from the keys the test inserted (key groups through keygroup.h), never
 * read back from the backend under test. */
#include "common/log.h"
#include "rocksdb_util.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

START_TEST(test_access_with_namespaces)
{
    fl_kbackend *b = new_backend(0, MAXP - 1, "Access (1/1)");
    fl_kstate *vs = fl_kstate_get_or_create(b, "user:value");
    fl_kstate *ls = fl_kstate_get_or_create(b, "user:list");
    ck_assert_ptr_eq(fl_kstate_get_or_create(b, "user:value"), vs);
    char k[32];
    set_key(b, 1, k);
    expect_absent(b, vs, NULL, 0, "fresh");
    b->ops->put(vs, NULL, 0, "one", 3);
    b->ops->put(vs, "w1", 2, "in w1", 5);
    b->ops->put(vs, "w2", 2, "", 0);
    expect_value(b, vs, NULL, 0, "one", 3, "no namespace");
    expect_value(b, vs, "w1", 2, "in w1", 5, "namespace w1");
    expect_value(b, vs, "w2", 2, "", 0, "empty value");
    expect_absent(b, vs, "w3", 2, "other namespace");
    expect_absent(b, ls, NULL, 0, "other state");
    /* another key: "key-1" + ns "2" must not meet "key-12" */
    set_key(b, 12, k);
    expect_absent(b, vs, NULL, 0, "other key");
    b->ops->put(vs, NULL, 0, "twelve", 6);
    set_key(b, 1, k);
    expect_absent(b, vs, "2", 1, "key/namespace boundary");
    b->ops->put(vs, NULL, 0, "ONE", 3);
    expect_value(b, vs, NULL, 0, "ONE", 3, "overwritten");
    b->ops->remove(vs, NULL, 0);
    expect_absent(b, vs, NULL, 0, "removed");
    expect_value(b, vs, "w1", 2, "in w1", 5, "namespace kept");
    b->ops->remove(vs, "nothing", 7); /* removing what is absent is fine */

    /* append: concatenation, created on first append, after put and after remove */
    b->ops->append(ls, NULL, 0, "ab", 2);
    b->ops->append(ls, NULL, 0, "", 0);
    b->ops->append(ls, NULL, 0, "cde", 3);
    expect_value(b, ls, NULL, 0, "abcde", 5, "appended");
    b->ops->put(ls, NULL, 0, "X", 1);
    b->ops->append(ls, NULL, 0, "Y", 1);
    expect_value(b, ls, NULL, 0, "XY", 2, "append after put");
    b->ops->remove(ls, NULL, 0);
    b->ops->append(ls, NULL, 0, "Z", 1);
    expect_value(b, ls, NULL, 0, "Z", 1, "append after remove");
    b->ops->append(ls, "w", 1, "n", 1);
    expect_value(b, ls, "w", 1, "n", 1, "append in a namespace");

    /* a value stays valid across a get on another state and a put */
    const void *v1, *v2;
    uint32_t n1, n2;
    set_key(b, 12, k);
    ck_assert(b->ops->get(vs, NULL, 0, &v1, &n1));
    set_key(b, 1, k);
    ck_assert(b->ops->get(ls, NULL, 0, &v2, &n2));
    set_key(b, 12, k);
    b->ops->put(vs, NULL, 0, "changed", 7);
    ck_assert(n1 == 6 && memcmp(v1, "twelve", 6) == 0);
    ck_assert(n2 == 1 && memcmp(v2, "Z", 1) == 0);

    /* a state called "default" works like any other */
    fl_kstate *ds = fl_kstate_get_or_create(b, "default");
    b->ops->put(ds, NULL, 0, "d", 1);
    expect_value(b, ds, NULL, 0, "d", 1, "default state");
    expect_value(b, vs, NULL, 0, "changed", 7, "value state");

    /* the backend's directory is gone after free */
    char io[300];
    snprintf(io, sizeof io, "%s/io", tmp);
    ck_assert_int_eq(count_entries(io), 1);
    fl_kbackend_free(b);
    ck_assert_int_eq(count_entries(io), 0);
    fl_kbackend_free(NULL);
}
END_TEST

START_TEST(test_many_keys)
{
    fl_kbackend *b = new_backend(0, MAXP - 1, "many");
    fill(b, 100000, 1);
    ck_assert_uint_eq(verify(b, 100000, 1, 0, MAXP - 1), 100000);
    fl_kstate *vs = fl_kstate_get_or_create(b, "v");
    char k[32];
    for (uint32_t i = 0; i < 100000; i += 2) {
        set_key(b, i, k);
        b->ops->remove(vs, NULL, 0);
    }
    for (uint32_t i = 0; i < 100000; i++) {
        set_key(b, i, k);
        const void *v;
        uint32_t n;
        ck_assert_int_eq(b->ops->get(vs, NULL, 0, &v, &n), i % 2 == 1);
        ck_assert(b->ops->get(vs, "ns", 2, &v, &n));
    }
    fl_kbackend_free(b);
}
END_TEST

START_TEST(test_snapshot_restore_same_range)
{
    char base[300];
    snprintf(base, sizeof base, "%s/chk", tmp);
    fl_kbackend *b = new_backend(0, MAXP - 1, "src");
    fill(b, 20000, 1);
    uint8_t *h;
    size_t hl;
    take(b, base, 1, false, false, "op-0", &h, &hl);
    /* processing continues after the snapshot: later changes are not in it */
    fill(b, 20000, 2);
    fl_kbackend_free(b);

    Fl__Pb__KeyedStateHandle *k = unpack(h, hl);
    ck_assert_str_eq(k->backend, "rocksdb");
    ck_assert_int_eq(k->kg_first, 0);
    ck_assert_int_eq(k->kg_last, MAXP - 1);
    ck_assert(!k->incremental);
    uint64_t sum = 0;
    bool sst = false, manifest = false, current = false;
    for (size_t i = 0; i < k->n_files; i++) {
        ck_assert_msg(strncmp(k->files[i]->path, "op-0-", 5) == 0, "%s", k->files[i]->path);
        sst |= strstr(k->files[i]->path, ".sst") != NULL;
        manifest |= strstr(k->files[i]->path, "MANIFEST-") != NULL;
        current |= strcmp(k->files[i]->path, "op-0-CURRENT") == 0;
        char p[600];
        struct stat st;
        snprintf(p, sizeof p, "%s/chk-1/%s", base, k->files[i]->path);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq((uint64_t)st.st_size, k->files[i]->size);
        sum += k->files[i]->size;
    }
    ck_assert(sst && manifest && current);
    ck_assert_uint_eq(k->state_size, sum);
    ck_assert_uint_eq(k->incremental_size, sum);
    fl__pb__keyed_state_handle__free_unpacked(k, NULL);

    char chk[400];
    snprintf(chk, sizeof chk, "%s/chk-1", base);
    fl_kbackend *r = new_backend(0, MAXP - 1, "dst");
    fl_err err = {{0}};
    ck_assert_msg(restore(r, chk, &h, &hl, 1, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(verify(r, 20000, 1, 0, MAXP - 1), 20000);
    /* the restored backend works on: append to a restored list, snapshot again */
    fl_kstate *ls = fl_kstate_get_or_create(r, "l");
    char kb[32], v[256];
    set_key(r, 0, kb);
    uint32_t vl = value_of(0, 0, v);
    v[vl++] = '|';
    r->ops->append(ls, NULL, 0, "more", 4);
    memcpy(v + vl, "more", 4);
    expect_value(r, ls, NULL, 0, v, vl + 4, "append after restore");
    fl_kbackend_free(r);
    free(h);
}
END_TEST

START_TEST(test_empty_snapshot)
{
    char base[300], chk[400];
    snprintf(base, sizeof base, "%s/chk", tmp);
    snprintf(chk, sizeof chk, "%s/chk-7", base);
    fl_kbackend *b = new_backend(0, MAXP - 1, "empty");
    uint8_t *h;
    size_t hl;
    take(b, base, 7, true, false, "e", &h, &hl);
    fl_kbackend_free(b);
    fl_kbackend *r = new_backend(0, MAXP - 1, "empty-restored");
    fl_err err = {{0}};
    ck_assert_msg(restore(r, chk, &h, &hl, 1, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(verify(r, 100, 1, MAXP, MAXP), 0);
    ck_assert_int_eq(restore(r, chk, NULL, NULL, 0, &err), 0); /* no handles: nothing */
    fl_kbackend_free(r);
    free(h);
}
END_TEST

START_TEST(test_rescale)
{
    char base[300], chk[400];
    snprintf(base, sizeof base, "%s/chk", tmp);
    snprintf(chk, sizeof chk, "%s/chk-1", base);
    const uint32_t n = 20000;
    fl_kbackend *b = new_backend(0, MAXP - 1, "p1");
    fill(b, n, 1);
    uint8_t *h;
    size_t hl;
    take(b, base, 1, false, false, "p1", &h, &hl);
    fl_kbackend_free(b);

    /* parallelism 1 -> 2: each half gets exactly the keys of its key groups */
    fl_kbackend *half[2];
    uint32_t want[2] = {0, 0}, got[2];
    int first[2], last[2];
    for (int i = 0; i < 2; i++)
        fl_key_group_range(i, 2, MAXP, &first[i], &last[i]);
    for (uint32_t i = 0; i < n; i++) {
        char k[32];
        uint32_t kl = key_of(i, k);
        int kg = fl_key_group(fl_key_hash(k, kl), MAXP);
        want[fl_key_group_subtask(kg, 2, MAXP)]++;
    }
    ck_assert(want[0] > 0 && want[1] > 0);
    uint8_t *hh[2];
    size_t hhl[2];
    for (int i = 0; i < 2; i++) {
        fl_err err = {{0}};
        half[i] = new_backend(first[i], last[i], i ? "p2-1" : "p2-0");
        ck_assert_msg(restore(half[i], chk, &h, &hl, 1, &err) == 0, "%s", err.msg);
        got[i] = verify(half[i], n, 1, first[i], last[i]);
        ck_assert_uint_eq(got[i], want[i]);
        take(half[i], base, 2, false, false, i ? "p2-1" : "p2-0", &hh[i], &hhl[i]);
        Fl__Pb__KeyedStateHandle *k = unpack(hh[i], hhl[i]);
        ck_assert_int_eq(k->kg_first, first[i]);
        ck_assert_int_eq(k->kg_last, last[i]);
        fl__pb__keyed_state_handle__free_unpacked(k, NULL);
        fl_kbackend_free(half[i]);
    }
    ck_assert_uint_eq(got[0] + got[1], n);

    /* parallelism 2 -> 1: both handles into one backend */
    snprintf(chk, sizeof chk, "%s/chk-2", base);
    fl_kbackend *one = new_backend(0, MAXP - 1, "p1-again");
    fl_err err = {{0}};
    ck_assert_msg(restore(one, chk, hh, hhl, 2, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(verify(one, n, 1, 0, MAXP - 1), n);
    fl_kbackend_free(one);

    /* a handle with no key group of ours is skipped */
    fl_kbackend *q = new_backend(first[1], last[1], "skip");
    ck_assert_int_eq(restore(q, chk, &hh[0], &hhl[0], 1, &err), 0);
    ck_assert_uint_eq(verify(q, n, 1, MAXP, MAXP), 0); /* every key absent */
    fl_kbackend_free(q);
    free(h);
    free(hh[0]);
    free(hh[1]);
}
END_TEST

START_TEST(test_incremental)
{
    char base[300], chk[400];
    snprintf(base, sizeof base, "%s/job", tmp);
    const uint32_t n = 100000;
    fl_kbackend *b = new_backend(0, MAXP - 1, "inc");
    fill(b, n, 1);
    uint8_t *h1, *h2, *h3, *h4;
    size_t l1, l2, l3, l4;
    take(b, base, 1, true, false, "op-0", &h1, &l1);
    Fl__Pb__KeyedStateHandle *k1 = unpack(h1, l1);
    ck_assert(k1->incremental);
    ck_assert_uint_ge(shared_files(k1), 1);
    ck_assert_uint_eq(k1->incremental_size, k1->state_size); /* nothing to reference yet */
    b->ops->notify_complete(b, 1);

    /* change 1% of the keys (version 2), snapshot: only the new SST is uploaded */
    fl_kstate *vs = fl_kstate_get_or_create(b, "v");
    char k[32], v[256];
    for (uint32_t i = 0; i < n; i += 100) {
        set_key(b, i, k);
        b->ops->put(vs, NULL, 0, v, value_of(i, 2, v));
    }
    take(b, base, 2, true, false, "op-0", &h2, &l2);
    Fl__Pb__KeyedStateHandle *k2 = unpack(h2, l2);
    ck_assert(k2->incremental);
    ck_assert_msg(k2->incremental_size * 10 < k2->state_size,
                  "incremental checkpoint wrote %llu of %llu bytes",
                  (unsigned long long)k2->incremental_size, (unsigned long long)k2->state_size);
    size_t reused = 0;
    for (size_t i = 0; i < k1->n_files; i++)
        if (strncmp(k1->files[i]->path, "../shared/", 10) == 0)
            reused += lists(k2, k1->files[i]->path);
    ck_assert_uint_ge(reused, 1);
    ck_assert_uint_gt(shared_files(k2), reused); /* and one new SST */

    /* not yet completed: checkpoint 3 references only what checkpoint 1 uploaded */
    for (uint32_t i = 1; i < n; i += 100) {
        set_key(b, i, k);
        b->ops->put(vs, NULL, 0, v, value_of(i, 3, v));
    }
    take(b, base, 3, true, false, "op-0", &h3, &l3);
    Fl__Pb__KeyedStateHandle *k3 = unpack(h3, l3);
    for (size_t i = 0; i < k3->n_files; i++)
        if (strncmp(k3->files[i]->path, "../shared/", 10) == 0 && !lists(k1, k3->files[i]->path))
            ck_assert_msg(!lists(k2, k3->files[i]->path), "checkpoint 3 references %s of "
                          "the incomplete checkpoint 2", k3->files[i]->path);
    b->ops->notify_complete(b, 3);

    /* a savepoint is self-contained even with incremental on */
    take(b, base, 4, true, true, "op-0", &h4, &l4);
    Fl__Pb__KeyedStateHandle *k4 = unpack(h4, l4);
    ck_assert(!k4->incremental);
    ck_assert_uint_eq(shared_files(k4), 0);
    ck_assert_uint_eq(k4->incremental_size, k4->state_size);
    /* once the savepoint completed, older shared files may be gone: nothing is referenced */
    b->ops->notify_complete(b, 4);
    uint8_t *h5;
    size_t l5;
    take(b, base, 5, true, false, "op-0", &h5, &l5);
    Fl__Pb__KeyedStateHandle *k5 = unpack(h5, l5);
    ck_assert_uint_eq(k5->incremental_size, k5->state_size);
    fl__pb__keyed_state_handle__free_unpacked(k5, NULL);
    free(h5);
    fl_kbackend_free(b);

    /* storage keeps only checkpoint 2 (and the shared files): it restores everything */
    snprintf(chk, sizeof chk, "%s/chk-1", base);
    fl_remove_tree(chk);
    snprintf(chk, sizeof chk, "%s/chk-2", base);
    fl_kbackend *r = new_backend(0, MAXP - 1, "inc-restored");
    fl_err err = {{0}};
    ck_assert_msg(restore(r, chk, &h2, &l2, 1, &err) == 0, "%s", err.msg);
    fl_kstate *rs = fl_kstate_get_or_create(r, "v");
    for (uint32_t i = 0; i < n; i++) {
        set_key(r, i, k);
        expect_value(r, rs, NULL, 0, v, value_of(i, i % 100 == 0 ? 2 : 1, v), "after chk 2");
    }
    fl_kbackend_free(r);
    /* and the savepoint has checkpoint 3's changes */
    snprintf(chk, sizeof chk, "%s/chk-4", base);
    r = new_backend(0, MAXP - 1, "from-savepoint");
    ck_assert_msg(restore(r, chk, &h4, &l4, 1, &err) == 0, "%s", err.msg);
    rs = fl_kstate_get_or_create(r, "v");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ver = i % 100 == 0 ? 2 : i % 100 == 1 ? 3 : 1;
        set_key(r, i, k);
        expect_value(r, rs, NULL, 0, v, value_of(i, ver, v), "after savepoint");
    }
    fl_kbackend_free(r);
    fl__pb__keyed_state_handle__free_unpacked(k1, NULL);
    fl__pb__keyed_state_handle__free_unpacked(k2, NULL);
    fl__pb__keyed_state_handle__free_unpacked(k3, NULL);
    fl__pb__keyed_state_handle__free_unpacked(k4, NULL);
    free(h1), free(h2), free(h3), free(h4);
}
END_TEST

/* Path of the largest file the handle lists (an SST) and its size. */
static const Fl__Pb__StateFile *largest(const Fl__Pb__KeyedStateHandle *k)
{
    const Fl__Pb__StateFile *best = NULL;
    for (size_t i = 0; i < k->n_files; i++)
        if (!best || k->files[i]->size > best->size)
            best = k->files[i];
    return best;
}

static void expect_restore_fails(const char *chk, uint8_t *h, size_t hl, const char *needle)
{
    fl_kbackend *r = new_backend(0, MAXP - 1, "damaged");
    fl_err err = {{0}};
    ck_assert_int_lt(restore(r, chk, &h, &hl, 1, &err), 0);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' lacks '%s'", err.msg, needle);
    fl_kbackend_free(r);
}

START_TEST(test_damaged_files)
{
    char base[300], chk[400], path[700];
    snprintf(base, sizeof base, "%s/chk", tmp);
    snprintf(chk, sizeof chk, "%s/chk-1", base);
    fl_kbackend *b = new_backend(0, MAXP - 1, "dmg");
    fill(b, 20000, 1);
    uint8_t *h;
    size_t hl;
    take(b, base, 1, false, false, "op", &h, &hl);
    fl_kbackend_free(b);
    Fl__Pb__KeyedStateHandle *k = unpack(h, hl);
    const Fl__Pb__StateFile *sst = largest(k);
    ck_assert(strstr(sst->path, ".sst") != NULL);
    snprintf(path, sizeof path, "%s/%s", chk, sst->path);

    /* a handle that does not decode */
    uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_restore_fails(chk, junk, sizeof junk, "does not decode");

    /* a bit flipped in the middle of the SST (same size): RocksDB's checksums */
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t byte;
    off_t mid = (off_t)(sst->size / 2);
    ck_assert_int_eq(pread(fd, &byte, 1, mid), 1);
    byte ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &byte, 1, mid), 1);
    expect_restore_fails(chk, h, hl, "Corruption");
    byte ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &byte, 1, mid), 1);

    /* truncated: refused against the handle's size */
    ck_assert_int_eq(ftruncate(fd, (off_t)(sst->size - 100)), 0);
    expect_restore_fails(chk, h, hl, "damaged");
    /* truncated with a handle that agrees: RocksDB itself refuses */
    uint64_t real = sst->size;
    ((Fl__Pb__StateFile *)sst)->size = real - 100;
    size_t hl2 = protobuf_c_message_get_packed_size(&k->base);
    uint8_t *h2 = fl_xmalloc(hl2);
    protobuf_c_message_pack(&k->base, h2);
    {
        fl_kbackend *r = new_backend(0, MAXP - 1, "damaged");
        fl_err err = {{0}};
        ck_assert_int_lt(restore(r, chk, &h2, &hl2, 1, &err), 0);
        ck_assert(err.msg[0] != '\0');
        fl_kbackend_free(r);
    }
    free(h2);
    close(fd);

    /* a missing file, and paths that leave the checkpoint */
    unlink(path);
    expect_restore_fails(chk, h, hl, "No such file");
    ((Fl__Pb__StateFile *)sst)->size = real;
    char *saved = sst->path;
    const char *bad[] = {"../../etc/passwd", "../shared/../x-CURRENT", "sub/op-CURRENT", "nodash"};
    for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
        ((Fl__Pb__StateFile *)sst)->path = (char *)bad[i];
        hl2 = protobuf_c_message_get_packed_size(&k->base);
        h2 = fl_xmalloc(hl2);
        protobuf_c_message_pack(&k->base, h2);
        expect_restore_fails(chk, h2, hl2, "bad RocksDB state file path");
        free(h2);
    }
    ((Fl__Pb__StateFile *)sst)->path = saved;
    fl__pb__keyed_state_handle__free_unpacked(k, NULL);
    free(h);
}
END_TEST

START_TEST(test_foreign_backends)
{
    char base[300], chk[400];
    snprintf(base, sizeof base, "%s/chk", tmp);
    snprintf(chk, sizeof chk, "%s/chk-1", base);
    fl_err err = {{0}};
    ck_assert_int_eq(fl_mkdirs(chk, &err), 0);

    /* a hashmap snapshot is refused by rocksdb, clearly */
    fl_kbackend *hm = fl_kbackend_hashmap_new(MAXP, 0, MAXP - 1);
    fill(hm, 100, 1);
    fl_snapshot_ctx sc = {chk, NULL, "hm", 1, false, false, false};
    fl_kb_snapshot *snap = hm->ops->snapshot(hm, &sc, &err);
    ck_assert(snap != NULL);
    uint8_t *h;
    size_t hl;
    ck_assert_int_eq(hm->ops->snapshot_write(snap, &h, &hl, &err), 0);
    hm->ops->snapshot_free(snap);
    expect_restore_fails(chk, h, hl, "written by the hashmap state backend");
    expect_restore_fails(chk, h, hl, "set state.backend.type: hashmap");
    free(h);

    /* and the other way round */
    fl_kbackend *b = new_backend(0, MAXP - 1, "rdb");
    fill(b, 100, 1);
    take(b, base, 1, false, false, "rdb", &h, &hl);
    fl_kbackend_free(b);
    ck_assert_int_lt(hm->ops->restore(hm, chk, (const uint8_t *const *)&h, &hl, 1, &err), 0);
    ck_assert_msg(strstr(err.msg, "rocksdb") != NULL, "%s", err.msg);
    fl_kbackend_free(hm);
    free(h);

    /* an unknown backend name */
    Fl__Pb__KeyedStateHandle k = FL__PB__KEYED_STATE_HANDLE__INIT;
    k.backend = "tape";
    k.kg_last = MAXP - 1;
    hl = protobuf_c_message_get_packed_size(&k.base);
    h = fl_xmalloc(hl);
    protobuf_c_message_pack(&k.base, h);
    expect_restore_fails(chk, h, hl, "unknown state backend");
    free(h);
}
END_TEST

START_TEST(test_bad_arguments)
{
    fl_err err = {{0}};
    char dir[300];
    snprintf(dir, sizeof dir, "%s/io", tmp);
    ck_assert_ptr_null(fl_kbackend_rocksdb_new(MAXP, 5, 4, dir, "x", NULL, &err));
    ck_assert_ptr_null(fl_kbackend_rocksdb_new(MAXP, 0, MAXP, dir, "x", NULL, &err));
    ck_assert_ptr_null(fl_kbackend_rocksdb_new(MAXP, 0, 1, "", "x", NULL, &err));
    /* a tmp dir that cannot be created */
    ck_assert_ptr_null(fl_kbackend_rocksdb_new(MAXP, 0, 1, "/proc/flint-no", "x", NULL, &err));
    ck_assert(err.msg[0] != '\0');
    /* odd operator names make a valid directory name */
    fl_kbackend *b = fl_kbackend_rocksdb_new(MAXP, 0, 1, dir, "Map / Filter (1/2) ../..", NULL, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    fl_kbackend_free(b);
}
END_TEST

/* The text of the newest OPTIONS file RocksDB wrote for the one backend under tmp/io. */
static char *options_file_text(void)
{
    char io[300], db[600], path[900];
    snprintf(io, sizeof io, "%s/io", tmp);
    DIR *d = opendir(io);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    db[0] = '\0';
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "flint-rocksdb-", 14))
            snprintf(db, sizeof db, "%s/%s/db", io, de->d_name);
    closedir(d);
    ck_assert_msg(db[0], "no RocksDB directory under %s", io);
    d = opendir(db);
    ck_assert_ptr_nonnull(d);
    path[0] = '\0';
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "OPTIONS-", 8) &&
            (!path[0] || strcmp(de->d_name, strrchr(path, '/') + 1) > 0))
            snprintf(path, sizeof path, "%s/%s", db, de->d_name);
    closedir(d);
    ck_assert_msg(path[0], "no OPTIONS file in %s", db);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}


static void expect_option(const char *text, const char *line)
{
    char want[200];
    snprintf(want, sizeof want, "\n  %s\n", line);
    ck_assert_msg(strstr(text, want), "OPTIONS lacks \"%s\"", line);
}

/* Flink's state.backend.rocksdb.* keys reach RocksDB (read back from the OPTIONS file RocksDB
 * writes, in RocksDB's own words); unset, they are Flink's documented defaults. */
START_TEST(test_tuning_keys)
{
    fl_err err = {{0}};
    char io[300];
    snprintf(io, sizeof io, "%s/io", tmp);
    fl_kbackend *b = fl_kbackend_rocksdb_new(MAXP, 0, MAXP - 1, io, "defaults", NULL, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    const char *text = options_file_text();
    expect_option(text, "write_buffer_size=67108864");  /* 64 mb */
    expect_option(text, "max_write_buffer_number=2");
    expect_option(text, "max_background_jobs=2");
    expect_option(text, "compaction_style=kCompactionStyleLevel");
    expect_option(text, "target_file_size_base=67108864");
    expect_option(text, "max_bytes_for_level_base=268435456");
    expect_option(text, "block_size=4096");
    expect_option(text, "memtable_whole_key_filtering=true"); /* ours, not Flink's */
    fl_kbackend_free(b);

    fl_conf *conf = fl_conf_new();
    static const char *const set[][2] = {
        {"state.backend.rocksdb.thread.num", "3"},
        {"state.backend.rocksdb.writebuffer.size", "32 mb"},
        {"state.backend.rocksdb.writebuffer.count", "4"},
        {"state.backend.rocksdb.writebuffer.number-to-merge", "2"},
        {"state.backend.rocksdb.block.blocksize", "16kb"},
        {"state.backend.rocksdb.compaction.style", "universal"},
        {"state.backend.rocksdb.compaction.level.use-dynamic-size", "true"},
        {"state.backend.rocksdb.compaction.level.target-file-size-base", "8 mb"},
        {"state.backend.rocksdb.compaction.level.max-size-level-base", "512 mb"},
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(set); i++)
        ck_assert_msg(fl_conf_set(conf, set[i][0], set[i][1], &err) == 0, "%s", err.msg);
    b = fl_kbackend_rocksdb_new(MAXP, 0, MAXP - 1, io, "tuned", conf, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    text = options_file_text();
    expect_option(text, "max_background_jobs=3");
    expect_option(text, "write_buffer_size=33554432");
    expect_option(text, "max_write_buffer_number=4");
    expect_option(text, "min_write_buffer_number_to_merge=2");
    expect_option(text, "block_size=16384");
    expect_option(text, "compaction_style=kCompactionStyleUniversal");
    expect_option(text, "target_file_size_base=8388608");
    expect_option(text, "max_bytes_for_level_base=536870912");
    fl_kbackend_free(b);
    /* dynamic level sizes are a LEVEL setting (RocksDB drops it for UNIVERSAL) */
    ck_assert_int_eq(fl_conf_set(conf, "state.backend.rocksdb.compaction.style", "LEVEL", &err),
                     0);
    b = fl_kbackend_rocksdb_new(MAXP, 0, MAXP - 1, io, "dynamic", conf, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    text = options_file_text();
    expect_option(text, "compaction_style=kCompactionStyleLevel");
    expect_option(text, "level_compaction_dynamic_level_bytes=true");
    fl_kbackend_free(b);

    /* values RocksDB could not take are refused where they are set, with the key's range */
    ck_assert_int_eq(fl_conf_set(conf, "state.backend.rocksdb.compaction.style", "SIDEWAYS",
                                 &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "LEVEL|UNIVERSAL|FIFO"));
    ck_assert_int_eq(fl_conf_set(conf, "state.backend.rocksdb.writebuffer.count", "1", &err),
                     -1);
    fl_conf_free(conf);
}
END_TEST

/* ---- background threads yield the cores -------------------------------------------- */

/* The nice of this process's threads named comm: the highest in *max, the lowest in *min;
 * how many there are. */
static int thread_nice(const char *comm, int *min, int *max)
{
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = e->d_name[0] == '.' ? NULL : fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        /* pid (comm) state ppid ... : nice is the 19th field, the 17th after ')' */
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close || (size_t)(close - open - 1) != strlen(comm) ||
            strncmp(open + 1, comm, strlen(comm)) != 0)
            continue;
        char *p = close + 2;
        for (int k = 0; k < 16 && p; k++)
            p = strchr(p + 1, ' ');
        ck_assert_ptr_nonnull(p);
        int nice = atoi(p + 1);
        if (n == 0 || nice < *min)
            *min = nice;
        if (n == 0 || nice > *max)
            *max = nice;
        n++;
    }
    closedir(d);
    return n;
}

/* Compactions (RocksDB's LOW pool) run at nice 19; flushes (its HIGH pool) and the thread
 * that writes keep the normal priority. A thread of the LOW pool lowers itself when it
 * takes its first job, so the test writes until compactions have run: 256 kb memtables,
 * level compaction from 4 files in level 0. */
START_TEST(test_background_priority)
{
    fl_kbackend *b = new_small_backend("priority");
    int lo = 0, hi = 0, rounds = 0;
    for (uint32_t ver = 1;; ver++) {
        fill(b, 4000, ver); /* ~1.5 MB: six memtables */
        int n = thread_nice("rocksdb:low", &lo, &hi);
        if (n > 0 && hi == 19)
            break;
        ck_assert_msg(++rounds < 200, "no compaction thread at nice 19 after %d fills (%d "
                      "threads, nice %d..%d)", rounds, n, lo, hi);
    }
    ck_assert_int_eq(lo, 19);
    ck_assert_int_gt(thread_nice("rocksdb:high", &lo, &hi), 0);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 0);
    ck_assert_int_eq(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), 0);
    fl_kbackend_free(b);
}
END_TEST

static Suite *rocksdb_suite(void)
{
    Suite *s = suite_create("rocksdb");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_access_with_namespaces);
    tcase_add_test(tc, test_many_keys);
    tcase_add_test(tc, test_snapshot_restore_same_range);
    tcase_add_test(tc, test_empty_snapshot);
    tcase_add_test(tc, test_rescale);
    tcase_add_test(tc, test_incremental);
    tcase_add_test(tc, test_damaged_files);
    tcase_add_test(tc, test_foreign_backends);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_tuning_keys);
    tcase_add_test(tc, test_background_priority);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_OFF);
    return tu_run(rocksdb_suite());
}
