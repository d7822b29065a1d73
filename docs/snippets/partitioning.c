/* partitioning.c -- the guide's snippets on physical partitioning. */
#include <flint/flint.h>

#include <string.h>

uint32_t user_key(const fl_rec *in, void *key);
int by_first_byte(const void *key, uint32_t klen, int nparts);
int flint_main(fl_env *env, int argc, char **argv);

uint32_t user_key(const fl_rec *in, void *key)
{
    uint32_t n = in->len < 8 ? in->len : 8;
    memcpy(key, in->data, n);
    return n;
}

/* [custom] */
/* Partitioner: the target subtask of a key. */
int by_first_byte(const void *key, uint32_t klen, int nparts)
{
    return klen ? ((const unsigned char *)key)[0] % nparts : 0;
}
/* [custom] */

int flint_main(fl_env *env, int argc, char **argv)
{
    fl_stream *s = fl_generate_sequence(env, 1, 1000);
    /* [physical] */
    fl_stream *a = fl_shuffle(s);    /* shuffle(): a random subtask */
    fl_stream *b = fl_rebalance(s);  /* rebalance(): round robin over all subtasks */
    fl_stream *c = fl_rescale(s);    /* rescale(): round robin within local groups */
    fl_stream *d = fl_broadcast(s);  /* broadcast(): every subtask gets every record */
    fl_stream *e = fl_global(s);     /* global(): everything to subtask 0 */
    fl_stream *f = fl_partition_custom(s, by_first_byte, user_key); /* partitionCustom */
    /* [physical] */
    fl_stream *all[] = {a, b, c, d, e, f};
    for (int i = 0; i < 6; i++)
        fl_set_parallelism(fl_discard(all[i]), 4);
    return fl_execute(env, "partitioning");
}
