/* deployment.c -- the JobMaster's deployment: turns each subtask of the ExecutionGraph into a
 * task deployment descriptor (its input gates with their producers' partitions and
 * locations, its output partitions, its configuration and its share of the restored state)
 * and submits it to the TaskExecutor of its slot. job_master.c calls it once the slots are
 * granted and on each restart; a failed submission fails the task. JobMaster thread only.
 */
#include "job_master_internal.h"
#include "log.h"
#include "pbarena.h"
#include "util.h"

#include <stdio.h>

/* ---- deployment ------------------------------------------------------------------- */

static bool is_pointwise(int partitioner)
{
    return partitioner == FL__PB__PARTITIONER__PART_FORWARD ||
           partitioner == FL__PB__PARTITIONER__PART_RESCALE;
}

/* Subpartitions of producer j of an edge with P producers and C consumers. */
static int producer_subpartitions(bool pointwise, int P, int C, int j)
{
    if (!pointwise)
        return C;
    if (P >= C)
        return 1;
    int n = 0;
    for (int i = 0; i < C; i++)
        n += (int)((int64_t)i * P / C) == j;
    return n;
}

static void partition_id(char *out, size_t len, const fl_jm *jm, int vertex, int subtask,
                         int output)
{
    snprintf(out, len, "%s/%d/%d/%d/%d", jm->id, jm->attempt, vertex, subtask, output);
}

static Fl__Pb__SubtaskLocation *location(fl_arena *a, const fl_jm *jm, int vertex, int subtask)
{
    const fl_slot_grant *s = &jm->slots[jm->v[vertex].x[subtask].slot];
    Fl__Pb__SubtaskLocation *l = fl_arena_alloc(a, sizeof *l);
    fl__pb__subtask_location__init(l);
    l->resource_id = fl_arena_str(a, s->resource_id);
    l->host = fl_arena_str(a, s->host);
    l->data_port = (uint32_t)s->data_port;
    return l;
}

static Fl__Pb__InputGateDescriptor *gate_desc(fl_arena *a, const fl_jm *jm,
                                              const Fl__Pb__VertexInput *in, int consumer,
                                              int C)
{
    const Fl__Pb__JobVertex *src = jm->g->vertices[in->source_vertex];
    const Fl__Pb__VertexOutput *o = src->outputs[in->source_output];
    int P = src->parallelism;
    bool pw = is_pointwise(o->partitioner);
    Fl__Pb__InputGateDescriptor *gd = fl_arena_alloc(a, sizeof *gd);
    fl__pb__input_gate_descriptor__init(gd);
    gd->input_index = in->input_index;
    gd->source_vertex = in->source_vertex;
    gd->source_output = in->source_output;
    gd->producer_parallelism = P;
    gd->partition_ids = fl_arena_alloc(a, (size_t)P * sizeof *gd->partition_ids);
    gd->producers = fl_arena_alloc(a, (size_t)P * sizeof *gd->producers);
    gd->subpartitions = fl_arena_alloc(a, (size_t)P * sizeof *gd->subpartitions);
    char pid[256];
    for (int j = 0; j < P; j++) {
        int sub;
        if (!pw) {
            sub = consumer;
        } else if (P >= C) {
            if ((int)((int64_t)j * C / P) != consumer)
                continue;
            sub = 0;
        } else {
            if ((int)((int64_t)consumer * P / C) != j)
                continue;
            int first = 0;
            while ((int)((int64_t)first * P / C) != j)
                first++;
            sub = consumer - first;
        }
        partition_id(pid, sizeof pid, jm, in->source_vertex, j, in->source_output);
        gd->partition_ids[gd->n_partition_ids++] = fl_arena_str(a, pid);
        gd->producers[gd->n_producers++] = location(a, jm, in->source_vertex, j);
        gd->subpartitions[gd->n_subpartitions++] = sub;
    }
    return gd;
}

static void on_deploy_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error);

