/* check_sources_sinks.c -- the built-in sources and sinks through the operator test harness
 * (tests/harness/), as check_operators.c runs the other operator kinds: the sources
 * (elements, sequence, text file, socket, custom) read, snapshotted and restored at the same
 * and at another parallelism, each record exactly once; the sinks (print, file, discard,
 * custom), the file sink's two-phase commit across a failure. Every expected value is worked
 * out here from the inputs, never read from the code under test.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <flint/connectors.h>

#include "common/api/typed_config.h"
#include "common/keygroup.h"
#include "common/util.h"
#include "taskmanager/chain/operator.h"
#include "tests/harness/harness.h"
#include "operators_util.h"

/* ---- sources ------------------------------------------------------------------------- */

/* Polls until the source ends (at most max polls); returns the polls made. */
static int drain(fl_harness *h, int max)
{
    int st = FL_SOURCE_MORE, n = 0;
    while (st != FL_SOURCE_END && n < max) {
        OK(fl_harness_poll(h, &st));
        n++;
    }
    ck_assert_int_eq(st, FL_SOURCE_END);
    return n;
}

START_TEST(test_elements_source_restore)
{
    /* params: u32 count, then (u32 len, bytes) per element */
    uint8_t params[4 + 3 * 12];
    uint32_t count = 3, len = 8;
    memcpy(params, &count, 4);
    for (int64_t i = 0; i < 3; i++) {
        int64_t v = 10 * (i + 1);
        memcpy(params + 4 + i * 12, &len, 4);
        memcpy(params + 8 + i * 12, &v, 8);
    }
    spec *s = spec_new(FL__PB__OP_KIND__SRC_ELEMENTS, "Collection", NULL);
    s->op.params.data = params;
    s->op.params.len = sizeof params;
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    drain(h, 5);
    const fl_harness_output *o = fl_harness_get_output(h);
    ck_assert_int_eq(o->nrecords, 3);
    ck_assert_int_eq(i64_at(o, 2), 30);
    ck_assert_int_eq(fl_harness_record(o, 0)->at, FL_NO_TIMESTAMP);
    close_h(h);
    /* a checkpoint taken after all were emitted: a restored source emits none again */
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 1);
    h = open_h(s, &(fl_harness_opts){0});
    drain(h, 5);
    OK(fl_harness_barrier(h, &c));
    close_h(h);
    h = open_h(s, &(fl_harness_opts){.restore = &c});
    drain(h, 5);
    ck_assert_int_eq(fl_harness_get_output(h)->nrecords, 0);
    close_h(h);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

/* Every value of a sequence exactly once: a part from 2 subtasks before the checkpoint,
 * the rest from 3 after it. */
START_TEST(test_sequence_source_rescale)
{
    int64_t range[2] = {1, 30000};
    spec *s = spec_new(FL__PB__OP_KIND__SRC_SEQUENCE, "Sequence", NULL);
    s->op.params.data = (uint8_t *)range;
    s->op.params.len = sizeof range;
    uint8_t *seen = fl_xcalloc(30001, 1);
    fl_harness *hs[3];
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 3);
    open_all(hs, s, 2, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        fl_harness *h = hs[i];
        int st;
        OK(fl_harness_poll(h, &st)); /* one batch each, then the checkpoint */
        ck_assert_int_eq(st, FL_SOURCE_MORE);
        const fl_harness_output *o = fl_harness_get_output(hs[i]);
        ck_assert_int_gt(o->nrecords, 0);
        ck_assert_int_lt(o->nrecords, 15000);
        for (int j = 0; j < o->nrecords; j++)
            seen[i64_at(o, j)]++;
    }
    snapshot_all(hs, 2, &c);
    open_all(hs, s, 3, &c, NULL);
    for (int i = 0; i < 3; i++) {
        drain(hs[i], 100);
        const fl_harness_output *o = fl_harness_get_output(hs[i]);
        for (int j = 0; j < o->nrecords; j++)
            seen[i64_at(o, j)]++;
        close_h(hs[i]);
    }
    for (int v = 1; v <= 30000; v++)
        ck_assert_msg(seen[v] == 1, "value %d emitted %d times", v, seen[v]);
    free(seen);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

