/* transformations.c -- the guide's snippets on basic and keyed transformations. */
#include <flint/flint.h>

#include <string.h>

void split_words(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void to_pair(fl_ctx *ctx, const fl_rec *in, fl_out *out);
bool is_long(fl_ctx *ctx, const fl_rec *in);
void add_counts(fl_ctx *ctx, const fl_rec *acc, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

/* [functions] */
/* A word and its count: fixed-size structs travel as they are. */
struct word_count {
    char word[32];
    int64_t count;
};

/* FlatMapFunction: 0..n words per line. */
void split_words(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const char *p = in->data, *end = p + in->len;
    while (p < end) {
        const char *w = p;
        while (p < end && *p != ' ')
            p++;
        if (p > w)
            fl_emit(out, w, (uint32_t)(p - w));
        p++;
    }
}

/* FilterFunction: keep or drop. */
bool is_long(fl_ctx *ctx, const fl_rec *in)
{
    return in->len >= 3;
}

/* MapFunction: exactly one output per input. */
void to_pair(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct word_count wc = {{0}, 1};
    memcpy(wc.word, in->data, in->len < sizeof wc.word ? in->len : sizeof wc.word - 1);
    fl_emit(out, &wc, sizeof wc);
}

/* ReduceFunction: the key's accumulator and the new record give the new accumulator. */
void add_counts(fl_ctx *ctx, const fl_rec *acc, const fl_rec *in, fl_out *out)
{
    struct word_count a, b;
    memcpy(&a, acc->data, sizeof a);
    memcpy(&b, in->data, sizeof b);
    a.count += b.count;
    fl_emit(out, &a, sizeof a);
}
/* [functions] */

int flint_main(fl_env *env, int argc, char **argv)
{
    fl_stream *lines = fl_read_text_file(env, fl_arg(argc, argv, "input", "in.txt"));
    /* [pipeline] */
    fl_stream *pairs = fl_map(fl_filter(fl_flat_map(lines, split_words), is_long), to_pair);
    fl_stream *keyed = fl_key_by_field(pairs, offsetof(struct word_count, word), 32);
    fl_stream *counts = fl_reduce(keyed, add_counts);          /* .keyBy(...).reduce(...) */
    fl_stream *sums = fl_sum(keyed, FL_FIELD(struct word_count, count, FL_I64)); /* .sum() */
    /* [pipeline] */
    fl_discard(counts);
    fl_discard(sums);
    return fl_execute(env, "transformations");
}
