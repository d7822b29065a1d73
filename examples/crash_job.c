/* crash_job.c -- a job with a bug, as a new user writes one: its map dereferences NULL at
 * one record of one subtask (tests/cluster/test_crash.sh). The TaskManager reports the crash
 * (the signal, the function, the operator), its supervisor restarts it, and the job fails
 * or restarts by its restart strategy.
 *
 *   flint run -p 3 build/examples/crash_job.so [--crash-at N] [--subtask S] [--records R]
 *   flint run build/examples/crash_job.so --crash-in-main      (flint_main itself crashes)
 *   flint run build/examples/crash_job.so --no-sink            (refused: no sink)
 *   flint run -c crash_job_healthy build/examples/crash_job.so (another entry point: the
 *                                                   same pipeline, never crashing)
 *
 * A sequence 1..R (default 1,000,000) goes through "Crashing Map", whose subtask S (0-based,
 * default 1) crashes at its N-th record (default 1000; 0: never), then to a discarding
 * sink.
 */
#include <flint/flint.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct crash_cfg {
    int64_t crash_at;
    int32_t subtask;
};

void crash_open(fl_ctx *ctx);
void crash_close(fl_ctx *ctx);
void crash_map(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);
int crash_job_healthy(fl_env *env, int argc, char **argv);

void crash_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, calloc(1, sizeof(int64_t)));
}

void crash_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

void crash_map(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const struct crash_cfg *cfg = fl_ctx_config_as(ctx, struct crash_cfg);
    int64_t *seen = fl_ctx_user(ctx);
    if (fl_ctx_subtask(ctx) == cfg->subtask && ++*seen == cfg->crash_at) {
        volatile int *nowhere = NULL;
        *nowhere = 1; /* the bug */
    }
    fl_emit(out, in->data, in->len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    if (fl_arg_has(argc, argv, "crash-in-main")) {
        volatile int *nowhere = NULL;
        return *nowhere;
    }
    struct crash_cfg cfg = {
        .crash_at = atoll(fl_arg(argc, argv, "crash-at", "1000")),
        .subtask = atoi(fl_arg(argc, argv, "subtask", "1")),
    };
    int64_t records = atoll(fl_arg(argc, argv, "records", "1000000"));

    fl_stream *s = fl_generate_sequence(env, 1, records);
    s = fl_name(fl_map(s, crash_map), "Crashing Map");
    fl_with_config_as(s, struct crash_cfg, &cfg);
    fl_with_open(s, crash_open);
    fl_with_close(s, crash_close);
    if (!fl_arg_has(argc, argv, "no-sink"))
        fl_discard(s);
    return fl_execute(env, "Crash Job");
}

int crash_job_healthy(fl_env *env, int argc, char **argv)
{
    struct crash_cfg cfg = {.crash_at = 0, .subtask = 0};
    fl_stream *s = fl_generate_sequence(env, 1, atoll(fl_arg(argc, argv, "records", "1000")));
    s = fl_name(fl_map(s, crash_map), "Healthy Map");
    fl_with_config_as(s, struct crash_cfg, &cfg);
    fl_with_open(s, crash_open);
    fl_with_close(s, crash_close);
    fl_discard(s);
    return fl_execute(env, "Healthy Job");
}
