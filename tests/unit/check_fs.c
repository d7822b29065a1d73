/* check_fs.c -- unit tests of the file-system layer (common/fs.c, fs_local.c, fs_s3.c):
 * which schemes are served and Flink's message for the others, confinement of object keys,
 * and the same round trip of operations on every file system served here: the local one
 * always, S3 when FLINT_TEST_S3_ENDPOINT names a running S3 API server (tests/cluster/
 * test_s3.sh starts s3rver and runs this binary against it, bucket FLINT_TEST_S3_BUCKET).
 * Past every bound: a listing of more than one page (1000 keys), a batched delete of more
 * than one batch, a write stream of more than one multipart part; and the recoverable
 * writer (upload, commit twice, abort).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fs.h"
#include "common/util.h"
#include "testutil.h"

START_TEST(test_schemes)
{
    fl_err err;
    static const char *served[] = {"/abs/dir", "rel/dir", "file:///tmp/x", "file:/tmp/x",
                                   "s3://bucket/k", "s3a://bucket/k", "s3p://bucket/k",
                                   "S3://bucket/k"};
    for (size_t i = 0; i < FL_ARRAY_LEN(served); i++)
        ck_assert_msg(fl_fs_check(served[i], &err) == 0, "%s refused: %s", served[i], err.msg);
    ck_assert_int_eq(fl_fs_check("hdfs://nn/ck", &err), -1);
    ck_assert_msg(strstr(err.msg, "Could not find a file system implementation for scheme "
                                  "'hdfs'") != NULL, "%s", err.msg);
    ck_assert_int_eq(fl_fs_check("gs://b/ck", &err), -1);
    ck_assert(fl_fs_is_remote("s3a://b/x") && fl_fs_is_remote("s3p://b/x"));
    ck_assert(!fl_fs_is_remote("file:///b/x") && !fl_fs_is_remote("/s3://x"));
    ck_assert_str_eq(fl_fs_local_path("file:///a/b"), "/a/b");
    ck_assert_str_eq(fl_fs_local_path("file:/a/b"), "/a/b");
    ck_assert_str_eq(fl_fs_local_path("/a/b"), "/a/b");
    char d[64];
    fl_fs_display("/a/b", d, sizeof d);
    ck_assert_str_eq(d, "file:/a/b");
    fl_fs_display("s3://bk1/x", d, sizeof d);
    ck_assert_str_eq(d, "s3://bk1/x");
    /* bucket names: 3 to 63 lower-case letters, digits, '.', '-' */
    ck_assert_int_eq(fl_fs_put("s3://B_ad/x", "", 0, &err), -1);
    ck_assert_int_eq(fl_fs_put("s3://ab/x", "", 0, &err), -1);
}
END_TEST

START_TEST(test_check_below_remote)
{
    fl_err err;
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp", "s3://bk1/sp/savepoint-1", false, &err), 0);
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp/", "s3://bk1/sp/a/b", false, &err), 0);
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp", "s3://bk1/sp", true, &err), 0);
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp", "s3://bk1/sp", false, &err), -1);
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp", "s3://bk1/spx/a", false, &err), -1);
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp", "s3://bk2/sp/a", false, &err), -1);
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp", "s3://bk1/sp/../x", false, &err), -1);
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp", "s3://bk1/sp//x", false, &err), -1);
    ck_assert_int_eq(fl_fs_check_below("s3://bk1/sp", "/tmp/sp/x", false, &err), -1);
}
END_TEST

typedef struct seen {
    int files, dirs;
    uint64_t bytes;
    bool has_meta;
} seen;

static int count(void *arg, const char *name, bool is_dir, uint64_t size)
{
    seen *s = arg;
    if (is_dir)
        s->dirs++;
    else
        s->files++;
    s->bytes += size;
    s->has_meta |= !strcmp(name, "chk-1/_metadata");
    return 0;
}

/* The same operations and expectations on any file system; base is a fresh directory; n
 * keys listed and deleted (S3: past a page and a batch of 1000; local: no such bound). */
