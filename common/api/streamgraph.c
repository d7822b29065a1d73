/* streamgraph.c -- the graph-building half of the bundle API (include/flint/flint.h): each
 * call a bundle's flint_main makes adds a node or an edge to the StreamGraph. Runs in the
 * client (flint run / flint info), on its only thread. User functions are recorded by
 * their symbol names (dladdr), which TaskManagers resolve again with dlsym. The window
 * calls (flint/window.h) are in streamgraph_window.c; the helpers both use are declared in
 * streamgraph_internal.h.
 *
 * An error (a static function, a bad parallelism, ...) is recorded in env->error; later
 * calls still return handles so that flint_main runs to its end, and the compiler reports
 * the first error.
 */
#include "common/util.h"
#include "streamgraph_internal.h"
#include "typed_config.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_sg_error(fl_env *env, const char *fmt, ...)
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
    env->max_parallelism = -1;
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
        free(env->nodes[i].win);
        if (env->nodes[i].wm) {
            free(env->nodes[i].wm->timestamp_fn);
            free(env->nodes[i].wm->punctuated_fn);
            free(env->nodes[i].wm);
        }
    }
    for (int i = 0; i < env->nstreams; i++) {
        free(env->streams[i]->win);
        free(env->streams[i]);
    }
    free(env->streams);
    free(env->nodes);
    free(env);
}

/* The symbol name of a function of the bundle, or "" with env->error set. */
void fl_sg_fn_name(fl_env *env, const void *fn, char *out, const char *what)
{
    Dl_info info;
    out[0] = '\0';
    if (!fn)
        return;
    if (!dladdr(fn, &info) || !info.dli_sname || info.dli_saddr != fn) {
        fl_sg_error(env, "the %s function at %p is not an exported symbol of the bundle: define "
                         "it without 'static' (TaskManagers look functions up by name)",
                    what, fn);
        return;
    }
    if (strlen(info.dli_sname) >= SG_NAME) {
        fl_sg_error(env, "function name %.60s... is too long", info.dli_sname);
        return;
    }
    strcpy(out, info.dli_sname);
}

static fl_stream *new_stream(fl_env *env, int node)
{
    fl_stream *s = fl_xcalloc(1, sizeof *s);
    s->env = env;
    s->node = node;
    s->nsrc = 1;
    s->src[0].node = node;
    s->src[0].partitioner = -1;
    if (env->nstreams == env->capstreams) {
        env->capstreams = env->capstreams ? env->capstreams * 2 : 32;
        env->streams = fl_xrealloc(env->streams, (size_t)env->capstreams * sizeof *env->streams);
    }
    env->streams[env->nstreams++] = s;
    return s;
}

static sg_node *add_node(fl_env *env, Fl__Pb__OpKind kind, const char *name)
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
    n->max_parallelism = -1;
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->slot_group, sizeof n->slot_group, "default");
    return n;
}

/* A copy of in (its inputs, pending partitioning) as a new handle. */
fl_stream *fl_sg_derive(fl_stream *in)
{
    fl_stream *s = new_stream(in->env, in->node);
    s->nsrc = in->nsrc;
    memcpy(s->src, in->src, sizeof s->src);
    s->connected = in->connected;
    return s;
}

/* Adds an operator consuming every input of `in`, taking over their partitioning. */
fl_stream *fl_sg_add_op(fl_stream *in, Fl__Pb__OpKind kind, const char *name, const void *fn,
                        const char *what)
{
    fl_env *env = in->env;
    if (in->win)
        fl_sg_error(env, "a windowed stream needs a window function (fl_window_reduce, "
                         "fl_window_aggregate or fl_window_process) before %s",
                    name);
    if (in->connected && kind != FL__PB__OP_KIND__OP_CO_MAP &&
        kind != FL__PB__OP_KIND__OP_CO_FLAT_MAP && kind != FL__PB__OP_KIND__OP_CO_PROCESS &&
        kind != FL__PB__OP_KIND__OP_BROADCAST_PROCESS && kind != FL__PB__OP_KIND__OP_INTERVAL_JOIN)
        fl_sg_error(env, "connected streams go into a co-operator (fl_co_map, fl_co_flat_map, "
                         "fl_co_process, fl_broadcast_process), not %s",
                    name);
    sg_node *n = add_node(env, kind, name);
    fl_sg_fn_name(env, fn, n->fn, what);
    n->inputs = fl_xcalloc((size_t)in->nsrc, sizeof *n->inputs);
    n->ninputs = in->nsrc;
    bool keyed = in->nsrc > 0;
    for (int i = 0; i < in->nsrc; i++) {
        const sg_src *src = &in->src[i];
        sg_edge *e = &n->inputs[i];
        e->from = src->node;
        e->partitioner = src->partitioner;
        e->key = src->key;
        e->input_index = src->input_index;
        snprintf(e->partition_fn, sizeof e->partition_fn, "%s", src->partition_fn);
        snprintf(e->side_tag, sizeof e->side_tag, "%s", src->side_tag);
        if (src->input_index == 0)
            keyed &= src->keyed;
        if (src->input_index == 1 && src->keyed)
            n->key2 = src->key;
        if (src->bcast_state[0])
            snprintf(n->bcast_state, sizeof n->bcast_state, "%s", src->bcast_state);
    }
    if (keyed) {
        n->key = in->src[0].key;
        n->keyed = true;
    }
    return new_stream(env, n->id);
}

