/* state.c -- the guide's snippets on keyed state (typed, on both state backends). */
#include <flint/flint.h>

#include <stdlib.h>
#include <string.h>

void visits_open(fl_ctx *ctx);
void visits_close(fl_ctx *ctx);
void visits_process(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

struct click {
    int64_t user;
    int64_t ts;
    char url[48];
};

/* [open] */
struct visits {
    fl_value_state *count;  /* ValueState<Long> */
    fl_value_state *first;  /* ValueState<Click>: a struct */
    fl_list_state *recent;  /* ListState<Long> */
    fl_map_state *per_url;  /* MapState<String, Long> */
};

void visits_open(fl_ctx *ctx)
{
    struct visits *v = calloc(1, sizeof *v);
    if (!v) {
        fl_ctx_fail(ctx, "out of memory");
        return;
    }
    v->count = fl_ctx_value_state(ctx, "count"); /* getRuntimeContext().getState(...) */
    v->first = fl_ctx_value_state(ctx, "first");
    v->recent = fl_ctx_list_state(ctx, "recent");
    v->per_url = fl_ctx_map_state(ctx, "per-url");
    fl_ctx_set_user(ctx, v);
}
/* [open] */

void visits_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

void visits_process(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct visits *v = fl_ctx_user(ctx);
    struct click c;
    memcpy(&c, in->data, sizeof c);
    /* [use] */
    int64_t n = 0;
    fl_value_get_i64(v->count, &n);                   /* false: n stays 0 for a new key */
    fl_value_put_i64(v->count, n + 1);

    struct click first;
    if (!fl_value_get_as(v->first, struct click, &first))
        fl_value_put_as(v->first, struct click, &c);

    fl_list_add_i64(v->recent, c.ts);

    uint32_t ulen = (uint32_t)strnlen(c.url, sizeof c.url);
    int64_t hits = 0;
    fl_map_get_i64(v->per_url, c.url, ulen, &hits);
    fl_map_put_i64(v->per_url, c.url, ulen, hits + 1);

    if (fl_map_size(v->per_url) > 100) {              /* forget the URLs seen once */
        fl_map_iter it;
        fl_map_iterate(v->per_url, &it);
        while (fl_map_next(&it)) {
            int64_t h;
            if (fl_map_value_i64(&it, &h) && h == 1)
                fl_map_iter_remove(&it);
        }
    }
    /* [use] */
    fl_emit(out, &n, sizeof n);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    static const struct click cs[] = {{1, 10, "/a"}, {1, 20, "/b"}, {2, 30, "/a"}};
    fl_stream *s = fl_from_elements(env, cs, sizeof cs[0], 3);
    fl_stream *keyed = fl_key_by_field(s, offsetof(struct click, user), 8);
    fl_stream *counted = fl_keyed_process(keyed, visits_process, NULL);
    fl_with_open(counted, visits_open);
    fl_with_close(counted, visits_close);
    fl_print(counted, NULL);
    return fl_execute(env, "keyed state");
}
