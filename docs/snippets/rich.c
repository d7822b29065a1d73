/* rich.c -- the guide's snippets on rich functions and operator configuration. */
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tag_open(fl_ctx *ctx);
void tag_close(fl_ctx *ctx);
void tag_map(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

/* [rich] */
struct tag_cfg {
    int64_t factor;
};

struct tag_state { /* what open() sets up for this parallel instance */
    int64_t factor;
    int subtask;
    char *buf;
};

void tag_open(fl_ctx *ctx) /* RichMapFunction.open() */
{
    struct tag_state *st = calloc(1, sizeof *st);
    if (!st) {
        fl_ctx_fail(ctx, "out of memory");
        return;
    }
    st->factor = fl_ctx_config_as(ctx, struct tag_cfg)->factor;
    st->subtask = fl_ctx_subtask(ctx); /* getRuntimeContext().getIndexOfThisSubtask() */
    st->buf = malloc(64);
    fl_ctx_set_user(ctx, st);
}

void tag_map(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct tag_state *st = fl_ctx_user(ctx);
    int64_t v = 0;
    if (in->len == sizeof v)
        memcpy(&v, in->data, sizeof v);
    int n = snprintf(st->buf, 64, "%d:%lld", st->subtask, (long long)(v * st->factor));
    fl_emit(out, st->buf, (uint32_t)n);
}

void tag_close(fl_ctx *ctx) /* close(): also after a failure or a cancel */
{
    struct tag_state *st = fl_ctx_user(ctx);
    if (st)
        free(st->buf);
    free(st);
}
/* [rich] */

int flint_main(fl_env *env, int argc, char **argv)
{
    fl_stream *s = fl_generate_sequence(env, 1, 100);
    /* [wire] */
    struct tag_cfg cfg = {10};
    fl_stream *tagged = fl_map(s, tag_map);
    fl_with_config_as(tagged, struct tag_cfg, &cfg); /* copied into the job */
    fl_with_open(tagged, tag_open);
    fl_with_close(tagged, tag_close);
    /* [wire] */
    fl_print(tagged, NULL);
    return fl_execute(env, "rich");
}