static fl_stream *add_source(fl_env *env, Fl__Pb__OpKind kind, const char *name, const void *params,
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
        fl_sg_error(env, "parallelism must be at least 1, not %d", parallelism);
    else
        env->job_parallelism = parallelism;
}

int fl_env_parallelism(const fl_env *env)
{
    return env->job_parallelism > 0 ? env->job_parallelism : env->default_parallelism;
}

void fl_env_set_max_parallelism(fl_env *env, int max_parallelism)
{
    if (max_parallelism < 1 || max_parallelism > FL_MAX_MAX_PARALLELISM)
        fl_sg_error(env, "max parallelism must be in 1..%d, not %d", FL_MAX_MAX_PARALLELISM,
                    max_parallelism);
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
    int n = snprintf(hp, sizeof hp, "%s:%d", host ? host : "", port);
    if (!host || !*host || n < 0 || (size_t)n >= sizeof hp || port < 1 || port > 65535)
        fl_sg_error(env, "fl_socket_text_stream: the host must be 1 to %zu characters and the "
                         "port 1 to 65535", sizeof hp - 8);
    return add_source(env, FL__PB__OP_KIND__SRC_SOCKET, "Source: Socket Stream", hp,
                      (uint32_t)(n < 0 ? 0 : (size_t)n >= sizeof hp ? sizeof hp - 1 : (size_t)n),
                      true);
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
    fl_sg_fn_name(env, (const void *)fn, node_of(s)->fn, "source");
    return s;
}

/* ---- transformations -------------------------------------------------------------- */

fl_stream *fl_map(fl_stream *in, fl_map_fn fn)
{
    return fl_sg_add_op(in, FL__PB__OP_KIND__OP_MAP, "Map", (const void *)fn, "map");
}

fl_stream *fl_flat_map(fl_stream *in, fl_flat_map_fn fn)
{
    return fl_sg_add_op(in, FL__PB__OP_KIND__OP_FLAT_MAP, "Flat Map", (const void *)fn, "flat map");
}

fl_stream *fl_filter(fl_stream *in, fl_filter_fn fn)
{
    return fl_sg_add_op(in, FL__PB__OP_KIND__OP_FILTER, "Filter", (const void *)fn, "filter");
}

fl_stream *fl_process(fl_stream *in, fl_process_fn fn)
{
    return fl_sg_add_op(in, FL__PB__OP_KIND__OP_PROCESS,
                        in->src[0].keyed ? "KeyedProcess" : "Process", (const void *)fn,
                        "process");
}

/* The same inputs with a new pending partitioning (keyBy, rebalance, ...). */
static fl_stream *repartition(fl_stream *in, int partitioner)
{
    fl_stream *s = fl_sg_derive(in);
    if (in->connected || in->win)
        fl_sg_error(in->env, "a connected or windowed stream cannot be repartitioned");
    for (int i = 0; i < s->nsrc; i++) {
        s->src[i].partitioner = partitioner;
        s->src[i].keyed = false;
    }
    return s;
}

fl_stream *fl_key_by(fl_stream *in, fl_key_fn fn)
{
    fl_stream *s = repartition(in, FL__PB__PARTITIONER__PART_HASH);
    sg_key k = {0};
    fl_sg_fn_name(in->env, (const void *)fn, k.fn, "key selector");
    for (int i = 0; i < s->nsrc; i++) {
        s->src[i].key = k;
        s->src[i].keyed = true;
    }
    return s;
}

