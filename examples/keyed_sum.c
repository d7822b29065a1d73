/* keyed_sum.c -- the tutorial's first keyed job:
 *
 *     env.fromElements(1, 2, 3, 4, 5, 6, 7, 8)   // parallelism 1
 *        .keyBy(r -> r % 3)
 *        .sum(0).setParallelism(4)
 *        .print().setParallelism(4);
 *
 *   flint run build/examples/keyed_sum.so
 *
 * Each key keeps a running sum and emits it for every element: key 1 sees 1, 4, 7 and
 * prints 1, 5, 12; key 2 prints 2, 7, 15; key 0 prints 3, 9. The four print subtasks prefix
 * their lines with "N> "; all lines of a key come from the summing subtask that owns its
 * key group (the print sink is chained to it).
 */
#include <flint/flint.h>

#include <stdio.h>
#include <string.h>

struct ks_rec {
    int32_t value;
};

uint32_t ks_mod3(const fl_rec *in, void *key);
uint32_t ks_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* keyBy(r -> r % 3): the key is the remainder as a 4-byte int. */
uint32_t ks_mod3(const fl_rec *in, void *key)
{
    struct ks_rec r;
    memcpy(&r, in->data, sizeof r);
    int32_t k = r.value % 3;
    memcpy(key, &k, sizeof k);
    return sizeof k;
}

uint32_t ks_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct ks_rec r;
    char tmp[16];
    memcpy(&r, in->data, sizeof r);
    int n = snprintf(tmp, sizeof tmp, "%d", (int)r.value);
    if ((uint32_t)n > cap)
        n = (int)cap;
    memcpy(buf, tmp, (size_t)n);
    return (uint32_t)n;
}

int flint_main(fl_env *env, int argc, char **argv)
{
    static const struct ks_rec elems[] = {{1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}};

    fl_stream *s = fl_from_elements(env, elems, sizeof elems[0], 8);
    s = fl_key_by(s, ks_mod3);
    s = fl_set_parallelism(fl_sum(s, FL_FIELD(struct ks_rec, value, FL_I32)), 4);
    fl_set_parallelism(fl_print(s, ks_format), 4);
    return fl_execute(env, "Keyed Sum");
}
