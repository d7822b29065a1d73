/* lifecycle.c -- a job that leaves a trace of its rich function's open and close calls, so
 * the cluster tests can check that every open is followed by a close, also when the job
 * fails or is cancelled (Flink closes its rich functions then too).
 *
 *   flint run build/examples/lifecycle.so --dir DIR [--fail-at N] [--records R]
 *
 * A sequence 1..R (default 10,000,000) goes through a map; its open creates
 * DIR/open-SUBTASK-ATTEMPT, its close DIR/close-SUBTASK-ATTEMPT. With --fail-at N > 0,
 * subtask 0 fails its task at its record N.
 */
#include <flint/flint.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lc_cfg {
    int64_t fail_at;
    char dir[4000];
};

void lc_open(fl_ctx *ctx);
void lc_close(fl_ctx *ctx);
void lc_map(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

static void lc_mark(fl_ctx *ctx, const char *what)
{
    const struct lc_cfg *c = fl_ctx_config_as(ctx, struct lc_cfg);
    char path[4100];
    snprintf(path, sizeof path, "%s/%s-%d-%d", c->dir, what, fl_ctx_subtask(ctx),
             fl_ctx_attempt(ctx));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fl_ctx_fail(ctx, "lifecycle: cannot create %s", path);
    else
        close(fd);
}

void lc_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, calloc(1, sizeof(int64_t)));
    lc_mark(ctx, "open");
}

void lc_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
    fl_ctx_set_user(ctx, NULL);
    lc_mark(ctx, "close");
}

void lc_map(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const struct lc_cfg *c = fl_ctx_config_as(ctx, struct lc_cfg);
    int64_t *n = fl_ctx_user(ctx);
    if (c->fail_at > 0 && fl_ctx_subtask(ctx) == 0 && ++*n == c->fail_at) {
        fl_ctx_fail(ctx, "lifecycle: failing at record %lld", (long long)*n);
        return;
    }
    fl_emit(out, in->data, in->len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    static struct lc_cfg c;
    const char *dir = fl_arg(argc, argv, "dir", NULL);
    if (!dir || strlen(dir) >= sizeof c.dir) {
        fprintf(stderr, "lifecycle: --dir DIR is required (at most %zu bytes)\n",
                sizeof c.dir - 1);
        return 1;
    }
    snprintf(c.dir, sizeof c.dir, "%s", dir);
    c.fail_at = atoll(fl_arg(argc, argv, "fail-at", "0"));
    int64_t records = atoll(fl_arg(argc, argv, "records", "10000000"));

    fl_stream *s = fl_generate_sequence(env, 1, records);
    s = fl_name(fl_map(s, lc_map), "Lifecycle Map");
    fl_with_config_as(s, struct lc_cfg, &c);
    fl_with_open(s, lc_open);
    fl_with_close(s, lc_close);
    fl_discard(s);
    return fl_execute(env, "Lifecycle");
}
