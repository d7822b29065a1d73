/* streamgraph.c -- the graph-building half of the bundle API (include/flint/flint.h): each
 * call a bundle's flint_main makes adds a node or an edge to the StreamGraph. Runs in the
 * client (flint run / flint info), on its only thread. User functions are recorded by
 * their symbol names (dladdr), which TaskManagers resolve again with dlsym.
 *
 * An error (a static function, a bad parallelism, ...) is recorded in env->error; later
 * calls still return handles so that flint_main runs to its end, and the compiler reports
 * the first error.
 */
#include "streamgraph.h"
#include "util.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sg_error(fl_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sg_error(fl_env *env, const char *fmt, ...)
{
    if (env->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(env->error, sizeof env->error, fmt, ap);
    va_end(ap);
}

fl_env *fl_sg_env_new(int default_parallelism, int64_t buffer_timeout_ms)
{
    fl_env *env = fl_xcalloc(1, sizeof *env);
    env->default_parallelism = default_parallelism > 0 ? default_parallelism : 1;
    env->job_parallelism = -1;
    env->max_parallelism = 128;
    env->buffer_timeout_ms = buffer_timeout_ms;
    env->chaining = true;
    return env;
}

void fl_sg_env_free(fl_env *env)
{
    if (!env)
        return;
    for (int i = 0; i < env->n; i++) {
        free(env->nodes[i].config);
        free(env->nodes[i].params);
        free(env->nodes[i].inputs);
    }
    for (int i = 0; i < env->nstreams; i++)
        free(env->streams[i]);
    free(env->streams);
    free(env->nodes);
    free(env);
}

/* The symbol name of a function of the bundle, or "" with env->error set. */
static void fn_name(fl_env *env, const void *fn, char *out, const char *what)
{
    Dl_info info;
    out[0] = '\0';
    if (!fn)
        return;
    if (!dladdr(fn, &info) || !info.dli_sname || info.dli_saddr != fn) {
        sg_error(env, "the %s function at %p is not an exported symbol of the bundle: define "
                      "it without 'static' (TaskManagers look functions up by name)",
                 what, fn);
        return;
    }
    if (strlen(info.dli_sname) >= SG_NAME) {
        sg_error(env, "function name %.60s... is too long", info.dli_sname);
        return;
    }
    strcpy(out, info.dli_sname);
}

static fl_stream *new_stream(fl_env *env, int node)
{
    fl_stream *s = fl_xcalloc(1, sizeof *s);
    s->env = env;
    s->node = node;
    s->partitioner = -1;
    if (env->nstreams == env->capstreams) {
        env->capstreams = env->capstreams ? env->capstreams * 2 : 32;
        env->streams = fl_xrealloc(env->streams, (size_t)env->capstreams * sizeof *env->streams);
    }
    env->streams[env->nstreams++] = s;
    return s;
}

static sg_node *add_node(fl_env *env, int kind, const char *name)
{
    if (env->n == env->cap) {
        env->cap = env->cap ? env->cap * 2 : 16;
        env->nodes = fl_xrealloc(env->nodes, (size_t)env->cap * sizeof *env->nodes);
    }
    sg_node *n = &env->nodes[env->n];
    memset(n, 0, sizeof *n);
    n->id = env->n++;
    n->kind = kind;
    n->parallelism = -1;
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->slot_group, sizeof n->slot_group, "default");
    return n;
}

static sg_node *node_of(fl_stream *s)
{
    return &s->env->nodes[s->node];
}

/* Adds an operator consuming `in`, taking over its pending partitioning. */
static fl_stream *add_op(fl_stream *in, int kind, const char *name, const void *fn,
                         const char *what)
{
    fl_env *env = in->env;
    sg_node *n = add_node(env, kind, name);
    fn_name(env, fn, n->fn, what);
    n->inputs = fl_xcalloc(1, sizeof *n->inputs);
    n->ninputs = 1;
    sg_edge *e = &n->inputs[0];
    e->from = in->node;
    e->partitioner = in->partitioner;
    e->key = in->key;
    snprintf(e->partition_fn, sizeof e->partition_fn, "%s", in->partition_fn);
    if (in->keyed)
        n->key = in->key;
    return new_stream(env, n->id);
}