static void deploy(fl_jm *jm, int vi, int i)
{
    fl_arena a = {0};
    vert *vx = &jm->v[vi];
    exec *x = &vx->x[i];
    const fl_slot_grant *slot = &jm->slots[x->slot];
    Fl__Pb__TaskDeploymentDescriptor tdd = FL__PB__TASK_DEPLOYMENT_DESCRIPTOR__INIT;
    tdd.job_id = jm->id;
    tdd.job_name = jm->g->name;
    tdd.attempt = jm->attempt;
    tdd.vertex = vx->jv;
    tdd.subtask = i;
    tdd.slot_index = slot->slot_index;
    tdd.allocation_id = (char *)slot->allocation_id;
    tdd.bundle_sha256 = jm->g->bundle_sha256;
    tdd.bundle_name = jm->g->bundle_name;
    tdd.buffer_timeout_ms = jm->g->buffer_timeout_ms;
    /* the job's effective configuration: the cluster's plus its -D settings */
    tdd.n_config = jm->nconf;
    tdd.config = jm->conf_entries;
    tdd.n_gates = vx->jv->n_inputs;
    tdd.gates = fl_arena_alloc(&a, (tdd.n_gates + 1) * sizeof *tdd.gates);
    for (size_t k = 0; k < vx->jv->n_inputs; k++)
        tdd.gates[k] = gate_desc(&a, jm, vx->jv->inputs[k], i, vx->jv->parallelism);
    size_t no = vx->jv->n_outputs;
    tdd.n_output_partition_ids = tdd.n_output_consumers = tdd.n_output_max_parallelism = no;
    tdd.output_max_parallelism = fl_arena_alloc(&a, (no + 1) * sizeof(int32_t));
    tdd.output_partition_ids = fl_arena_alloc(&a, (no + 1) * sizeof(char *));
    tdd.output_consumers = fl_arena_alloc(&a, (no + 1) * sizeof(int32_t));
    char pid[256];
    for (size_t k = 0; k < no; k++) {
        const Fl__Pb__VertexOutput *o = vx->jv->outputs[k];
        partition_id(pid, sizeof pid, jm, vi, i, (int)k);
        tdd.output_partition_ids[k] = fl_arena_str(&a, pid);
        tdd.output_consumers[k] = producer_subpartitions(
            is_pointwise(o->partitioner), vx->jv->parallelism,
            jm->g->vertices[o->target_vertex]->parallelism, i);
        tdd.output_max_parallelism[k] = jm->g->vertices[o->target_vertex]->max_parallelism;
    }
    if (jm->restore)
        tdd.restore = fl_cc_task_restore(&a, jm->restore, jm->restore_dir, vx->jv, i);
    if (tdd.restore)
        tdd.restore->failover = jm->attempt > 0;
    Fl__Pb__SubmitTask st = FL__PB__SUBMIT_TASK__INIT;
    st.tdd = &tdd;
    x->state = FL_TASK_DEPLOYING;
    x->start_ms = fl_now_ms();
    x->end_ms = 0;
    /* the reply tells which task: attempt, vertex and subtask packed into the pointer */
    uintptr_t tag = ((uintptr_t)(jm->attempt & 0xffff) << 40) | ((uintptr_t)vi << 20) | (uintptr_t)i;
    fl_rpc_call(jm->deps.rpc, slot->conn, FL_RPC_SUBMIT_TASK, &st.base,
                fl_conf_get_duration_ms(jm->conf, "rpc.ask-timeout"), jm->ep, on_deploy_reply,
                (void *)tag);
    fl_arena_free(&a);
}

void fl_jm_deploy_all(fl_jm *jm)
{
    fl_info("Deploying job %s (%s), attempt %d, to %d slots", jm->g->name, jm->id, jm->attempt,
            jm->nslots);
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++)
            deploy(jm, vi, i);
    fl_jm_publish(jm);
}

static void on_deploy_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    fl_jm *jm = ctx;
    uintptr_t tag = (uintptr_t)arg;
    int attempt = (int)(tag >> 40), vi = (int)((tag >> 20) & 0xfffff), i = (int)(tag & 0xfffff);
    Fl__Pb__Ack *ack = reply ? (Fl__Pb__Ack *)reply->pb : NULL;
    if (attempt == (jm->attempt & 0xffff) && (!ack || !ack->ok)) {
        char cause[1200];
        snprintf(cause, sizeof cause, "Could not deploy the task: %s",
                 ack ? ack->error : error);
        fl_jm_task_failed(jm, vi, i, cause);
    }
    fl_rpc_msg_free(reply);
}
