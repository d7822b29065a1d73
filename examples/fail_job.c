/* fail_job.c -- a job whose map function fails its task: the cluster tests check that the
 * job ends FAILED with the function's message.
 *
 *   flint run build/examples/fail_job.so [--fail-at N]     (default N = 100)
 *
 * A sequence 1..1000000 goes through a map that counts the records of its subtask and, at
 * record N, calls fl_ctx_fail(ctx, "boom at record N"). It shows a rich function too: the
 * per-subtask counter is set up in open and released in close, the failing record number
 * comes in the operator's config blob.
 */
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fj_open(fl_ctx *ctx);
void fj_close(fl_ctx *ctx);
void fj_map(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

void fj_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, calloc(1, sizeof(int64_t)));
}

void fj_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
    fl_ctx_set_user(ctx, NULL);
}

void fj_map(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    int64_t *n = fl_ctx_user(ctx), fail_at = *fl_ctx_config_as(ctx, int64_t);

    if (++*n == fail_at) {
        fl_ctx_fail(ctx, "boom at record %d", (int)*n);
        return;
    }
    fl_emit(out, in->data, in->len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    int64_t fail_at = atoll(fl_arg(argc, argv, "fail-at", "100"));

    fl_stream *s = fl_generate_sequence(env, 1, 1000000);
    s = fl_name(fl_map(s, fj_map), "Failing Map");
    fl_with_config_as(s, int64_t, &fail_at);
    fl_with_open(s, fj_open);
    fl_with_close(s, fj_close);
    fl_discard(s);
    return fl_execute(env, "Failing Job");
}
