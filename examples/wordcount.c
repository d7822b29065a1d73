/* wordcount.c -- Flink's streaming WordCount as a Flint job bundle.
 *
 *   flint run [-p N] build/examples/wordcount.so --input FILE [--output DIR]
 *
 * Reads FILE (split over the source's parallel readers, whose parallelism follows -p),
 * splits each line into words (maximal runs of ASCII letters and digits, lower-cased),
 * counts them per word with keyBy + sum and emits `word,count` every time a word's count
 * changes: a word seen N times yields the lines word,1 ... word,N. They go to the
 * TaskManagers' standard output (print) or, with --output, to part files under DIR.
 *
 * The record is variable-length: an 8-byte count followed by the word's bytes (no NUL).
 * The key selector returns the word; fl_sum adds up the count field and keeps the word of
 * the key's first record. A word longer than WC_MAX_WORD bytes (FL_MAX_KEY, the longest key
 * Flint accepts) is counted by its first WC_MAX_WORD bytes.
 *
 * Build: cc -shared -fPIC -Iinclude examples/wordcount.c -o wordcount.so (make does it).
 */
#include <flint/flint.h>

#include <stdio.h>
#include <string.h>

#define WC_MAX_WORD FL_MAX_KEY

/* The record: count, then 1..WC_MAX_WORD bytes of the word. */
struct wc_rec {
    int64_t count;
    char word[WC_MAX_WORD];
};
#define WC_HEAD offsetof(struct wc_rec, word)

/* The functions Flint calls are looked up by name: they are global, hence the prototypes. */
void wc_tokenize(fl_ctx *ctx, const fl_rec *in, fl_out *out);
uint32_t wc_word(const fl_rec *in, void *key);
uint32_t wc_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* Word characters: ASCII letters and digits. c | 0x20 lower-cases a letter and leaves a
 * digit as it is. */
static const unsigned char wc_is_word[256] = {
    ['0' ... '9'] = 1,
    ['A' ... 'Z'] = 1,
    ['a' ... 'z'] = 1,
};

/* Tokenizer (flatMap): one record (word, 1) per word of the line. */
void wc_tokenize(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const unsigned char *p = in->data, *end = p + in->len;
    struct wc_rec rec;

    rec.count = 1;
    while (p < end) {
        while (p < end && !wc_is_word[*p])
            p++;
        uint32_t n = 0;
        while (p < end && wc_is_word[*p]) {
            if (n < WC_MAX_WORD)
                rec.word[n++] = (char)(*p | 0x20);
            p++;
        }
        if (n)
            fl_emit(out, &rec, (uint32_t)WC_HEAD + n);
    }
}

/* keyBy(word) */
uint32_t wc_word(const fl_rec *in, void *key)
{
    uint32_t n = in->len - (uint32_t)WC_HEAD;
    memcpy(key, (const char *)in->data + WC_HEAD, n);
    return n;
}

/* "word,count" */
uint32_t wc_format(const fl_rec *in, char *buf, uint32_t cap)
{
    uint32_t n = in->len - (uint32_t)WC_HEAD;
    int64_t count;
    char num[24], *d = num + sizeof num;

    memcpy(&count, in->data, sizeof count);
    uint64_t c = count < 0 ? -(uint64_t)count : (uint64_t)count;
    do
        *--d = (char)('0' + c % 10);
    while (c /= 10);
    if (count < 0)
        *--d = '-';
    *--d = ',';
    uint32_t k = (uint32_t)(num + sizeof num - d);
    if (n + k > cap)
        return 0;
    memcpy(buf, (const char *)in->data + WC_HEAD, n);
    memcpy(buf + n, d, k);
    return n + k;
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *input = fl_arg(argc, argv, "input", NULL);
    const char *output = fl_arg(argc, argv, "output", NULL);

    if (!input) {
        fprintf(stderr, "Usage: wordcount --input FILE [--output DIR]\n");
        return 1;
    }
    fl_stream *text = fl_name(fl_read_text_file(env, input), "file-input");
    fl_stream *counts = fl_name(fl_flat_map(text, wc_tokenize), "tokenizer");
    counts = fl_key_by(counts, wc_word);
    counts = fl_name(fl_sum(counts, FL_FIELD(struct wc_rec, count, FL_I64)), "counter");
    if (output)
        fl_name(fl_write_as_text(counts, output, wc_format), "file-sink");
    else
        fl_name(fl_print(counts, wc_format), "print-sink");
    return fl_execute(env, "WordCount");
}