/* The lines of a file split over 2 readers, checkpointed mid-way and read on by 1. */
START_TEST(test_text_file_source_rescale)
{
    char path[300];
    snprintf(path, sizeof path, "%s/lines.txt", base_dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    int nlines = 50000;
    for (int i = 0; i < nlines; i++)
        fprintf(f, "line %d%s\n", i, i % 7 ? "" : " with a longer tail to vary the lengths");
    fclose(f);
    spec *s = spec_new(FL__PB__OP_KIND__SRC_TEXT_FILE, "TextFile", NULL);
    s->op.params.data = (uint8_t *)path;
    s->op.params.len = strlen(path);
    uint8_t *seen = fl_xcalloc((size_t)nlines, 1);
    fl_harness *hs[2];
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 5);
    open_all(hs, s, 2, NULL, NULL);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < (round ? 1 : 2); i++) {
            fl_harness *h = hs[i];
            int st;
            if (round)
                drain(h, 1000);
            else
                OK(fl_harness_poll(h, &st));
            const fl_harness_output *o = fl_harness_get_output(hs[i]);
            for (int j = 0; j < o->nrecords; j++) {
                const fl_harness_elem *e = fl_harness_record(o, j);
                char line[128];
                size_t l = e->len < sizeof line - 1 ? e->len : sizeof line - 1;
                memcpy(line, e->data, l);
                line[l] = '\0';
                int n;
                ck_assert_int_eq(sscanf(line, "line %d", &n), 1);
                ck_assert_int_lt(n, nlines);
                seen[n]++;
            }
        }
        if (!round) {
            snapshot_all(hs, 2, &c);
            open_all(hs, s, 1, &c, NULL);
        }
    }
    close_h(hs[0]);
    for (int i = 0; i < nlines; i++)
        ck_assert_msg(seen[i] == 1, "line %d read %d times", i, seen[i]);
    free(seen);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

/* A source of fl_add_source reporting its position (fl_source_set_position): subtask i of p
 * emits the values [i * 1000, i * 1000 + 999], 100 per call; its position is the list of
 * its ranges (next, last) still to go. Restored, it continues from the positions it is
 * handed (several after a rescale down). */
typedef struct ot_range {
    int64_t next, last;
} ot_range;

typedef struct ot_src {
    ot_range r[8];
    int n;
} ot_src;

int ot_positioned_source(fl_ctx *ctx, fl_out *out);
int ot_positioned_source(fl_ctx *ctx, fl_out *out)
{
    ot_src *s = fl_ctx_user(ctx);
    if (!s) {
        s = fl_xcalloc(1, sizeof *s);
        fl_ctx_set_user(ctx, s);
        const void *pos;
        uint32_t len;
        bool restored = false;
        for (int i = 0; (pos = fl_source_restored_position(ctx, i, &len)); i++) {
            restored = true;
            ck_assert_int_eq(len % sizeof(ot_range), 0);
            for (uint32_t k = 0; k < len / sizeof(ot_range); k++)
                memcpy(&s->r[s->n++], (const uint8_t *)pos + k * sizeof(ot_range),
                       sizeof(ot_range));
        }
        if (!restored) {
            int64_t base = fl_ctx_subtask(ctx) * 1000;
            s->r[s->n++] = (ot_range){base, base + 999};
        }
    }
    int emitted = 0;
    for (int i = 0; i < s->n && emitted < 100; i++)
        for (; s->r[i].next <= s->r[i].last && emitted < 100; emitted++, s->r[i].next++)
            fl_emit(out, &s->r[i].next, sizeof s->r[i].next);
    fl_source_set_position(ctx, s->r, (uint32_t)(s->n * sizeof(ot_range)));
    bool more = false;
    for (int i = 0; i < s->n; i++)
        more |= s->r[i].next <= s->r[i].last;
    if (!more) {
        free(s);
        fl_ctx_set_user(ctx, NULL);
    }
    return more ? FL_SOURCE_MORE : FL_SOURCE_END;
}

/* Custom sources are checkpointed: 2 subtasks poll 3 times (300 values each), a checkpoint,
 * 2 more polls each (lost with the failure), then restored at parallelism 1: every value
 * of both ranges is emitted exactly once counting what came before the checkpoint and
 * everything after the restore. */
