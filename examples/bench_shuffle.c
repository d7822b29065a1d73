/* bench_shuffle.c -- the keyed shuffle of bench/shuffle.sh: 100-byte records through a
 * keyBy between two TaskManagers.
 *
 *   generateSequence(1, N) -> map to a 100-byte record -> keyBy(key) -> discard
 *
 *   flint run -p 2 build/examples/bench_shuffle.so [--records N]   (default 50,000,000)
 *
 * With one slot per TaskManager, subtask i of both vertices shares TaskManager i's slot, so
 * about half of the records cross the network and half are handed over in memory.
 */
#include <flint/flint.h>

#include <stdlib.h>
#include <string.h>

/* 100 bytes */
struct bs_rec {
    int64_t seq;
    int64_t key;
    char payload[84];
};

void bs_make(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

void bs_make(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct bs_rec r;
    memcpy(&r.seq, in->data, sizeof r.seq);
    r.key = r.seq & 0xffff;
    memset(r.payload, 'x', sizeof r.payload);
    fl_emit(out, &r, sizeof r);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    long long n = atoll(fl_arg(argc, argv, "records", "50000000"));

    fl_stream *s = fl_generate_sequence(env, 1, n);
    s = fl_name(fl_map(s, bs_make), "Make Record");
    s = fl_key_by_field(s, offsetof(struct bs_rec, key), sizeof(int64_t));
    fl_discard(s);
    return fl_execute(env, "Bench: keyed shuffle");
}