static fl_stream *add_source(fl_env *env, int kind, const char *name, const void *params,
                             uint32_t plen, bool non_parallel)
{
    sg_node *n = add_node(env, kind, name);
    if (plen) {
        n->params = fl_xmalloc(plen);
        memcpy(n->params, params, plen);
        n->params_len = plen;
    }
    n->non_parallel = non_parallel;
    return new_stream(env, n->id);
}

/* ---- environment ------------------------------------------------------------------ */

void fl_env_set_parallelism(fl_env *env, int parallelism)
{
    if (parallelism < 1)
        sg_error(env, "parallelism must be at least 1, not %d", parallelism);
    else
        env->job_parallelism = parallelism;
}

int fl_env_parallelism(const fl_env *env)
{
    return env->job_parallelism > 0 ? env->job_parallelism : env->default_parallelism;
}

void fl_env_set_max_parallelism(fl_env *env, int max_parallelism)
{
    if (max_parallelism < 1 || max_parallelism > 32768)
        sg_error(env, "max parallelism must be in 1..32768, not %d", max_parallelism);
    else
        env->max_parallelism = max_parallelism;
}

void fl_env_set_buffer_timeout(fl_env *env, int64_t ms)
{
    env->buffer_timeout_ms = ms < -1 ? -1 : ms;
}

void fl_env_disable_operator_chaining(fl_env *env)
{
    env->chaining = false;
}

int fl_execute(fl_env *env, const char *job_name)
{
    snprintf(env->job_name, sizeof env->job_name, "%s", job_name ? job_name : "Flint Job");
    env->executed = true;
    if (env->error[0]) {
        fprintf(stderr, "Invalid job: %s\n", env->error);
        return -1;
    }
    return 0;
}

const char *fl_arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, name) == 0)
            return argv[i + 1];
    return dflt;
}

bool fl_arg_has(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, name) == 0)
            return true;
    return false;
}

/* ---- sources ---------------------------------------------------------------------- */

fl_stream *fl_from_elements(fl_env *env, const void *elems, uint32_t elem_size, uint32_t count)
{
    /* params: u32 count, then count x (u32 len, bytes) */
    size_t n = 4 + (size_t)count * (4 + elem_size);
    uint8_t *p = fl_xmalloc(n), *w = p;
    memcpy(w, &count, 4);
    w += 4;
    for (uint32_t i = 0; i < count; i++) {
        memcpy(w, &elem_size, 4);
        memcpy(w + 4, (const uint8_t *)elems + (size_t)i * elem_size, elem_size);
        w += 4 + elem_size;
    }
    fl_stream *s = add_source(env, FL__PB__OP_KIND__SRC_ELEMENTS, "Source: Collection Source", p,
                              (uint32_t)n, true);
    free(p);
    return s;
}

fl_stream *fl_from_strings(fl_env *env, const char *const *strs, uint32_t count)
{
    size_t n = 4;
    for (uint32_t i = 0; i < count; i++)
        n += 4 + strlen(strs[i]);
    uint8_t *p = fl_xmalloc(n), *w = p;
    memcpy(w, &count, 4);
    w += 4;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len = (uint32_t)strlen(strs[i]);
        memcpy(w, &len, 4);
        memcpy(w + 4, strs[i], len);
        w += 4 + len;
    }
    fl_stream *s = add_source(env, FL__PB__OP_KIND__SRC_ELEMENTS, "Source: Collection Source", p,
                              (uint32_t)n, true);
    free(p);
    return s;
}

fl_stream *fl_read_text_file(fl_env *env, const char *path)
{
    return add_source(env, FL__PB__OP_KIND__SRC_TEXT_FILE, "Source: TextFile",
                      path, (uint32_t)strlen(path), false);
}

fl_stream *fl_socket_text_stream(fl_env *env, const char *host, int port)
{
    char hp[300];
    int n = snprintf(hp, sizeof hp, "%s:%d", host, port);
    return add_source(env, FL__PB__OP_KIND__SRC_SOCKET, "Source: Socket Stream", hp,
                      (uint32_t)n, true);
}

fl_stream *fl_generate_sequence(fl_env *env, int64_t from, int64_t to)
{
    int64_t range[2] = {from, to};
    return add_source(env, FL__PB__OP_KIND__SRC_SEQUENCE, "Source: Sequence Source", range,
                      sizeof range, false);
}