START_TEST(test_custom_source_position)
{
    spec *s = spec_new(FL__PB__OP_KIND__SRC_CUSTOM, "Positioned", "ot_positioned_source");
    s->op.close_fn = "ot_countdown_close"; /* frees the state of a source closed early */
    int seen[2000] = {0};
    fl_harness *hs[2];
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 3);
    open_all(hs, s, 2, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        fl_harness *h = hs[i];
        int st;
        for (int k = 0; k < 3; k++)
            OK(fl_harness_poll(h, &st));
        OK(fl_harness_barrier(h, &c));
        const fl_harness_output *o = fl_harness_get_output(hs[i]);
        for (int j = 0; j < o->nrecords; j++) {
            int64_t v;
            memcpy(&v, fl_harness_record(o, j)->data, sizeof v);
            ck_assert(v >= 0 && v < 2000);
            seen[v]++;
        }
        for (int k = 0; k < 2; k++)
            OK(fl_harness_poll(h, &st)); /* after the checkpoint: replayed */
        close_h(hs[i]);
    }
    open_all(hs, s, 1, &c, NULL);
    drain(hs[0], 100);
    const fl_harness_output *o = fl_harness_get_output(hs[0]);
    for (int j = 0; j < o->nrecords; j++) {
        int64_t v;
        memcpy(&v, fl_harness_record(o, j)->data, sizeof v);
        ck_assert(v >= 0 && v < 2000);
        seen[v]++;
    }
    close_h(hs[0]);
    for (int v = 0; v < 2000; v++)
        ck_assert_msg(seen[v] == 1, "value %d emitted %d times", v, seen[v]);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

