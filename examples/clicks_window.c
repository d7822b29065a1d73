/* clicks_window.c -- clicks per user (or per url) and event-time window, with late data.
 *
 *   flint run [-p N] build/examples/clicks_window.so --input FILE --output DIR
 *       [--key user|url] [--mode tumbling|sliding|session] [--size-ms 10000]
 *       [--slide-ms 5000] [--gap-ms 5000] [--offset-ms 0] [--out-of-orderness-ms 5000]
 *       [--lateness-ms 0]
 *
 * Input: one click per line, `user,url,timestamp_ms` (the tutorial's Event(user, url,
 * timestamp)). Output: `key,window_start,window_end,count` for every firing of a window:
 * the regular one when the watermark reaches window_end - 1, and with --lateness-ms L one
 * more (with the updated count) for every late click accepted while the watermark is below
 * window_end - 1 + L. Clicks that arrive after that are dropped from the windows and written
 * under DIR/late/ as their original input line. Without --output both go to the print sink.
 *
 * The dataflow, as in Flink:
 *
 *   readTextFile (parallelism 1) -> parse (flatMap) -> assignTimestampsAndWatermarks(
 *       forBoundedOutOfOrderness(--out-of-orderness-ms))     (all three chained, at 1)
 *   -> keyBy(user | url) -> window(tumbling | sliding | session event-time windows)
 *       .allowedLateness(--lateness-ms).sideOutputLateData("late")
 *       .aggregate(count, ProcessWindowFunction adding key and window)   (at -p)
 *   -> file sink DIR (+ the side output's file sink DIR/late/)
 *
 * The source, the parser and the watermark assigner run at parallelism 1 (the tutorial's
 * best practice: the operators before assignTimestampsAndWatermarks at parallelism 1), so
 * with pipeline.auto-watermark-interval 0 the results do not depend on -p.
 *
 * Windows: tumbling of --size-ms, sliding of --size-ms every --slide-ms (aligned to the
 * epoch plus --offset-ms: a click at ts is in the window starting at
 * ts - (ts - offset + slide) mod slide and, sliding, in the ones slide, 2 slide ... before
 * it that still hold ts; slide = size for tumbling windows), or sessions closing after
 * --gap-ms without a click (a click bridging two sessions merges them). Defaults: 10 s
 * windows sliding by 5 s, 5 s gaps, 5 s out-of-orderness, no allowed lateness.
 *
 * The record travels as a fixed struct cut after its text (only the used bytes of `text`,
 * as in wordcount.c): the timestamp, which field is the key, and user and url back to back.
 * Lines that are empty are skipped; a malformed line (not three fields, a bad timestamp, a
 * field longer than 1024 bytes) fails the job with the line in the message.
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK_MAX_FIELD FL_MAX_KEY

struct ck_click {
    int64_t ts;
    uint16_t user_len, url_len;
    uint8_t key_is_url;
    uint8_t pad[3];
    char text[2 * CK_MAX_FIELD]; /* user, then url; only user_len + url_len bytes travel */
};
#define CK_HEAD offsetof(struct ck_click, text)

/* A window result: the counts, then the key's bytes. */
struct ck_result {
    int64_t start, end, count;
    char key[CK_MAX_FIELD];
};
#define CK_RESULT_HEAD offsetof(struct ck_result, key)

struct ck_cfg {
    int32_t key_is_url;
};

