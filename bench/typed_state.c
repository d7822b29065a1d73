/* typed_state.c -- what the typed keyed-state calls cost per record, against the byte
 * form in the same run: one keyed process function counting per key, run through the
 * operator test harness (no network, no task) on each backend, once with
 * fl_value_get_i64 / fl_value_put_i64 (the size-checked typed form) and once with
 * fl_value_get_bytes + memcpy / fl_value_put_bytes (the byte form, the cost of the state
 * access alone). Prints records per CPU second of each (the medians of 5 runs, the two
 * forms alternating) and the ratio typed / bytes (the goal: about 1, the size check is one
 * comparison). Not a test.
 *
 *   build/bench/typed_state [records]      (default 2,000,000 over 10,000 keys)
 *   TSB_AA=1 build/bench/typed_state       the byte form on both sides: the ratio it prints
 *                                          is this machine's noise (A/A)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "tests/harness/harness.h"

#define NKEYS 10000

void tsb_open(fl_ctx *ctx);
void tsb_typed(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void tsb_bytes(fl_ctx *ctx, const fl_rec *in, fl_out *out);

void tsb_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, fl_ctx_value_state(ctx, "count"));
}

void tsb_typed(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *s = fl_ctx_user(ctx);
    int64_t n = 0;
    fl_value_get_i64(s, &n);
    fl_value_put_i64(s, n + 1);
}

void tsb_bytes(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *s = fl_ctx_user(ctx);
    int64_t n = 0;
    const void *d;
    uint32_t len;
    if (fl_value_get_bytes(s, &d, &len) && len == sizeof n)
        memcpy(&n, d, sizeof n);
    n++;
    fl_value_put_bytes(s, &n, sizeof n);
}

/* This thread's CPU time: the machine is shared, and waiting for it is not the API's cost
 * (RocksDB's background threads are not counted either: the same for both forms). */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Records per second of fn over n records on backend. */
static double run(const char *fn, const char *backend, long n)
{
    Fl__Pb__OperatorSpec op = FL__PB__OPERATOR_SPEC__INIT;
    Fl__Pb__KeySpec key = FL__PB__KEY_SPEC__INIT;
    op.kind = FL__PB__OP_KIND__OP_PROCESS;
    op.name = op.uid = (char *)"Count";
    op.fn = (char *)fn;
    op.open_fn = (char *)"tsb_open";
    key.len = 8;
    op.keyed = true;
    op.key = &key;
    fl_err err;
    fl_harness *h = fl_harness_new(&op, &(fl_harness_opts){.backend = backend}, &err);
    if (!h) {
        fprintf(stderr, "typed_state: %s\n", err.msg);
        exit(1);
    }
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int64_t k = (i * 7919) % NKEYS;
        if (fl_harness_process(h, &k, sizeof k, i) != 0) {
            fprintf(stderr, "typed_state: %s\n", fl_harness_error(h));
            exit(1);
        }
    }
    double dt = now_s() - t0;
    fl_harness_free(h);
    return (double)n / dt;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    const char *backends[] = {"hashmap", "rocksdb"};
    double ratio[2];
    for (int b = 0; b < 2; b++) {
        long m = b ? n / 10 : n; /* RocksDB is slower: fewer records, same shape */
        /* alternating, repeated, medians: the machine's load moves both the same way */
        double typed_v[5], bytes_v[5];
        for (int r = 0; r < 5; r++) {
            if (r % 2) {
                typed_v[r] = run(getenv("TSB_AA") ? "tsb_bytes" : "tsb_typed", backends[b], m);
                bytes_v[r] = run("tsb_bytes", backends[b], m);
            } else {
                bytes_v[r] = run("tsb_bytes", backends[b], m);
                typed_v[r] = run(getenv("TSB_AA") ? "tsb_bytes" : "tsb_typed", backends[b], m);
            }
        }
        qsort(typed_v, 5, sizeof typed_v[0], cmp_double);
        qsort(bytes_v, 5, sizeof bytes_v[0], cmp_double);
        double typed = typed_v[2], bytes = bytes_v[2];
        printf("%-8s %ld records: bytes %.0f rec/cpu-s, typed %.0f rec/cpu-s, typed/bytes %.3f\n",
               backends[b], m, bytes, typed, typed / bytes);
        ratio[b] = typed / bytes;
    }
    printf("typed state / byte state (goal ~1): hashmap %.3f, rocksdb %.3f\n", ratio[0],
           ratio[1]);
    return 0;
}
