/* bench_pipeline.c -- the chained stateless pipeline of bench/pipeline.sh:
 *
 *   generateSequence(1, N) -> map -> filter -> discard        (one chain, one task per subtask)
 *
 *   flint run -p 1 build/examples/bench_pipeline.so [--records N]   (default 500,000,000)
 *
 * The map turns each int64 into a (value, value * 3 + 1) pair; the filter keeps the pairs
 * whose second value is not a multiple of 16 (15 in 16). Records/s = N / job runtime.
 */
#include <flint/flint.h>

#include <stdlib.h>
#include <string.h>

struct bp_pair {
    int64_t value;
    int64_t derived;
};

void bp_map(fl_ctx *ctx, const fl_rec *in, fl_out *out);
bool bp_filter(fl_ctx *ctx, const fl_rec *in);
int flint_main(fl_env *env, int argc, char **argv);

void bp_map(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct bp_pair p;
    memcpy(&p.value, in->data, sizeof p.value);
    p.derived = p.value * 3 + 1;
    fl_emit(out, &p, sizeof p);
}

bool bp_filter(fl_ctx *ctx, const fl_rec *in)
{
    struct bp_pair p;
    memcpy(&p, in->data, sizeof p);
    return (p.derived & 15) != 0;
}

int flint_main(fl_env *env, int argc, char **argv)
{
    long long n = atoll(fl_arg(argc, argv, "records", "500000000"));

    fl_stream *s = fl_generate_sequence(env, 1, n);
    s = fl_name(fl_map(s, bp_map), "Map");
    s = fl_name(fl_filter(s, bp_filter), "Filter");
    fl_discard(s);
    return fl_execute(env, "Bench: chained pipeline");
}
