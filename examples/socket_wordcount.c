/* socket_wordcount.c -- WordCount over lines read from a TCP server (Flink's
 * SocketWindowWordCount without the window): runs until cancelled.
 *
 *   nc -lk 9999 &           # or any server writing lines
 *   flint run [-p N] build/examples/socket_wordcount.so --host localhost --port 9999
 *   flint cancel JOBID
 *
 * The socket source reads with parallelism 1; the tokenizer follows it (rebalanced when -p
 * is larger), the counter and the print sink follow -p. Tokenization, record layout and
 * output (`word,count` on every change of a count) are wordcount.c's.
 */
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWC_MAX_WORD FL_MAX_KEY

/* The record: count, then 1..SWC_MAX_WORD bytes of the word. */
struct swc_rec {
    int64_t count;
    char word[SWC_MAX_WORD];
};
#define SWC_HEAD offsetof(struct swc_rec, word)

void swc_tokenize(fl_ctx *ctx, const fl_rec *in, fl_out *out);
uint32_t swc_word(const fl_rec *in, void *key);
uint32_t swc_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

static const unsigned char swc_is_word[256] = {
    ['0' ... '9'] = 1,
    ['A' ... 'Z'] = 1,
    ['a' ... 'z'] = 1,
};

/* Tokenizer (flatMap): one record (word, 1) per word of the line. */
void swc_tokenize(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const unsigned char *p = in->data, *end = p + in->len;
    struct swc_rec rec;

    rec.count = 1;
    while (p < end) {
        while (p < end && !swc_is_word[*p])
            p++;
        uint32_t n = 0;
        while (p < end && swc_is_word[*p]) {
            if (n < SWC_MAX_WORD)
                rec.word[n++] = (char)(*p | 0x20);
            p++;
        }
        if (n)
            fl_emit(out, &rec, (uint32_t)SWC_HEAD + n);
    }
}

uint32_t swc_word(const fl_rec *in, void *key)
{
    uint32_t n = in->len - (uint32_t)SWC_HEAD;
    memcpy(key, (const char *)in->data + SWC_HEAD, n);
    return n;
}

uint32_t swc_format(const fl_rec *in, char *buf, uint32_t cap)
{
    int64_t count;
    memcpy(&count, in->data, sizeof count);
    int n = snprintf(buf, cap, "%.*s,%lld", (int)(in->len - SWC_HEAD),
                     (const char *)in->data + SWC_HEAD, (long long)count);
    return n < 0 ? 0 : (uint32_t)n < cap ? (uint32_t)n : cap;
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *host = fl_arg(argc, argv, "host", "localhost");
    const char *port_s = fl_arg(argc, argv, "port", NULL);
    char *end;
    long port = port_s ? strtol(port_s, &end, 10) : 0;

    if (!port_s || *end || port < 1 || port > 65535) {
        fprintf(stderr, "Usage: socket_wordcount [--host HOST] --port PORT\n");
        return 1;
    }
    fl_stream *text = fl_name(fl_socket_text_stream(env, host, (int)port), "socket-input");
    fl_stream *counts = fl_name(fl_flat_map(text, swc_tokenize), "tokenizer");
    counts = fl_key_by(counts, swc_word);
    counts = fl_name(fl_sum(counts, FL_FIELD(struct swc_rec, count, FL_I64)), "counter");
    fl_name(fl_print(counts, swc_format), "print-sink");
    return fl_execute(env, "Socket WordCount");
}
