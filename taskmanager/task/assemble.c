/* assemble.c -- a task's chain from its deployment descriptor: every operator built the one
 * way (fl_op_assemble: the one switch over operator kinds, the state backends, the kind's
 * init), one result partition and record writer per vertex output, the outputs wired
 * (chained operators, writers, side outputs), one input gate per vertex input with a
 * channel per producer subtask (local when it runs in this TaskManager), and the aligner
 * of their barriers. Task thread, while the task initializes.
 */
#include "common/keygroup.h"
#include "common/log.h"
#include "common/util.h"
#include "internal.h"
#include "op_host.h"
#include "taskmanager/operators/operators.h"
#include "taskmanager/operators/window/window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one operator ----------------------------------------------------------------- */

/* The one switch over operator kinds: the table of spec's kind. NULL: unknown. */
static const fl_op_ops *kind_of(const Fl__Pb__OperatorSpec *spec)
{
    switch (spec->kind) {
    case FL__PB__OP_KIND__OP_MAP:
    case FL__PB__OP_KIND__OP_FLAT_MAP:
    case FL__PB__OP_KIND__OP_PROCESS:
        return spec->keyed ? &fl_keyed_process_ops : &fl_map_ops;
    case FL__PB__OP_KIND__OP_FILTER:
        return &fl_filter_ops;
    case FL__PB__OP_KIND__OP_REDUCE:
        return &fl_reduce_ops;
    case FL__PB__OP_KIND__OP_SUM:
        return &fl_sum_ops;
    case FL__PB__OP_KIND__OP_MIN:
        return &fl_min_ops;
    case FL__PB__OP_KIND__OP_MAX:
        return &fl_max_ops;
    case FL__PB__OP_KIND__OP_MIN_BY:
        return &fl_min_by_ops;
    case FL__PB__OP_KIND__OP_MAX_BY:
        return &fl_max_by_ops;
    case FL__PB__OP_KIND__SRC_ELEMENTS:
        return &fl_elements_source_ops;
    case FL__PB__OP_KIND__SRC_TEXT_FILE:
        return &fl_text_file_source_ops;
    case FL__PB__OP_KIND__SRC_SOCKET:
        return &fl_socket_source_ops;
    case FL__PB__OP_KIND__SRC_SEQUENCE:
        return &fl_sequence_source_ops;
    case FL__PB__OP_KIND__SRC_CUSTOM:
        return &fl_custom_source_ops;
    case FL__PB__OP_KIND__SINK_PRINT:
        return &fl_print_sink_ops;
    case FL__PB__OP_KIND__SINK_FILE:
        return &fl_file_sink_ops;
    case FL__PB__OP_KIND__SINK_DISCARD:
        return &fl_discard_sink_ops;
    case FL__PB__OP_KIND__SINK_CUSTOM:
        return &fl_custom_sink_ops;
    case FL__PB__OP_KIND__OP_ASSIGN_WATERMARKS:
        return &fl_assigner_ops;
    case FL__PB__OP_KIND__OP_WINDOW:
        return &fl_window_ops;
    case FL__PB__OP_KIND__OP_CO_MAP:
    case FL__PB__OP_KIND__OP_CO_FLAT_MAP:
    case FL__PB__OP_KIND__OP_CO_PROCESS:
        return &fl_co_process_ops;
    case FL__PB__OP_KIND__OP_BROADCAST_PROCESS:
        return &fl_broadcast_process_ops;
    case FL__PB__OP_KIND__OP_INTERVAL_JOIN:
        return &fl_interval_join_ops;
    case FL__PB__OP_KIND__SRC_CONNECTOR:
        return &fl_connector_source_ops;
    case FL__PB__OP_KIND__SINK_CONNECTOR:
        return &fl_connector_sink_ops;
    default:
        return NULL;
    }
}

/* The state-backend factory: a keyed backend for op (state.backend.type), serving the key
 * groups of its subtask. */
static fl_kbackend *new_backend(const fl_op *op, const char *tmp_dir, fl_err *err)
{
    const fl_task_view *v = op->view;
    int first, last;
    fl_key_group_range(v->subtask, v->parallelism, v->max_parallelism, &first, &last);
    const char *type = fl_conf_get_str(v->conf, "state.backend.type");
    if (type && !strcmp(type, "rocksdb")) {
        char name[256];
        snprintf(name, sizeof name, "%.32s-v%d-s%d-op%d", v->job_id, v->vertex, v->subtask,
                 op->index);
        return fl_kbackend_rocksdb_new(v->max_parallelism, first, last,
                                       tmp_dir ? tmp_dir : "/tmp", name, v->conf, err);
    }
    return fl_kbackend_hashmap_new(v->max_parallelism, first, last);
}