static void round_trip(const char *base, int n)
{
    fl_err err;
    char u[1200], dst[256];
    char *data;
    size_t len;
    bool exists;
    uint64_t size;

    snprintf(u, sizeof u, "%s/chk-1/_metadata", base);
    ck_assert_int_eq(fl_fs_stat(u, &exists, NULL, &err), 0);
    ck_assert(!exists);
    int64_t mtime;
    ck_assert_int_eq(fl_fs_mtime(u, &exists, &mtime, &err), 0);
    ck_assert(!exists);
    ck_assert_int_eq(fl_fs_get(u, &data, &len, &err), -1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_REALTIME, &t0);
    ck_assert_msg(fl_fs_put(u, "meta!", 5, &err) == 0, "%s", err.msg);
    clock_gettime(CLOCK_REALTIME, &t1);
    ck_assert_int_eq(fl_fs_stat(u, &exists, &size, &err), 0);
    ck_assert(exists);
    ck_assert_int_eq(size, 5);
    /* when it was written (S3: whole seconds of the store's clock, here the same host's) */
    ck_assert_msg(fl_fs_mtime(u, &exists, &mtime, &err) == 0, "%s", err.msg);
    ck_assert(exists);
    ck_assert_int_ge(mtime / 1000000000, (int64_t)t0.tv_sec - 1);
    ck_assert_int_le(mtime / 1000000000, (int64_t)t1.tv_sec + 1);
    ck_assert_int_eq(fl_fs_get(u, &data, &len, &err), 0);
    ck_assert_int_eq(len, 5);
    ck_assert_str_eq(data, "meta!");
    free(data);

    /* a stream of three parts and a bit (S3: a multipart upload) */
    snprintf(u, sizeof u, "%s/chk-1/big", base);
    fl_fs_out *o = fl_fs_out_open(u, &err);
    ck_assert_ptr_nonnull(o);
    size_t chunk = 1 << 20, total = 0;
    char *buf = malloc(chunk);
    for (int i = 0; i < 16; i++) { /* 16 MiB + 7 bytes */
        memset(buf, 'a' + i, chunk);
        ck_assert_msg(fl_fs_out_write(o, buf, chunk, &err) == 0, "%s", err.msg);
        total += chunk;
    }
    ck_assert_int_eq(fl_fs_out_write(o, "tail!!!", 7, &err), 0);
    total += 7;
    ck_assert_int_eq(fl_fs_stat(u, &exists, NULL, &err), 0);
    ck_assert_msg(!exists, "an object appears only at close");
    ck_assert_msg(fl_fs_out_close(o, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(fl_fs_get(u, &data, &len, &err), 0);
    ck_assert_int_eq(len, total);
    ck_assert(data[0] == 'a' && data[chunk * 5] == 'f' && data[chunk * 16 - 1] == 'p');
    ck_assert(!memcmp(data + chunk * 16, "tail!!!", 7));
    free(data);
    free(buf);
    /* an aborted stream leaves nothing */
    snprintf(u, sizeof u, "%s/chk-1/aborted", base);
    o = fl_fs_out_open(u, &err);
    ck_assert_int_eq(fl_fs_out_write(o, "x", 1, &err), 0);
    fl_fs_out_abort(o);
    ck_assert_int_eq(fl_fs_stat(u, &exists, NULL, &err), 0);
    ck_assert(!exists);

    /* the recoverable writer: uploaded but invisible until committed; committing twice
     * succeeds; an aborted one leaves nothing */
    snprintf(u, sizeof u, "%s/chk-1/committed", base);
    o = fl_fs_out_open(u, &err);
    buf = malloc(chunk);
    memset(buf, 'z', chunk);
    for (int i = 0; i < 6; i++) /* S3: two parts of 5 MiB and 1 MiB */
        ck_assert_int_eq(fl_fs_out_write(o, buf, chunk, &err), 0);
    free(buf);
    char *cm = NULL;
    ck_assert_msg(fl_fs_out_close_for_commit(o, &cm, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(cm);
    ck_assert_int_eq(fl_fs_stat(u, &exists, NULL, &err), 0);
    ck_assert_msg(!exists, "visible before its commit");
    ck_assert_msg(fl_fs_commit(u, cm, &err) == 0, "%s", err.msg);
    ck_assert_msg(fl_fs_commit(u, cm, &err) == 0, "a second commit: %s", err.msg);
    ck_assert_int_eq(fl_fs_stat(u, &exists, &size, &err), 0);
    ck_assert(exists);
    ck_assert_int_eq(size, 6 * chunk);
    free(cm);
    snprintf(u, sizeof u, "%s/chk-1/dropped", base);
    o = fl_fs_out_open(u, &err);
    ck_assert_int_eq(fl_fs_out_write(o, "abc", 3, &err), 0);
    ck_assert_int_eq(fl_fs_out_close_for_commit(o, &cm, &err), 0);
    ck_assert_msg(fl_fs_commit_abort(u, cm, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(fl_fs_stat(u, &exists, NULL, &err), 0);
    ck_assert(!exists);
    free(cm);

    /* files up and down */
    snprintf(dst, sizeof dst, "%s/flint-fs-%d.down", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    snprintf(u, sizeof u, "%s/chk-1/_metadata", base);
    ck_assert_msg(fl_fs_get_file(u, dst, &err) == 0, "%s", err.msg);
    snprintf(u, sizeof u, "%s/shared/copy", base);
    ck_assert_msg(fl_fs_put_file(dst, u, &size, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(size, 5);
    unlink(dst);
    /* files below and above s3.multipart.threshold (5 mb in test_s3: one PUT, a multipart
     * upload) come back byte for byte */
    static const size_t file_sizes[] = {(1u << 20) + 7, (6u << 20) + 123};
    for (size_t f = 0; f < FL_ARRAY_LEN(file_sizes); f++) {
        size_t fsz = file_sizes[f];
        unsigned char *bytes = malloc(fsz), *back = malloc(fsz);
        uint32_t x = 2463534242u + (uint32_t)f;
        for (size_t i = 0; i < fsz; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            bytes[i] = (unsigned char)x;
        }
        FILE *fp = fopen(dst, "wb");
        ck_assert_ptr_nonnull(fp);
        ck_assert_int_eq(fwrite(bytes, 1, fsz, fp), fsz);
        fclose(fp);
        snprintf(u, sizeof u, "%s/put-file-%zu", base, f);
        ck_assert_msg(fl_fs_put_file(dst, u, &size, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(size, fsz);
        unlink(dst);
        ck_assert_msg(fl_fs_get_file(u, dst, &err) == 0, "%s", err.msg);
        fp = fopen(dst, "rb");
        ck_assert_ptr_nonnull(fp);
        ck_assert_int_eq(fread(back, 1, fsz, fp), fsz);
        ck_assert_int_eq(fgetc(fp), EOF);
        fclose(fp);
        ck_assert_msg(memcmp(bytes, back, fsz) == 0, "file of %zu bytes changed", fsz);
        unlink(dst);
        ck_assert_int_eq(fl_fs_delete(u, &err), 0);
        free(bytes);
        free(back);
    }

    /* more than one page of listing and one batch of deletes */
    char **names = calloc((size_t)n, sizeof *names);
    for (int i = 0; i < n; i++) {
        names[i] = fl_xasprintf("f%04d", i);
        snprintf(u, sizeof u, "%s/many/%s", base, names[i]);
        ck_assert_msg(fl_fs_put(u, "1", 1, &err) == 0, "%s", err.msg);
    }
    seen s = {0};
    ck_assert_msg(fl_fs_list(base, true, count, &s, &err) == 0, "%s", err.msg);
    /* chk-1/_metadata, chk-1/big, chk-1/committed, shared/copy */
    ck_assert_int_eq(s.files, n + 4);
    ck_assert(s.has_meta);
    ck_assert_int_eq(s.bytes, (uint64_t)n + 5 + total + 6 * chunk + 5);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(fl_fs_list(base, false, count, &s, &err), 0);
    ck_assert_int_eq(s.dirs, 3); /* chk-1, shared, many */
    ck_assert_int_eq(s.files, 0);
    snprintf(u, sizeof u, "%s/many", base);
    ck_assert_msg(fl_fs_delete_many(u, (const char *const *)names, (size_t)n, &err) == 0, "%s",
                  err.msg);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(fl_fs_list(u, true, count, &s, &err), 0);
    ck_assert_int_eq(s.files, 0);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);

    snprintf(u, sizeof u, "%s/shared/copy", base);
    ck_assert_int_eq(fl_fs_delete(u, &err), 0);
    ck_assert_int_eq(fl_fs_delete(u, &err), 0); /* missing: fine */
    snprintf(u, sizeof u, "%s/chk-1", base);
    ck_assert_msg(fl_fs_delete_tree(u, &err) == 0, "%s", err.msg);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(fl_fs_list(base, true, count, &s, &err), 0);
    ck_assert_int_eq(s.files, 0);
}

START_TEST(test_local)
{
    char base[256];
    snprintf(base, sizeof base, "%s/flint-fs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(base));
    char uri[300];
    snprintf(uri, sizeof uri, "file://%s", base);
    round_trip(uri, 20);
    fl_remove_tree(base);
}
END_TEST

START_TEST(test_s3)
{
    const char *ep = getenv("FLINT_TEST_S3_ENDPOINT");
    const char *bucket = getenv("FLINT_TEST_S3_BUCKET");
    if (!ep || !*ep || !bucket) {
        fprintf(stderr, "check_fs: S3 round trip not run (FLINT_TEST_S3_ENDPOINT unset; "
                        "tests/cluster/test_s3.sh runs it against s3rver)\n");
        return;
    }
    fl_conf *c = fl_conf_new();
    fl_err err;
    char text[1024];
    snprintf(text, sizeof text,
             "s3.endpoint: %s\ns3.path.style.access: true\ns3.access-key: S3RVER\n"
             "s3.secret-key: S3RVER\ns3.upload.min.part.size: 5 mb\n"
             "s3.multipart.threshold: 5 mb\n", ep);
    ck_assert_msg(fl_conf_load_string(c, text, "test", &err) == 0, "%s", err.msg);
    ck_assert_msg(fl_fs_init(c, &err) == 0, "%s", err.msg);
    char base[200];
    snprintf(base, sizeof base, "s3://%s/fs-%d", bucket, (int)getpid());
    round_trip(base, 1005);
    /* a missing bucket: a clear error naming it */
    ck_assert_int_eq(fl_fs_put("s3://no-such-bucket-here/x", "1", 1, &err), -1);
    ck_assert_msg(strstr(err.msg, "no-such-bucket-here") != NULL, "%s", err.msg);
    /* s3rver knows the access key S3RVER only (it does not verify SigV4 signatures, so a
     * wrong secret key is not detectable there): another key id is refused, and no message
     * names the secret */
    fl_conf_free(c);
    c = fl_conf_new();
    snprintf(text, sizeof text,
             "s3.endpoint: %s\ns3.path.style.access: true\ns3.access-key: NOBODY\n"
             "s3.secret-key: not-the-Secret-42\n", ep);
    ck_assert_int_eq(fl_conf_load_string(c, text, "test", &err), 0);
    ck_assert_int_eq(fl_fs_init(c, &err), 0);
    snprintf(text, sizeof text, "%s/denied", base);
    ck_assert_int_eq(fl_fs_put(text, "1", 1, &err), -1);
    ck_assert_msg(strstr(err.msg, "403") && strstr(err.msg, "InvalidAccessKeyId"), "%s",
                  err.msg);
    ck_assert_msg(!strstr(err.msg, "not-the-Secret-42"), "the secret in: %s", err.msg);
    fl_conf_free(c);
}
END_TEST

static Suite *fs_suite(void)
{
    Suite *s = suite_create("fs");
    TCase *tc = tcase_create("fs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_schemes);
    tcase_add_test(tc, test_check_below_remote);
    tcase_add_test(tc, test_local);
    tcase_add_test(tc, test_s3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(fs_suite());
}
