/* pipelines.c -- an embarrassingly parallel job: every subtask chain is a pipeline of its
 * own, connected to no other by any data edge, so each is its own pipelined region and a
 * failure restarts only its own (jobmanager.execution.failover-strategy: region). The
 * cluster test of region failover runs it (tests/cluster/test_region_failover.sh).
 *
 *   flint run [-p N] build/examples/pipelines.so --to T --output DIR
 *       [--fail-subtask F --fail-file PATH]
 *
 * The dataflow, every edge forward:
 *
 *   generateSequence(0, T) -> | forward | -> "stamp" map: v -> "v" -> file sink DIR
 *
 * The map starts a chain of its own, so each region holds two tasks: source i and map i
 * (with its sink). Failure injection: in the job's first attempt (fl_ctx_attempt() == 0),
 * subtask F of the map fails once the file PATH exists (it looks every 256 records); a
 * test creates the file when it wants the failure, after checkpoints completed. The
 * committed output holds every value 0..T exactly once whatever restarts.
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pl_cfg {
    int64_t fail_subtask; /* -1: none */
    char fail_file[512];
};

struct pl_state {
    int64_t n;
};

void pl_open(fl_ctx *ctx);
void pl_close(fl_ctx *ctx);
void pl_stamp(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

void pl_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, calloc(1, sizeof(struct pl_state)));
}

void pl_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
    fl_ctx_set_user(ctx, NULL);
}

void pl_stamp(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct pl_state *s = fl_ctx_user(ctx);
    const struct pl_cfg *c = fl_ctx_config_as(ctx, struct pl_cfg);
    int64_t v;
    char line[32];

    if (!s || in->len != sizeof v) {
        fl_ctx_fail(ctx, "pipelines: bad record or configuration");
        return;
    }
    memcpy(&v, in->data, sizeof v);
    if (c->fail_subtask == fl_ctx_subtask(ctx) && fl_ctx_attempt(ctx) == 0 &&
        ++s->n % 256 == 0 && access(c->fail_file, F_OK) == 0) {
        fl_ctx_fail(ctx, "pipelines: induced failure of subtask %d at value %lld",
                    fl_ctx_subtask(ctx), (long long)v);
        return;
    }
    int n = snprintf(line, sizeof line, "%lld", (long long)v);
    fl_emit(out, line, (uint32_t)n);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *output = fl_arg(argc, argv, "output", NULL);
    const char *fail_file = fl_arg(argc, argv, "fail-file", "");
    struct pl_cfg c;
    int64_t to;

    memset(&c, 0, sizeof c);
    if (fl_arg_i64(argc, argv, "pipelines", "to", 100000, 0, &to) < 0 ||
        fl_arg_i64(argc, argv, "pipelines", "fail-subtask", -1, -1, &c.fail_subtask) < 0)
        return 1;
    if (!output || strlen(fail_file) >= sizeof c.fail_file) {
        fprintf(stderr, "pipelines: --output DIR is required; --fail-file at most %zu bytes\n",
                sizeof c.fail_file - 1);
        return 1;
    }
    snprintf(c.fail_file, sizeof c.fail_file, "%s", fail_file);

    fl_stream *s = fl_uid(fl_name(fl_generate_sequence(env, 0, to), "sequence"),
                          "pipelines-source");
    s = fl_map(fl_forward(s), pl_stamp);
    fl_uid(fl_name(fl_start_new_chain(s), "stamp"), "pipelines-stamp");
    fl_with_config_as(s, struct pl_cfg, &c);
    fl_with_open(s, pl_open);
    fl_with_close(s, pl_close);
    fl_uid(fl_name(fl_write_as_text(s, output, NULL), "file-sink"), "pipelines-sink");
    return fl_execute(env, "Independent Pipelines");
}