fl_stream *fl_key_by_field(fl_stream *in, uint32_t offset, uint32_t len)
{
    fl_stream *s = repartition(in, FL__PB__PARTITIONER__PART_HASH);
    if (len == 0 || len > FL_MAX_KEY)
        fl_sg_error(in->env, "a key field must be 1..%d bytes long, not %u", FL_MAX_KEY, len);
    for (int i = 0; i < s->nsrc; i++) {
        s->src[i].key = (sg_key){.offset = offset, .len = len};
        s->src[i].keyed = true;
    }
    return s;
}

static fl_stream *keyed_op(fl_stream *keyed, Fl__Pb__OpKind kind, const char *name, const void *fn,
                           fl_field field)
{
    if (!keyed->src[0].keyed)
        fl_sg_error(keyed->env, "%s needs a keyed stream: call fl_key_by first", name);
    if (kind != FL__PB__OP_KIND__OP_REDUCE && (field.type < FL_I32 || field.type > FL_F64))
        fl_sg_error(keyed->env, "%s: unknown field type %u", name, field.type);
    fl_stream *s = fl_sg_add_op(keyed, kind, name, fn, "reduce");
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
    char pf[SG_NAME], kf[SG_NAME];
    fl_sg_fn_name(in->env, (const void *)fn, pf, "partitioner");
    fl_sg_fn_name(in->env, (const void *)key, kf, "key selector");
    for (int i = 0; i < s->nsrc; i++) {
        snprintf(s->src[i].partition_fn, SG_NAME, "%s", pf);
        snprintf(s->src[i].key.fn, SG_NAME, "%s", kf);
    }
    return s;
}

/* ---- sinks ------------------------------------------------------------------------ */

fl_stream *fl_print(fl_stream *in, fl_format_fn fmt)
{
    return fl_sg_add_op(in, FL__PB__OP_KIND__SINK_PRINT, "Sink: Print to Std. Out",
                        (const void *)fmt, "format");
}

fl_stream *fl_write_as_text(fl_stream *in, const char *dir, fl_format_fn fmt)
{
    fl_stream *s = fl_sg_add_op(in, FL__PB__OP_KIND__SINK_FILE, "Sink: File Sink",
                                (const void *)fmt, "format");
    sg_node *n = node_of(s);
    n->params_len = (uint32_t)strlen(dir);
    n->params = (uint8_t *)fl_xstrdup(dir);
    return s;
}

fl_stream *fl_discard(fl_stream *in)
{
    return fl_sg_add_op(in, FL__PB__OP_KIND__SINK_DISCARD, "Sink: Discarding Sink", NULL, "sink");
}

fl_stream *fl_add_sink(fl_stream *in, fl_sink_fn fn)
{
    return fl_sg_add_op(in, FL__PB__OP_KIND__SINK_CUSTOM, "Sink: Unnamed", (const void *)fn,
                        "sink");
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
            fl_sg_error(s->env, "uid '%s' is used by two operators", uid);
    snprintf(node_of(s)->uid, SG_NAME, "%s", uid);
    return s;
}

fl_stream *fl_set_parallelism(fl_stream *s, int parallelism)
{
    sg_node *n = node_of(s);
    if (parallelism < 1)
        fl_sg_error(s->env, "parallelism of %s must be at least 1, not %d", n->name, parallelism);
    else if (n->non_parallel && parallelism != 1)
        fl_sg_error(s->env, "the parallelism of non parallel operator '%s' must be 1", n->name);
    else
        n->parallelism = parallelism;
    return s;
}