START_TEST(test_socket_source)
{
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    ck_assert_int_eq(bind(srv, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(srv, 1), 0);
    ck_assert_int_eq(getsockname(srv, (struct sockaddr *)&a, &alen), 0);
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", ntohs(a.sin_port));
    spec *s = spec_new(FL__PB__OP_KIND__SRC_SOCKET, "Socket", NULL);
    s->op.params.data = (uint8_t *)hp;
    s->op.params.len = strlen(hp);
    fl_harness *h = open_h(s, &(fl_harness_opts){0}); /* connects */
    int peer = accept(srv, NULL, NULL);
    ck_assert_int_ge(peer, 0);
    int st;
    OK(fl_harness_poll(h, &st));
    ck_assert_int_eq(st, FL_SOURCE_IDLE); /* nothing sent yet */
    const char *text = "one\r\ntwo\nthr";
    ck_assert_int_eq(write(peer, text, strlen(text)), (ssize_t)strlen(text));
    int64_t deadline = fl_mono_ms() + 5000;
    while (fl_harness_get_output(h)->nrecords < 2 && fl_mono_ms() < deadline)
        OK(fl_harness_poll(h, &st));
    ck_assert_int_eq(write(peer, "ee", 2), 2);
    close(peer); /* the last line, unterminated, comes with the end */
    deadline = fl_mono_ms() + 5000;
    while (st != FL_SOURCE_END && fl_mono_ms() < deadline)
        OK(fl_harness_poll(h, &st));
    ck_assert_int_eq(st, FL_SOURCE_END);
    const fl_harness_output *o = fl_harness_get_output(h);
    const char *want[] = {"one", "two", "three"};
    ck_assert_int_eq(o->nrecords, 3);
    for (int i = 0; i < 3; i++) {
        const fl_harness_elem *e = fl_harness_record(o, i);
        ck_assert_uint_eq(e->len, strlen(want[i]));
        ck_assert(!memcmp(e->data, want[i], e->len));
    }
    close_h(h);
    close(srv);
    free(s);
}
END_TEST

/* A custom source: counts down from its config, one record per poll. */
int ot_countdown(fl_ctx *ctx, fl_out *out);
int ot_countdown(fl_ctx *ctx, fl_out *out)
{
    int64_t *left = fl_ctx_user(ctx);
    if (!left) {
        left = fl_xmalloc(sizeof *left);
        *left = *fl_ctx_config_as(ctx, int64_t);
        fl_ctx_set_user(ctx, left);
    }
    if (*left <= 0)
        return FL_SOURCE_END;
    fl_emit_ts(out, left, sizeof *left, *left);
    (*left)--;
    return FL_SOURCE_MORE;
}

void ot_countdown_close(fl_ctx *ctx);
void ot_countdown_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

START_TEST(test_custom_source)
{
    int64_t n = 4;
    spec *s = spec_new(FL__PB__OP_KIND__SRC_CUSTOM, "Countdown", "ot_countdown");
    s->op.close_fn = "ot_countdown_close";
    uint8_t cfg[sizeof(fl_cfg_header) + sizeof n];
    set_config_i64(s, cfg, n);
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    ck_assert_int_eq(drain(h, 10), 5);
    const fl_harness_output *o = fl_harness_get_output(h);
    ck_assert_int_eq(o->nrecords, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(i64_at(o, i), 4 - i);
        ck_assert_int_eq(fl_harness_record(o, i)->at, 4 - i);
    }
    close_h(h);
    free(s);
}
END_TEST

/* ---- sinks ------------------------------------------------------------------------- */

static void push_text(fl_harness *h, const char *text, int64_t ts)
{
    OK(fl_harness_process(h, text, (uint32_t)strlen(text), ts));
}

/* The whole file at dir/name, or NULL when it does not exist (the caller frees). */
static char *file_text(const char *dir, const char *name)
{
    char path[600], *text;
    size_t len;
    fl_err err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fl_read_file(path, &text, &len, &err) < 0 ? NULL : text;
}

/* Writes text to dir/name, its modification time age_s seconds in the past. */
static void put_text(const char *dir, const char *name, const char *text, int age_s)
{
    char path[600];
    fl_err err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(fl_write_file(path, text, strlen(text), false, &err), 0);
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= age_s;
    ts[1] = ts[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

START_TEST(test_print_sink)
{
    char path[300];
    snprintf(path, sizeof path, "%s/stdout", base_dir);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    spec *s = spec_new(FL__PB__OP_KIND__SINK_PRINT, "Print", NULL);
    fl_harness *h = open_h(s, &(fl_harness_opts){.subtask = 1, .parallelism = 2});
    push_text(h, "hello", 1);
    OK(fl_harness_process(h, "nul\0\0", 5, 2)); /* the bytes as text, without terminators */
    OK(fl_harness_finish(h));
    close_h(h);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char *text = file_text(base_dir, "stdout");
    ck_assert_str_eq(text, "2> hello\n2> nul\n");
    free(text);
    free(s);
}
END_TEST

/* The text of dir's one hidden in-progress file of part name (common/fs's local
 * recoverable writer: .<name>.inprogress.<random>), or NULL. */
static char *hidden_text(const char *dir, const char *name)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, ".%s.inprogress.", name);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    char *text = NULL;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)))
            continue;
        ck_assert_ptr_null(text); /* one */
        text = file_text(dir, e->d_name);
    }
    closedir(d);
    return text;
}

/* The file sink's part names: part-<job>-<subtask>-<n> (the harness's job ID), and another
 * job's, as an earlier run into the same directory leaves them. */
#define PART "part-0123456789abcdef0123456789abcdef-"
#define OTHER_RUN "part-fedcba9876543210fedcba9876543210-"

/* Two-phase commit: pending at a checkpoint, published when it completes; after a failure,
 * the restored checkpoint's pending part is published and what came after it is not. */