void ck_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t ck_timestamp(const fl_rec *in);
uint32_t ck_key(const fl_rec *in, void *key);
void ck_count_create(void *acc);
void ck_count_add(void *acc, const fl_rec *in);
uint32_t ck_count_result(const void *acc, void *out, uint32_t cap);
void ck_count_merge(void *acc, const void *other);
void ck_window_result(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
uint32_t ck_format_result(const fl_rec *in, char *buf, uint32_t cap);
uint32_t ck_format_click(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* "user,url,timestamp_ms" -> struct ck_click */
void ck_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const char *line = in->data;
    size_t n = in->len;
    struct ck_cfg cfg;
    struct ck_click c;

    if (n && line[n - 1] == '\r')
        n--;
    if (n == 0)
        return;
    const char *c1 = memchr(line, ',', n);
    const char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - line)) : NULL;
    if (!c2 || memchr(c2 + 1, ',', n - (size_t)(c2 + 1 - line)))
        goto bad;
    size_t ulen = (size_t)(c1 - line), rlen = (size_t)(c2 - c1 - 1);
    if (ulen > CK_MAX_FIELD || rlen > CK_MAX_FIELD ||
        fl_parse_i64(c2 + 1, n - (size_t)(c2 + 1 - line), &c.ts) < 0)
        goto bad;
    cfg = *fl_ctx_config_as(ctx, struct ck_cfg);
    c.user_len = (uint16_t)ulen;
    c.url_len = (uint16_t)rlen;
    c.key_is_url = (uint8_t)cfg.key_is_url;
    memset(c.pad, 0, sizeof c.pad);
    memcpy(c.text, line, ulen);
    memcpy(c.text + ulen, c1 + 1, rlen);
    fl_emit(out, &c, (uint32_t)(CK_HEAD + ulen + rlen));
    return;
bad:
    fl_ctx_fail(ctx, "clicks_window: malformed line (expected user,url,timestamp_ms): '%.*s'",
                (int)(n > 200 ? 200 : n), line);
}

int64_t ck_timestamp(const fl_rec *in)
{
    int64_t ts;
    memcpy(&ts, in->data, sizeof ts);
    return ts;
}

/* keyBy(user) or keyBy(url), as the parser marked the record. */
uint32_t ck_key(const fl_rec *in, void *key)
{
    struct ck_click c;
    memcpy(&c, in->data, CK_HEAD);
    const char *text = (const char *)in->data + CK_HEAD;
    if (c.key_is_url) {
        memcpy(key, text + c.user_len, c.url_len);
        return c.url_len;
    }
    memcpy(key, text, c.user_len);
    return c.user_len;
}

/* The AggregateFunction: the accumulator is the count. */
void ck_count_create(void *acc)
{
    memset(acc, 0, sizeof(int64_t));
}

void ck_count_add(void *acc, const fl_rec *in)
{
    int64_t n;
    memcpy(&n, acc, sizeof n);
    n++;
    memcpy(acc, &n, sizeof n);
}

uint32_t ck_count_result(const void *acc, void *out, uint32_t cap)
{
    memcpy(out, acc, sizeof(int64_t));
    return sizeof(int64_t);
}

void ck_count_merge(void *acc, const void *other)
{
    int64_t a, b;
    memcpy(&a, acc, sizeof a);
    memcpy(&b, other, sizeof b);
    a += b;
    memcpy(acc, &a, sizeof a);
}

/* The ProcessWindowFunction: the count with its key and window. */
void ck_window_result(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    struct ck_result r;
    uint32_t klen;

    if (!fl_iter_next_i64(elements, &r.count))
        return;
    const void *key = fl_ctx_key(ctx, &klen);
    if (klen > CK_MAX_FIELD)
        klen = CK_MAX_FIELD;
    r.start = w->start;
    r.end = w->end;
    memcpy(r.key, key, klen);
    fl_emit(out, &r, (uint32_t)CK_RESULT_HEAD + klen);
}

/* "key,window_start,window_end,count" */
uint32_t ck_format_result(const fl_rec *in, char *buf, uint32_t cap)
{
    struct ck_result r;
    uint32_t klen = in->len - (uint32_t)CK_RESULT_HEAD;

    memcpy(&r, in->data, in->len);
    int n = snprintf(buf, cap, "%.*s,%lld,%lld,%lld", (int)klen, r.key, (long long)r.start,
                     (long long)r.end, (long long)r.count);
    return fl_fmt_len(n, cap);
}

/* A late click as its input line: "user,url,timestamp_ms" */
uint32_t ck_format_click(const fl_rec *in, char *buf, uint32_t cap)
{
    struct ck_click c;

    memcpy(&c, in->data, in->len);
    int n = snprintf(buf, cap, "%.*s,%.*s,%lld", (int)c.user_len, c.text, (int)c.url_len,
                     c.text + c.user_len, (long long)c.ts);
    return fl_fmt_len(n, cap);
}

