/* sources.c -- the guide's snippets on sources (docs/flink-to-flint.md). A bundle:
 * make docs-check compiles it. */
#include <flint/flint.h>

#include <stdlib.h>

int counter_source(fl_ctx *ctx, fl_out *out);
void counter_open(fl_ctx *ctx);
void counter_close(fl_ctx *ctx);
int flint_main(fl_env *env, int argc, char **argv);

/* [custom_source] */
/* SourceFunction.run() as a poll: emit a few records per call, say whether more come. */
struct counter {
    int64_t next, end;
};

void counter_open(fl_ctx *ctx) /* each parallel instance counts its own range */
{
    struct counter *c = calloc(1, sizeof *c);
    if (!c) {
        fl_ctx_fail(ctx, "out of memory");
        return;
    }
    c->next = fl_ctx_subtask(ctx) * 1000;
    c->end = c->next + 1000;
    fl_ctx_set_user(ctx, c);
}

void counter_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

int counter_source(fl_ctx *ctx, fl_out *out)
{
    struct counter *c = fl_ctx_user(ctx);
    for (int i = 0; i < 100 && c->next < c->end; i++, c->next++)
        fl_emit(out, &c->next, sizeof c->next);
    return c->next < c->end ? FL_SOURCE_MORE : FL_SOURCE_END;
}
/* [custom_source] */

int flint_main(fl_env *env, int argc, char **argv)
{
    /* [builtin_sources] */
    static const int64_t nums[] = {1, 2, 3, 4, 5, 6, 7, 8};
    fl_stream *elements = fl_from_elements(env, nums, sizeof nums[0], 8); /* fromElements */
    fl_stream *lines = fl_read_text_file(env, fl_arg(argc, argv, "input", "in.txt"));
    fl_stream *socket = fl_socket_text_stream(env, "localhost", 9999); /* socketTextStream */
    fl_stream *seq = fl_generate_sequence(env, 1, 1000000);            /* fromSequence */
    /* [builtin_sources] */

    /* [add_source] */
    fl_stream *counted = fl_add_source(env, counter_source, true); /* a parallel source */
    fl_with_open(counted, counter_open);
    fl_with_close(counted, counter_close);
    fl_name(counted, "Counter Source");
    /* [add_source] */

    fl_print(elements, NULL);
    fl_print(lines, NULL);
    fl_print(socket, NULL);
    fl_discard(seq);
    fl_discard(counted);
    return fl_execute(env, "sources");
}
