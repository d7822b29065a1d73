/* wide_graph.c -- a job of many vertices for the dashboard's first-paint measurement
 * (tests/cluster/test_dashboard.sh, issue 12): a sequence source, a chain of maps each
 * behind a rebalance (so none chains with the next: one vertex each), and a discarding
 * sink.
 *
 *   flint run -p 4 build/examples/wide_graph.so [--vertices V] [--to T]
 *
 * V vertices in all (default 20: source, V-2 maps, sink); the source emits 0..T (default
 * 10^12, i.e. it runs until cancelled) and the maps pass every record on unchanged.
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>

void wg_pass(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

void wg_pass(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_emit(out, in->data, in->len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    int64_t nv, to;
    if (fl_arg_i64(argc, argv, "wide_graph", "vertices", 20, 3, &nv) < 0 ||
        fl_arg_i64(argc, argv, "wide_graph", "to", 1000000000000LL, 0, &to) < 0)
        return 1;
    fl_stream *s = fl_name(fl_generate_sequence(env, 0, to), "source");
    for (int64_t i = 1; i < nv - 1; i++) {
        char name[32];
        snprintf(name, sizeof name, "map-%lld", (long long)i);
        s = fl_name(fl_map(fl_rebalance(s), wg_pass), name);
    }
    fl_name(fl_discard(fl_rebalance(s)), "sink");
    return fl_execute(env, "Wide Graph");
}