static void ck_sink(fl_stream *s, const char *dir, const char *sub, fl_format_fn fmt,
                    const char *name)
{
    char path[4096];

    if (!dir) {
        fl_name(fl_print(s, fmt), name);
        return;
    }
    snprintf(path, sizeof path, "%s%s", dir, sub);
    fl_name(fl_write_as_text(s, path, fmt), name);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *input = fl_arg(argc, argv, "input", NULL);
    const char *output = fl_arg(argc, argv, "output", NULL);
    const char *key = fl_arg(argc, argv, "key", "user");
    const char *mode = fl_arg(argc, argv, "mode", "tumbling");
    int64_t size, slide, gap, offset, ooo, lateness;
    struct ck_cfg cfg;
    fl_window_assigner assigner;

    if (!input) {
        fprintf(stderr, "Usage: clicks_window --input FILE [--output DIR] [--key user|url] "
                        "[--mode tumbling|sliding|session] [--size-ms N] [--slide-ms N] "
                        "[--gap-ms N] [--offset-ms N] [--out-of-orderness-ms N] "
                        "[--lateness-ms N]\n");
        return 1;
    }
    if (fl_arg_i64(argc, argv, "clicks_window", "size-ms", 10000, 1, &size) < 0 ||
        fl_arg_i64(argc, argv, "clicks_window", "slide-ms", 5000, 1, &slide) < 0 ||
        fl_arg_i64(argc, argv, "clicks_window", "gap-ms", 5000, 1, &gap) < 0 ||
        fl_arg_i64(argc, argv, "clicks_window", "offset-ms", 0, INT64_MIN, &offset) < 0 ||
        fl_arg_i64(argc, argv, "clicks_window", "out-of-orderness-ms", 5000, 0, &ooo) < 0 ||
        fl_arg_i64(argc, argv, "clicks_window", "lateness-ms", 0, 0, &lateness) < 0)
        return 1;
    if (strcmp(key, "user") != 0 && strcmp(key, "url") != 0) {
        fprintf(stderr, "clicks_window: --key must be user or url, not '%s'\n", key);
        return 1;
    }
    if (strcmp(mode, "tumbling") == 0)
        assigner = fl_tumbling_event_time_windows(size, offset);
    else if (strcmp(mode, "sliding") == 0)
        assigner = fl_sliding_event_time_windows(size, slide, offset);
    else if (strcmp(mode, "session") == 0)
        assigner = fl_event_time_session_windows(gap);
    else {
        fprintf(stderr, "clicks_window: --mode must be tumbling, sliding or session, not '%s'\n",
                mode);
        return 1;
    }
    cfg.key_is_url = strcmp(key, "url") == 0;

    fl_stream *s = fl_set_parallelism(fl_name(fl_read_text_file(env, input), "file-input"), 1);
    s = fl_set_parallelism(fl_name(fl_flat_map(s, ck_parse), "parse"), 1);
    fl_with_config_as(s, struct ck_cfg, &cfg);
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(ooo, ck_timestamp));
    s = fl_set_parallelism(fl_name(s, "watermarks"), 1);
    s = fl_windowed(fl_key_by(s, ck_key), assigner);
    s = fl_window_allowed_lateness(s, lateness);
    s = fl_window_side_output_late_data(s, "late");
    static const fl_aggregate count = {
        .acc_size = sizeof(int64_t),
        .create = ck_count_create,
        .add = ck_count_add,
        .result = ck_count_result,
        .merge = ck_count_merge,
        .result_max = sizeof(int64_t),
    };
    fl_stream *counts = fl_name(fl_window_aggregate(s, &count, ck_window_result), "count-window");
    ck_sink(counts, output, "", ck_format_result, "file-sink");
    ck_sink(fl_side_output(counts, "late"), output, "/late", ck_format_click, "late-sink");
    return fl_execute(env, "Clicks per window");
}