fl_stream *fl_add_source(fl_env *env, fl_source_fn fn, bool parallel)
{
    fl_stream *s = add_source(env, FL__PB__OP_KIND__SRC_CUSTOM, "Source: Custom Source", NULL, 0,
                              !parallel);
    fn_name(env, (const void *)fn, node_of(s)->fn, "source");
    return s;
}

/* ---- transformations -------------------------------------------------------------- */

fl_stream *fl_map(fl_stream *in, fl_map_fn fn)
{
    return add_op(in, FL__PB__OP_KIND__OP_MAP, "Map", (const void *)fn, "map");
}

fl_stream *fl_flat_map(fl_stream *in, fl_flat_map_fn fn)
{
    return add_op(in, FL__PB__OP_KIND__OP_FLAT_MAP, "Flat Map", (const void *)fn, "flat map");
}

fl_stream *fl_filter(fl_stream *in, fl_filter_fn fn)
{
    return add_op(in, FL__PB__OP_KIND__OP_FILTER, "Filter", (const void *)fn, "filter");
}

fl_stream *fl_process(fl_stream *in, fl_process_fn fn)
{
    return add_op(in, FL__PB__OP_KIND__OP_PROCESS, in->keyed ? "KeyedProcess" : "Process",
                  (const void *)fn, "process");
}

static fl_stream *repartition(fl_stream *in, int partitioner)
{
    fl_stream *s = new_stream(in->env, in->node);
    s->partitioner = partitioner;
    return s;
}

fl_stream *fl_key_by(fl_stream *in, fl_key_fn fn)
{
    fl_stream *s = repartition(in, FL__PB__PARTITIONER__PART_HASH);
    fn_name(in->env, (const void *)fn, s->key.fn, "key selector");
    s->keyed = true;
    return s;
}

fl_stream *fl_key_by_field(fl_stream *in, uint32_t offset, uint32_t len)
{
    fl_stream *s = repartition(in, FL__PB__PARTITIONER__PART_HASH);
    if (len == 0 || len > FL_MAX_KEY)
        sg_error(in->env, "a key field must be 1..%d bytes long, not %u", FL_MAX_KEY, len);
    s->key.offset = offset;
    s->key.len = len;
    s->keyed = true;
    return s;
}

static fl_stream *keyed_op(fl_stream *keyed, int kind, const char *name, const void *fn,
                           fl_field field)
{
    if (!keyed->keyed)
        sg_error(keyed->env, "%s needs a keyed stream: call fl_key_by first", name);
    if (kind != FL__PB__OP_KIND__OP_REDUCE && (field.type < FL_I32 || field.type > FL_F64))
        sg_error(keyed->env, "%s: unknown field type %u", name, field.type);
    fl_stream *s = add_op(keyed, kind, name, fn, "reduce");
    node_of(s)->field_offset = field.offset;
    node_of(s)->field_type = field.type;
    return s;
}

fl_stream *fl_reduce(fl_stream *keyed, fl_reduce_fn fn)
{
    return keyed_op(keyed, FL__PB__OP_KIND__OP_REDUCE, "Keyed Reduce", (const void *)fn,
                    (fl_field){0, 0});
}

fl_stream *fl_sum(fl_stream *keyed, fl_field f)
{
    return keyed_op(keyed, FL__PB__OP_KIND__OP_SUM, "Keyed Aggregation", NULL, f);
}

fl_stream *fl_min(fl_stream *keyed, fl_field f)
{
    return keyed_op(keyed, FL__PB__OP_KIND__OP_MIN, "Keyed Aggregation", NULL, f);
}

fl_stream *fl_max(fl_stream *keyed, fl_field f)
{
    return keyed_op(keyed, FL__PB__OP_KIND__OP_MAX, "Keyed Aggregation", NULL, f);
}

fl_stream *fl_min_by(fl_stream *keyed, fl_field f)
{
    return keyed_op(keyed, FL__PB__OP_KIND__OP_MIN_BY, "Keyed Aggregation", NULL, f);
}

fl_stream *fl_max_by(fl_stream *keyed, fl_field f)
{
    return keyed_op(keyed, FL__PB__OP_KIND__OP_MAX_BY, "Keyed Aggregation", NULL, f);
}

/* ---- partitioning ----------------------------------------------------------------- */