START_TEST(test_file_sink_two_phase)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/out", base_dir);
    spec *s = spec_new(FL__PB__OP_KIND__SINK_FILE, "FileSink", NULL);
    s->op.params.data = (uint8_t *)dir;
    s->op.params.len = strlen(dir);
    fl_harness_ckpt c1, c2;
    fl_harness_ckpt_init(&c1, base_dir, 1);
    fl_harness_ckpt_init(&c2, base_dir, 2);
    fl_harness *h = open_h(s, &(fl_harness_opts){.checkpointing = true});
    push_text(h, "a", 1);
    push_text(h, "b", 2);
    OK(fl_harness_barrier(h, &c1));
    char *t = hidden_text(dir, PART "0-0");
    ck_assert_str_eq(t, "a\nb\n");
    free(t);
    ck_assert_ptr_null(file_text(dir, PART "0-0"));
    OK(fl_harness_notify_complete(h, 1));
    t = file_text(dir, PART "0-0");
    ck_assert_str_eq(t, "a\nb\n");
    free(t);
    push_text(h, "c", 3);
    OK(fl_harness_barrier(h, &c2));
    push_text(h, "d", 4); /* after checkpoint 2: replayed after the failure */
    close_h(h);           /* the failure: 2 never completes here */
    /* what a crash leaves: a part in progress after checkpoint 2, a part a newer checkpoint
     * (then damaged) published; and another run's (job's) parts: one under the number the
     * next part takes, written after checkpoint 2, and one older than it */
    put_text(dir, "." PART "0-2.inprogress.0123abcd", "d\n", 0);
    put_text(dir, PART "0-4", "e\n", 0);
    put_text(dir, OTHER_RUN "0-3", "other run\n", 0);
    put_text(dir, OTHER_RUN "0-9", "earlier run\n", 3600);
    h = open_h(s, &(fl_harness_opts){.checkpointing = true, .restore = &c2, .failover = true});
    ck_assert_ptr_null(hidden_text(dir, PART "0-2")); /* aborted */
    ck_assert_ptr_null(file_text(dir, PART "0-4"));   /* rolled back */
    t = file_text(dir, PART "0-1");
    ck_assert_str_eq(t, "c\n");
    free(t);
    push_text(h, "d", 4);
    OK(fl_harness_finish(h));
    close_h(h);
    /* restored from checkpoint 2: the parts after it are numbered from 3 on (file_start_part),
     * whatever another job left under its own names; that stays as it was */
    ck_assert_ptr_null(file_text(dir, PART "0-2"));
    t = file_text(dir, PART "0-3");
    ck_assert_str_eq(t, "d\n");
    free(t);
    t = file_text(dir, OTHER_RUN "0-3");
    ck_assert_str_eq(t, "other run\n");
    free(t);
    t = file_text(dir, OTHER_RUN "0-9");
    ck_assert_str_eq(t, "earlier run\n");
    free(t);
    ck_assert_int_eq(count_entries(dir), 5); /* nothing pending or in progress is left */
    fl_harness_ckpt_free(&c1);
    fl_harness_ckpt_free(&c2);
    free(s);
}
END_TEST

static int64_t collected[16];
static int ncollected;

void ot_collect(fl_ctx *ctx, const fl_rec *in);
void ot_collect(fl_ctx *ctx, const fl_rec *in)
{
    ck_assert_int_lt(ncollected, 16);
    memcpy(&collected[ncollected++], in->data, sizeof(int64_t));
}

START_TEST(test_discard_and_custom_sinks)
{
    spec *d = spec_new(FL__PB__OP_KIND__SINK_DISCARD, "Discard", NULL);
    fl_harness *h = open_h(d, &(fl_harness_opts){0});
    push_i64(h, 1, 1);
    OK(fl_harness_finish(h));
    ck_assert_int_eq(fl_harness_get_output(h)->n, 0);
    close_h(h);
    spec *c = spec_new(FL__PB__OP_KIND__SINK_CUSTOM, "Collect", "ot_collect");
    h = open_h(c, &(fl_harness_opts){0});
    ncollected = 0;
    push_i64(h, 7, 1);
    push_i64(h, 9, 2);
    ck_assert_int_eq(ncollected, 2);
    ck_assert_int_eq(collected[1], 9);
    close_h(h);
    free(d);
    free(c);
}
END_TEST

static Suite *sources_sinks_suite(void)
{
    Suite *s = suite_create("sources and sinks");
    TCase *tc = tcase_create("sources and sinks");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, dirs_up, dirs_down);
    tcase_add_test(tc, test_elements_source_restore);
    tcase_add_test(tc, test_sequence_source_rescale);
    tcase_add_test(tc, test_text_file_source_rescale);
    tcase_add_test(tc, test_custom_source_position);
    tcase_add_test(tc, test_socket_source);
    tcase_add_test(tc, test_custom_source);
    tcase_add_test(tc, test_print_sink);
    tcase_add_test(tc, test_file_sink_two_phase);
    tcase_add_test(tc, test_discard_and_custom_sinks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(sources_sinks_suite());
}
