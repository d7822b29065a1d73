/* compiler.c -- see compiler.h. Chaining rules (as Flink's): an edge A -> B is chained when
 * B has exactly that one input, the edge is forward, both run with the same parallelism and
 * slot sharing group, chaining is enabled for the job, A and B do not disable chaining and
 * B does not start a new chain. Chained operators run in one task as function calls. */
#include "compiler.h"
#include "common/pbarena.h"
#include "common/plan.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_source(Fl__Pb__OpKind kind)
{
    return (kind >= FL__PB__OP_KIND__SRC_ELEMENTS && kind <= FL__PB__OP_KIND__SRC_CUSTOM) ||
           kind == FL__PB__OP_KIND__SRC_CONNECTOR;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Flink's default max parallelism for an operator of parallelism p (computeDefault...):
 * 1.5 p rounded up to a power of two, within 128..32768. */
static int derived_max_parallelism(int p)
{
    int64_t want = (int64_t)p + p / 2, m = 1;
    while (m < want)
        m <<= 1;
    return (int)(m < 128 ? 128 : m > FL_MAX_MAX_PARALLELISM ? FL_MAX_MAX_PARALLELISM : m);
}

typedef struct cnode {
    int par;
    int vertex;    /* index of its JobVertex */
    int op_index;  /* position in the vertex's chain */
    bool chained;  /* its input edge is chained */
} cnode;

static Fl__Pb__KeySpec *key_spec(fl_arena *a, const sg_key *k)
{
    Fl__Pb__KeySpec *ks = fl_arena_alloc(a, sizeof *ks);
    fl__pb__key_spec__init(ks);
    ks->fn = fl_arena_str(a, k->fn);
    ks->offset = k->offset;
    ks->len = k->len;
    return ks;
}

Fl__Pb__JobGraph *fl_compile(fl_env *env, const char *job_id, fl_err *err)
{
    if (env->error[0]) {
        fl_err_set(err, "%s", env->error);
        return NULL;
    }
    if (!env->executed) {
        fl_err_set(err, "the program did not call fl_execute(): no job to run");
        return NULL;
    }
    /* Flink builds its topology from the sinks back: operators no sink reads are not
     * part of it, and a program without a sink has no topology */
    bool has_sink = false;
    for (int i = 0; i < env->n; i++)
        has_sink |= (env->nodes[i].kind >= FL__PB__OP_KIND__SINK_PRINT &&
                     env->nodes[i].kind <= FL__PB__OP_KIND__SINK_CUSTOM) ||
                    env->nodes[i].kind == FL__PB__OP_KIND__SINK_CONNECTOR;
    if (!has_sink) {
        fl_err_set(err, "No operators defined in streaming topology. Cannot execute. (%s)",
                   env->n ? "the program defines no sink: add one, e.g. fl_print or "
                            "fl_discard"
                          : "the program defines no operator");
        return NULL;
    }
    int n = env->n;
    cnode *cn = fl_xcalloc((size_t)n, sizeof *cn);
    Fl__Pb__JobGraph *result = NULL;
    fl_arena a = {0};

    /* parallelism and edge partitioners */
    for (int i = 0; i < n; i++) {
        sg_node *nd = &env->nodes[i];
        cn[i].par = nd->parallelism > 0 ? nd->parallelism
                  : nd->non_parallel     ? 1
                                         : fl_env_parallelism(env);
        int maxp = nd->max_parallelism > 0 ? nd->max_parallelism
                 : env->max_parallelism > 0 ? env->max_parallelism
                                            : FL_MAX_MAX_PARALLELISM;
        if (cn[i].par > maxp) {
            fl_err_set(err, "the parallelism %d of '%s' exceeds the max parallelism %d",
                       cn[i].par, nd->name, maxp);
            goto out;
        }
        if (!is_source(nd->kind) && nd->ninputs == 0) {
            fl_err_set(err, "operator '%s' has no input", nd->name);
            goto out;
        }
        for (int j = 0; j < nd->ninputs; j++) {
            sg_edge *e = &nd->inputs[j];
            int up = cn[e->from].par;
            if (e->partitioner < 0)
                e->partitioner = up == cn[i].par ? FL__PB__PARTITIONER__PART_FORWARD
                                                 : FL__PB__PARTITIONER__PART_REBALANCE;
            if (e->partitioner == FL__PB__PARTITIONER__PART_FORWARD && up != cn[i].par) {
                fl_err_set(err,
                           "Forward partitioning does not allow change of parallelism. Upstream "
                           "operation: %s parallelism: %d, downstream operation: %s parallelism: "
                           "%d. You must use another partitioning strategy, such as broadcast, "
                           "rebalance, shuffle or global.",
                           env->nodes[e->from].name, up, nd->name, cn[i].par);
                goto out;
            }
        }
    }

    /* chains: node ids are topological, so a node's input is placed before it */
    int nv = 0;
    int *nops = fl_xcalloc((size_t)n, sizeof *nops);
    for (int i = 0; i < n; i++) {
        sg_node *nd = &env->nodes[i];
        bool chain = false;
        if (nd->ninputs == 1) {
            sg_edge *e = &nd->inputs[0];
            sg_node *up = &env->nodes[e->from];
            chain = env->chaining && e->partitioner == FL__PB__PARTITIONER__PART_FORWARD &&
                    cn[e->from].par == cn[i].par && !nd->new_chain && !nd->chaining_disabled &&
                    !up->chaining_disabled && strcmp(up->slot_group, nd->slot_group) == 0;
        }
        cn[i].chained = chain;
        cn[i].vertex = chain ? cn[nd->inputs[0].from].vertex : nv++;
        cn[i].op_index = nops[cn[i].vertex]++;
    }

    Fl__Pb__JobGraph *g = fl_arena_alloc(&a, sizeof *g);
    fl__pb__job_graph__init(g);
    g->job_id = fl_arena_str(&a, job_id);
    g->name = fl_arena_str(&a, env->job_name);
    g->max_parallelism = env->max_parallelism > 0 ? env->max_parallelism : 0; /* 0: per vertex */
    g->buffer_timeout_ms = env->buffer_timeout_ms;
    g->n_vertices = (size_t)nv;
    g->vertices = fl_arena_alloc(&a, (size_t)nv * sizeof *g->vertices);
    for (int v = 0; v < nv; v++) {
        Fl__Pb__JobVertex *jv = g->vertices[v] = fl_arena_alloc(&a, sizeof *jv);
        fl__pb__job_vertex__init(jv);
        jv->id = v;
        jv->n_chain = (size_t)nops[v];
        jv->chain = fl_arena_alloc(&a, (size_t)nops[v] * sizeof *jv->chain);
        /* at most one output or input per edge: size generously */
        jv->outputs = fl_arena_alloc(&a, (size_t)n * sizeof *jv->outputs);
        jv->inputs = fl_arena_alloc(&a, (size_t)n * sizeof *jv->inputs);
    }
    free(nops);

    for (int i = 0; i < n; i++) {
        sg_node *nd = &env->nodes[i];
        Fl__Pb__JobVertex *jv = g->vertices[cn[i].vertex];
        Fl__Pb__OperatorSpec *op = jv->chain[cn[i].op_index] = fl_arena_alloc(&a, sizeof *op);
        fl__pb__operator_spec__init(op);
        op->node_id = nd->id;
        if (nd->uid[0]) {
            op->uid = fl_arena_str(&a, nd->uid);
        } else {
            uint64_t h = fnv(0xcbf29ce484222325ULL, &nd->id, sizeof nd->id);
            h = fnv(h, &nd->kind, sizeof nd->kind);
            h = fnv(h, nd->fn, strlen(nd->fn));
            char uid[40];
            snprintf(uid, sizeof uid, "%016llx", (unsigned long long)h);
            op->uid = fl_arena_str(&a, uid);
        }
        op->name = fl_arena_str(&a, nd->name);
        op->kind = (Fl__Pb__OpKind)nd->kind;
        op->fn = fl_arena_str(&a, nd->fn);
        op->open_fn = fl_arena_str(&a, nd->open_fn);
        op->close_fn = fl_arena_str(&a, nd->close_fn);
        op->config.data = nd->config;
        op->config.len = nd->config_len;
        op->params.data = nd->params;
        op->params.len = nd->params_len;
        op->field_offset = nd->field_offset;
        op->field_type = nd->field_type;
        op->key = key_spec(&a, &nd->key);
        op->key2 = key_spec(&a, &nd->key2);
        op->keyed = nd->keyed || nd->kind == FL__PB__OP_KIND__OP_REDUCE ||
                    (nd->kind >= FL__PB__OP_KIND__OP_SUM && nd->kind <= FL__PB__OP_KIND__OP_MAX_BY);
        op->fn2 = fl_arena_str(&a, nd->fn2);
        op->timer_fn = fl_arena_str(&a, nd->timer_fn);
        op->broadcast_state = fl_arena_str(&a, nd->bcast_state);
        op->lower_ms = nd->lower_ms;
        op->upper_ms = nd->upper_ms;
        op->watermarks = nd->wm;
        if (nd->win) {
            Fl__Pb__WindowSpec *w = op->window = fl_arena_alloc(&a, sizeof *w);
            fl__pb__window_spec__init(w);
            w->assigner = nd->win->assigner;
            w->size = nd->win->size;
            w->slide = nd->win->slide;
            w->offset = nd->win->offset;
            w->gap = nd->win->gap;
            w->allowed_lateness = nd->win->lateness;
            w->late_tag = fl_arena_str(&a, nd->win->late_tag);
            w->trigger = nd->win->trigger;
            w->trigger_count = nd->win->trigger_count;
            w->purge_on_fire = nd->win->purge_on_fire;
            w->trigger_on_element = fl_arena_str(&a, nd->win->trig_element);
            w->trigger_on_event_time = fl_arena_str(&a, nd->win->trig_event);
            w->trigger_on_processing_time = fl_arena_str(&a, nd->win->trig_proc);
            w->trigger_clear = fl_arena_str(&a, nd->win->trig_clear);
            w->evictor_count = nd->win->evictor_count;
            w->function = nd->win_function;
            w->reduce_fn = fl_arena_str(&a, nd->win_reduce);
            w->process_fn = fl_arena_str(&a, nd->win_process);
            w->all = nd->win->all;
            if (nd->win_function == FL_WINDOW_AGGREGATE) {
                Fl__Pb__AggregateSpec *ag = w->aggregate = fl_arena_alloc(&a, sizeof *ag);
                fl__pb__aggregate_spec__init(ag);
                ag->acc_size = nd->agg_acc_size;
                ag->result_max = nd->agg_result_max;
                ag->create_fn = fl_arena_str(&a, nd->agg_fns[0]);
                ag->add_fn = fl_arena_str(&a, nd->agg_fns[1]);
                ag->result_fn = fl_arena_str(&a, nd->agg_fns[2]);
                ag->merge_fn = fl_arena_str(&a, nd->agg_fns[3]);
            }
        }
        op->chained_outputs = fl_arena_alloc(&a, (size_t)n * sizeof *op->chained_outputs);
        op->network_outputs = fl_arena_alloc(&a, (size_t)n * sizeof *op->network_outputs);
        op->side_outputs = fl_arena_alloc(&a, (size_t)n * sizeof *op->side_outputs);
        if (cn[i].op_index == 0) {
            jv->parallelism = cn[i].par;
            jv->slot_sharing_group = fl_arena_str(&a, nd->slot_group);
        }
        /* the vertex's key groups: the head's setting, else any chained operator's, else
         * the job's, else derived from the parallelism */
        if (nd->max_parallelism > 0 && (cn[i].op_index == 0 || !jv->max_parallelism_configured)) {
            jv->max_parallelism = nd->max_parallelism;
            jv->max_parallelism_configured = true;
        }
    }
    /* edges: chained ones link operators, the others become vertex outputs/inputs */
    for (int i = 0; i < n; i++) {
        sg_node *nd = &env->nodes[i];
        for (int j = 0; j < nd->ninputs; j++) {
            sg_edge *e = &nd->inputs[j];
            Fl__Pb__JobVertex *src = g->vertices[cn[e->from].vertex];
            Fl__Pb__OperatorSpec *from = src->chain[cn[e->from].op_index];
            Fl__Pb__SideOutputSpec *side = NULL;
            if (e->side_tag[0]) { /* the producer's side output of this tag */
                for (size_t k = 0; k < from->n_side_outputs && !side; k++)
                    if (!strcmp(from->side_outputs[k]->tag, e->side_tag))
                        side = from->side_outputs[k];
                if (!side) {
                    side = from->side_outputs[from->n_side_outputs++] =
                        fl_arena_alloc(&a, sizeof *side);
                    fl__pb__side_output_spec__init(side);
                    side->tag = fl_arena_str(&a, e->side_tag);
                    side->chained_outputs = fl_arena_alloc(&a, (size_t)n * sizeof(int32_t));
                    side->network_outputs = fl_arena_alloc(&a, (size_t)n * sizeof(int32_t));
                }
            }
            if (cn[i].chained) {
                if (side)
                    side->chained_outputs[side->n_chained_outputs++] = cn[i].op_index;
                else
                    from->chained_outputs[from->n_chained_outputs++] = cn[i].op_index;
                continue;
            }
            Fl__Pb__VertexOutput *o = fl_arena_alloc(&a, sizeof *o);
            fl__pb__vertex_output__init(o);
            o->from_op = cn[e->from].op_index;
            o->target_vertex = cn[i].vertex;
            o->partitioner = (Fl__Pb__Partitioner)e->partitioner;
            o->key = key_spec(&a, &e->key);
            o->partition_fn = fl_arena_str(&a, e->partition_fn);
            o->side_tag = fl_arena_str(&a, e->side_tag);
            if (side)
                side->network_outputs[side->n_network_outputs++] = (int32_t)src->n_outputs;
            else
                from->network_outputs[from->n_network_outputs++] = (int32_t)src->n_outputs;
            Fl__Pb__JobVertex *dst = g->vertices[cn[i].vertex];
            Fl__Pb__VertexInput *in = fl_arena_alloc(&a, sizeof *in);
            fl__pb__vertex_input__init(in);
            in->source_vertex = cn[e->from].vertex;
            in->source_output = (int32_t)src->n_outputs;
            in->input_index = e->input_index;
            src->outputs[src->n_outputs++] = o;
            dst->inputs[dst->n_inputs++] = in;
        }
    }
    for (int v = 0; v < nv; v++) {
        Fl__Pb__JobVertex *jv = g->vertices[v];
        if (!jv->max_parallelism_configured && env->max_parallelism > 0) {
            jv->max_parallelism = env->max_parallelism;
            jv->max_parallelism_configured = true;
        } else if (!jv->max_parallelism_configured) {
            jv->max_parallelism = derived_max_parallelism(jv->parallelism);
        }
        size_t len = 0;
        for (size_t k = 0; k < jv->n_chain; k++)
            len += strlen(jv->chain[k]->name) + 4;
        char *name = fl_arena_alloc(&a, len + 1);
        for (size_t k = 0; k < jv->n_chain; k++) {
            if (k)
                strcat(name, " -> ");
            strcat(name, jv->chain[k]->name);
        }
        jv->name = name;
    }
    /* pack and unpack: the caller gets one protobuf-c allocation to free */
    size_t sz = protobuf_c_message_get_packed_size(&g->base);
    uint8_t *buf = fl_xmalloc(sz);
    protobuf_c_message_pack(&g->base, buf);
    result = fl__pb__job_graph__unpack(NULL, sz, buf);
    free(buf);
    if (!result)
        fl_err_set(err, "cannot encode the job graph");
out:
    fl_arena_free(&a);
    free(cn);
    return result;
}