fl_stream *fl_forward(fl_stream *in) { return repartition(in, FL__PB__PARTITIONER__PART_FORWARD); }
fl_stream *fl_rebalance(fl_stream *in) { return repartition(in, FL__PB__PARTITIONER__PART_REBALANCE); }
fl_stream *fl_rescale(fl_stream *in) { return repartition(in, FL__PB__PARTITIONER__PART_RESCALE); }
fl_stream *fl_shuffle(fl_stream *in) { return repartition(in, FL__PB__PARTITIONER__PART_SHUFFLE); }
fl_stream *fl_broadcast(fl_stream *in) { return repartition(in, FL__PB__PARTITIONER__PART_BROADCAST); }
fl_stream *fl_global(fl_stream *in) { return repartition(in, FL__PB__PARTITIONER__PART_GLOBAL); }

fl_stream *fl_partition_custom(fl_stream *in, fl_partitioner_fn fn, fl_key_fn key)
{
    fl_stream *s = repartition(in, FL__PB__PARTITIONER__PART_CUSTOM);
    fn_name(in->env, (const void *)fn, s->partition_fn, "partitioner");
    fn_name(in->env, (const void *)key, s->key.fn, "key selector");
    return s;
}

/* ---- sinks ------------------------------------------------------------------------ */

fl_stream *fl_print(fl_stream *in, fl_format_fn fmt)
{
    return add_op(in, FL__PB__OP_KIND__SINK_PRINT, "Sink: Print to Std. Out", (const void *)fmt,
                  "format");
}

fl_stream *fl_write_as_text(fl_stream *in, const char *dir, fl_format_fn fmt)
{
    fl_stream *s = add_op(in, FL__PB__OP_KIND__SINK_FILE, "Sink: File Sink", (const void *)fmt,
                          "format");
    sg_node *n = node_of(s);
    n->params_len = (uint32_t)strlen(dir);
    n->params = (uint8_t *)fl_xstrdup(dir);
    return s;
}

fl_stream *fl_discard(fl_stream *in)
{
    return add_op(in, FL__PB__OP_KIND__SINK_DISCARD, "Sink: Discarding Sink", NULL, "sink");
}

fl_stream *fl_add_sink(fl_stream *in, fl_sink_fn fn)
{
    return add_op(in, FL__PB__OP_KIND__SINK_CUSTOM, "Sink: Unnamed", (const void *)fn, "sink");
}

/* ---- operator settings ------------------------------------------------------------ */

fl_stream *fl_name(fl_stream *s, const char *name)
{
    snprintf(node_of(s)->name, SG_NAME, "%s", name);
    return s;
}

fl_stream *fl_uid(fl_stream *s, const char *uid)
{
    for (int i = 0; i < s->env->n; i++)
        if (i != s->node && strcmp(s->env->nodes[i].uid, uid) == 0)
            sg_error(s->env, "uid '%s' is used by two operators", uid);
    snprintf(node_of(s)->uid, SG_NAME, "%s", uid);
    return s;
}

fl_stream *fl_set_parallelism(fl_stream *s, int parallelism)
{
    sg_node *n = node_of(s);
    if (parallelism < 1)
        sg_error(s->env, "parallelism of %s must be at least 1, not %d", n->name, parallelism);
    else if (n->non_parallel && parallelism != 1)
        sg_error(s->env, "the parallelism of non parallel operator '%s' must be 1", n->name);
    else
        n->parallelism = parallelism;
    return s;
}

fl_stream *fl_disable_chaining(fl_stream *s)
{
    node_of(s)->chaining_disabled = true;
    return s;
}

fl_stream *fl_start_new_chain(fl_stream *s)
{
    node_of(s)->new_chain = true;
    return s;
}

fl_stream *fl_slot_sharing_group(fl_stream *s, const char *group)
{
    snprintf(node_of(s)->slot_group, SG_NAME, "%s", group);
    return s;
}

fl_stream *fl_with_config(fl_stream *s, const void *cfg, uint32_t len)
{
    sg_node *n = node_of(s);
    free(n->config);
    n->config = fl_xmalloc(len ? len : 1);
    memcpy(n->config, cfg, len);
    n->config_len = len;
    return s;
}

fl_stream *fl_with_open(fl_stream *s, fl_open_fn fn)
{
    fn_name(s->env, (const void *)fn, node_of(s)->open_fn, "open");
    return s;
}

fl_stream *fl_with_close(fl_stream *s, fl_close_fn fn)
{
    fn_name(s->env, (const void *)fn, node_of(s)->close_fn, "close");
    return s;
}