int fl_op_assemble(fl_op *op, const Fl__Pb__OperatorSpec *spec, const fl_task_view *view,
                   int index, const char *tmp_dir, fl_err *err)
{
    const fl_op_ops *ops = kind_of(spec);
    if (!ops) {
        memset(op, 0, sizeof *op);
        fl_err_set(err, "unknown operator kind %d (%s)", spec->kind, spec->name);
        return -1;
    }
    if (fl_op_prepare(op, ops, spec, view, index, err) < 0)
        return -1;
    if (fl_op_is_keyed(op) && !(op->ctx.kb = new_backend(op, tmp_dir, err)))
        return -1;
    /* broadcast state: every subtask holds all of it, so all key groups */
    if (ops->broadcast_state)
        op->bcast_kb = fl_kbackend_hashmap_new(view->max_parallelism, 0,
                                               view->max_parallelism - 1);
    return ops->init ? ops->init(op, err) : 0;
}

/* ---- the task ---------------------------------------------------------------------- */

int fl_task_assemble(fl_task *t, fl_err *err)
{
    const Fl__Pb__TaskDeploymentDescriptor *d = t->tdd;
    const Fl__Pb__JobVertex *v = d->vertex;
    t->nops = (int)v->n_chain;
    t->ops = fl_xcalloc((size_t)t->nops + 1, sizeof *t->ops);
    for (int i = 0; i < t->nops; i++)
        if (fl_op_assemble(&t->ops[i], v->chain[i], &t->view, i, t->env.tmp_dir, err) < 0)
            return -1;
    /* result partitions and their writers, one per vertex output */
    t->nwriters = (int)v->n_outputs;
    if (d->n_output_partition_ids != v->n_outputs || d->n_output_consumers != v->n_outputs) {
        fl_err_set(err, "deployment descriptor: %zu outputs but %zu partitions", v->n_outputs,
                   d->n_output_partition_ids);
        return -1;
    }
    t->writers = fl_xcalloc((size_t)t->nwriters + 1, sizeof *t->writers);
    pthread_mutex_lock(&t->parts_lock);
    t->parts = fl_xcalloc((size_t)t->nwriters + 1, sizeof *t->parts);
    pthread_mutex_unlock(&t->parts_lock);
    for (int k = 0; k < t->nwriters; k++) {
        const Fl__Pb__VertexOutput *o = v->outputs[k];
        fl_writer *w = &t->writers[k];
        w->failure = &t->failure;
        w->partitioner = o->partitioner;
        w->nsub = d->output_consumers[k];
        /* keys are grouped by the consumer's key groups */
        w->max_parallelism = k < (int)d->n_output_max_parallelism ? d->output_max_parallelism[k]
                                                                  : t->view.max_parallelism;
        if (w->max_parallelism < 1) {
            fl_err_set(err, "output %d: bad max parallelism %d", k, w->max_parallelism);
            return -1;
        }
        /* start round robin at a different place per producer */
        w->rr = (uint32_t)t->view.subtask;
        w->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(t->view.subtask + 1) * 0xbf58476d1ce4e5b9ULL;
        if (w->nsub < 1) {
            fl_err_set(err, "output %d has no consumers", k);
            return -1;
        }
        if ((o->partitioner == FL__PB__PARTITIONER__PART_HASH ||
             o->partitioner == FL__PB__PARTITIONER__PART_CUSTOM) &&
            fl_keysel_init(&w->key, o->key, t->bundle, err) < 0)
            return -1;
        if (o->partitioner == FL__PB__PARTITIONER__PART_CUSTOM &&
            !(w->custom = (fl_partitioner_fn)fl_bundle_sym(t->bundle, o->partition_fn))) {
            fl_err_set(err, "partitioner '%s' not found in the bundle", o->partition_fn);
            return -1;
        }
        fl_partition *p = fl_partition_new(t->env.net, d->output_partition_ids[k], w->nsub,
                                           t->buffer_timeout_ms, &t->metrics, err);
        if (!p)
            return -1;
        pthread_mutex_lock(&t->parts_lock);
        t->parts[k] = p;
        t->nparts = k + 1;
        bool cancelled = atomic_load(&t->failure.cancelled);
        pthread_mutex_unlock(&t->parts_lock);
        if (cancelled)
            fl_partition_fail(p, "task canceled");
        w->part = p;
    }
    if (t->nparts > 0) { /* sources look between records (a chain that ends here: never) */
        t->view.output_full = fl_task_outputs_full;
        t->view.output_arg = t;
    }
    /* wire each operator's outputs: chained operators and network writers */
    for (int i = 0; i < t->nops; i++) {
        fl_op *op = &t->ops[i];
        const Fl__Pb__OperatorSpec *s = v->chain[i];
        for (size_t c = 0; c < s->n_chained_outputs; c++)
            fl_out_connect_op(&op->out, &t->ops[s->chained_outputs[c]]);
        for (size_t c = 0; c < s->n_network_outputs; c++)
            fl_out_connect_writer(&op->out, &t->writers[s->network_outputs[c]]);
        for (size_t k = 0; k < s->n_side_outputs; k++) {
            const Fl__Pb__SideOutputSpec *so = s->side_outputs[k];
            fl_out *out = fl_op_add_side(op, so->tag);
            for (size_t c = 0; c < so->n_chained_outputs; c++) {
                if (so->chained_outputs[c] <= i || so->chained_outputs[c] >= t->nops) {
                    fl_err_set(err, "deployment descriptor: bad side output of %s", s->name);
                    return -1;
                }
                fl_out_connect_op(out, &t->ops[so->chained_outputs[c]]);
            }
            for (size_t c = 0; c < so->n_network_outputs; c++) {
                if (so->network_outputs[c] < 0 || so->network_outputs[c] >= t->nwriters) {
                    fl_err_set(err, "deployment descriptor: bad side output of %s", s->name);
                    return -1;
                }
                fl_out_connect_writer(out, &t->writers[so->network_outputs[c]]);
            }
        }
    }
    /* input gates, one per vertex input */
    t->ngates = (int)d->n_gates;
    t->gates = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->gates);
    t->gate_input = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->gate_input);
    t->pfd = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->pfd);
    t->chans = fl_xcalloc((size_t)t->ngates + 1, sizeof *t->chans);
    int *nchannels = fl_xcalloc((size_t)t->ngates + 1, sizeof *nchannels);
    t->input_wm[0] = t->input_wm[1] = FL_NO_WATERMARK;
    for (int g = 0; g < t->ngates; g++) {
        const Fl__Pb__InputGateDescriptor *gd = d->gates[g];
        const Fl__Pb__ProducerTable *pt = t->ptables && t->ptables[g] ? t->ptables[g]->pb : NULL;
        int n = gd->producer_count;
        if (n < 1 || !pt || pt->vertex != gd->source_vertex || gd->first_producer < 0 ||
            (size_t)gd->first_producer + (size_t)n > pt->n_host_of || gd->input_index < 0 ||
            gd->input_index > 1 || (gd->input_index == 1 && !t->ops[0].ops->process2)) {
            fl_err_set(err, "deployment descriptor: malformed input gate %d", g);
            free(nchannels);
            return -1;
        }
        t->gate_input[g] = gd->input_index;
        nchannels[g] = n;
        t->chans[g] = fl_xcalloc((size_t)n, sizeof *t->chans[g]);
        for (int c = 0; c < n; c++)
            t->chans[g][c] = (fl_in_chan){FL_NO_WATERMARK, FL_CHAN_ACTIVE};
        char name[400];
        snprintf(name, sizeof name, "input %d of %s", g, t->name);
        t->gates[g] = fl_gate_new(t->env.net, n, name, &t->metrics);
        for (int c = 0; c < n; c++) {
            int j = gd->first_producer + c;
            const Fl__Pb__SubtaskLocation *loc = pt->hosts[pt->host_of[j]];
            bool local = strcmp(loc->resource_id, t->env.resource_id) == 0;
            char pid[256];
            fl_partition_id(pid, sizeof pid, d->job_id, d->attempt, gd->source_vertex, j,
                            gd->source_output);
            fl_gate_set_channel(t->gates[g], c, pid, gd->subpartition, local ? NULL : loc->host,
                                (int)loc->data_port);
        }
        if (fl_gate_start(t->gates[g], err) < 0) {
            free(nchannels);
            return -1;
        }
        /* started: the metrics sampler (another thread) may read its buffer usage now */
        pthread_mutex_lock(&t->parts_lock);
        t->ngates_started = g + 1;
        pthread_mutex_unlock(&t->parts_lock);
    }
    /* barriers: aligned, switching to unaligned after aligned-checkpoint-timeout when
     * unaligned checkpoints are enabled */
    bool unaligned = fl_conf_get_bool(t->conf, "execution.checkpointing.unaligned.enabled");
    fl_aligner_init(&t->aligner, &fl_task_aligner_ops, t, t->name, t->ngates, nchannels,
                    unaligned ? fl_conf_get_duration_ms(
                                    t->conf, "execution.checkpointing.aligned-checkpoint-timeout")
                              : 0);
    free(nchannels);
    return 0;
}