fl_stream *fl_set_max_parallelism(fl_stream *s, int max_parallelism)
{
    sg_node *n = node_of(s);
    if (max_parallelism < 1 || max_parallelism > FL_MAX_MAX_PARALLELISM)
        fl_sg_error(s->env, "max parallelism of %s must be in 1..%d, not %d", n->name,
                    FL_MAX_MAX_PARALLELISM, max_parallelism);
    else
        n->max_parallelism = max_parallelism;
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

fl_stream *fl_with_config_typed(fl_stream *s, const char *type, const void *cfg, uint32_t size)
{
    sg_node *n = node_of(s);
    if (!cfg || !type) {
        fl_sg_error(s->env, "fl_with_config_as(%s): the configuration is NULL", n->name);
        return s;
    }
    if (size > (16u << 20)) {
        fl_sg_error(s->env, "fl_with_config_as(%s, %s): %u bytes, more than the 16 MiB a "
                            "configuration may have", n->name, type, size);
        return s;
    }
    fl_cfg_header h = {.magic = FL_CFG_MAGIC, .size = size};
    fl_cfg_type_name(type, h.type);
    free(n->config);
    n->config = fl_xmalloc(sizeof h + size);
    memcpy(n->config, &h, sizeof h);
    memcpy(n->config + sizeof h, cfg, size);
    n->config_len = (uint32_t)sizeof h + size;
    return s;
}

fl_stream *fl_with_open(fl_stream *s, fl_open_fn fn)
{
    fl_sg_fn_name(s->env, (const void *)fn, node_of(s)->open_fn, "open");
    return s;
}

fl_stream *fl_with_close(fl_stream *s, fl_close_fn fn)
{
    fl_sg_fn_name(s->env, (const void *)fn, node_of(s)->close_fn, "close");
    return s;
}

/* ---- time, process functions, side outputs (flint/time.h) --------------------------- */

fl_watermark_strategy fl_wm_bounded_out_of_orderness(int64_t max_ooo_ms, fl_timestamp_fn ts)
{
    return (fl_watermark_strategy){FL_WM_BOUNDED, max_ooo_ms < 0 ? 0 : max_ooo_ms, ts, NULL, 0};
}

fl_watermark_strategy fl_wm_monotonous(fl_timestamp_fn ts)
{
    return (fl_watermark_strategy){FL_WM_MONOTONOUS, 0, ts, NULL, 0};
}

fl_watermark_strategy fl_wm_punctuated(fl_timestamp_fn ts, fl_punctuated_fn wm)
{
    return (fl_watermark_strategy){FL_WM_PUNCTUATED, 0, ts, wm, 0};
}

fl_watermark_strategy fl_wm_with_idleness(fl_watermark_strategy s, int64_t idle_ms)
{
    s.idle_timeout_ms = idle_ms > 0 ? idle_ms : 0;
    return s;
}

fl_stream *fl_assign_timestamps_and_watermarks(fl_stream *in, fl_watermark_strategy ws)
{
    fl_stream *s = fl_sg_add_op(in, FL__PB__OP_KIND__OP_ASSIGN_WATERMARKS, "Timestamps/Watermarks",
                                NULL, "timestamp");
    sg_node *n = node_of(s);
    if (ws.kind < FL_WM_BOUNDED || ws.kind > FL_WM_PUNCTUATED || !ws.timestamp)
        fl_sg_error(in->env, "a watermark strategy needs a kind and a timestamp function");
    char tsf[SG_NAME], pf[SG_NAME];
    fl_sg_fn_name(in->env, (const void *)ws.timestamp, tsf, "timestamp assigner");
    fl_sg_fn_name(in->env, (const void *)ws.punctuated, pf, "watermark generator");
    n->wm = fl_xcalloc(1, sizeof *n->wm);
    fl__pb__watermark_spec__init(n->wm);
    n->wm->kind = ws.kind;
    n->wm->out_of_orderness_ms = ws.out_of_orderness_ms;
    n->wm->timestamp_fn = fl_xstrdup(tsf);
    n->wm->punctuated_fn = fl_xstrdup(pf);
    n->wm->idle_timeout_ms = ws.idle_timeout_ms;
    return s;
}

fl_stream *fl_keyed_process(fl_stream *keyed, fl_process_fn process, fl_on_timer_fn on_timer)
{
    if (!keyed->src[0].keyed)
        fl_sg_error(keyed->env, "fl_keyed_process needs a keyed stream: call fl_key_by first");
    fl_stream *s = fl_sg_add_op(keyed, FL__PB__OP_KIND__OP_PROCESS, "KeyedProcess",
                                (const void *)process, "process");
    fl_sg_fn_name(keyed->env, (const void *)on_timer, node_of(s)->timer_fn, "on_timer");
    return s;
}

fl_stream *fl_side_output(fl_stream *in, const char *tag)
{
    fl_stream *s = new_stream(in->env, in->node);
    if (!tag || !tag[0] || strlen(tag) >= SG_NAME)
        fl_sg_error(in->env, "a side output needs a tag (1..%d characters)", SG_NAME - 1);
    else
        snprintf(s->src[0].side_tag, SG_NAME, "%s", tag);
    return s;
}

/* ---- several inputs (flint/streams.h) --------------------------------------------- */

fl_stream *fl_union(fl_stream *a, fl_stream *b)
{
    fl_stream *s = fl_sg_derive(a);
    if (a->connected || b->connected || a->win || b->win)
        fl_sg_error(a->env, "only plain streams can be united");
    for (int i = 0; i < b->nsrc; i++) {
        if (s->nsrc == SG_MAX_INPUTS) {
            fl_sg_error(a->env, "at most %d streams can be united", SG_MAX_INPUTS);
            break;
        }
        s->src[s->nsrc++] = b->src[i];
    }
    return s;
}

fl_stream *fl_connect(fl_stream *a, fl_stream *b)
{
    fl_stream *s = fl_sg_derive(a);
    if (a->connected || b->connected || a->nsrc != 1 || b->nsrc != 1)
        fl_sg_error(a->env, "fl_connect takes two single streams");
    s->src[0].input_index = 0;
    s->src[1] = b->src[0];
    s->src[1].input_index = 1;
    s->nsrc = 2;
    s->connected = true;
    return s;
}

static fl_stream *co_op(fl_stream *c, Fl__Pb__OpKind kind, const char *name, const void *f1,
                        const void *f2, const void *timer)
{
    if (!c->connected)
        fl_sg_error(c->env, "%s needs connected streams (fl_connect)", name);
    fl_stream *s = fl_sg_add_op(c, kind, name, f1, "first input");
    sg_node *n = node_of(s);
    fl_sg_fn_name(c->env, f2, n->fn2, "second input");
    fl_sg_fn_name(c->env, timer, n->timer_fn, "on_timer");
    bool k1 = c->src[0].keyed, k2 = c->nsrc > 1 && c->src[1].keyed;
    n->keyed = k1 && k2;
    if (timer && !n->keyed && kind != FL__PB__OP_KIND__OP_BROADCAST_PROCESS)
        fl_sg_error(c->env, "timers need both connected inputs keyed (fl_key_by on each)");
    return s;
}

fl_stream *fl_co_map(fl_stream *c, fl_map_fn map1, fl_map_fn map2)
{
    return co_op(c, FL__PB__OP_KIND__OP_CO_MAP, "Co-Map", (const void *)map1,
                 (const void *)map2, NULL);
}

fl_stream *fl_co_flat_map(fl_stream *c, fl_flat_map_fn f1, fl_flat_map_fn f2)
{
    return co_op(c, FL__PB__OP_KIND__OP_CO_FLAT_MAP, "Co-Flat Map", (const void *)f1,
                 (const void *)f2, NULL);
}

fl_stream *fl_co_process(fl_stream *c, fl_process_fn p1, fl_process_fn p2,
                         fl_on_timer_fn on_timer)
{
    return co_op(c, FL__PB__OP_KIND__OP_CO_PROCESS,
                 c->src[0].keyed ? "KeyedCo-Process" : "Co-Process", (const void *)p1,
                 (const void *)p2, (const void *)on_timer);
}

fl_stream *fl_broadcast_state(fl_stream *in, const char *state_name)
{
    fl_stream *s = repartition(in, FL__PB__PARTITIONER__PART_BROADCAST);
    if (!state_name || !state_name[0])
        fl_sg_error(in->env, "a broadcast state needs a name");
    for (int i = 0; i < s->nsrc; i++)
        snprintf(s->src[i].bcast_state, SG_NAME, "%s", state_name ? state_name : "");
    return s;
}

fl_stream *fl_broadcast_process(fl_stream *c, fl_process_fn process_element,
                                fl_process_fn process_broadcast, fl_on_timer_fn on_timer)
{
    if (!c->connected || c->nsrc != 2 || !c->src[1].bcast_state[0])
        fl_sg_error(c->env,
                    "fl_broadcast_process needs fl_connect(stream, fl_broadcast_state(..))");
    fl_stream *s = co_op(c, FL__PB__OP_KIND__OP_BROADCAST_PROCESS, "Co-Process-Broadcast",
                         (const void *)process_element, (const void *)process_broadcast,
                         (const void *)on_timer);
    sg_node *n = node_of(s);
    n->keyed = c->src[0].keyed;
    if (on_timer && !n->keyed)
        fl_sg_error(c->env, "timers in a broadcast process need the non-broadcast input keyed");
    return s;
}

fl_stream *fl_interval_join(fl_stream *left, fl_stream *right, int64_t lower_ms,
                            int64_t upper_ms, fl_join_fn join)
{
    if (!left->src[0].keyed || !right->src[0].keyed)
        fl_sg_error(left->env, "an interval join needs two keyed streams");
    if (lower_ms > upper_ms)
        fl_sg_error(left->env, "interval join: lower bound %lld > upper bound %lld",
                    (long long)lower_ms, (long long)upper_ms);
    fl_stream *c = fl_connect(left, right);
    fl_stream *s = fl_sg_add_op(c, FL__PB__OP_KIND__OP_INTERVAL_JOIN, "IntervalJoin",
                                (const void *)join, "join");
    sg_node *n = node_of(s);
    n->keyed = true;
    n->lower_ms = lower_ms;
    n->upper_ms = upper_ms;
    return s;
}
