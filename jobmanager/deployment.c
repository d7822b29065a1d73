/* deployment.c -- the JobMaster's deployment: turns each subtask of the ExecutionGraph into a
 * task deployment descriptor (its input gates with their producers' partitions and
 * locations, its output partitions, its configuration and its share of the restored state)
 * and submits it to the TaskExecutor of its slot. job_master.c calls it once the slots are
 * granted and on each restart; a failed submission fails the task. JobMaster thread only.
 */
#include "common/hmap.h"
#include "common/keygroup.h"
#include "common/log.h"
#include "common/pbarena.h"
#include "common/util.h"
#include "job_master_internal.h"
#include "jobmanager/ha/ha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- deployment ------------------------------------------------------------------- */

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

/* ---- the attempt's hosts and producer tables --------------------------------------- */

/* The TaskManagers of the granted slots, each once: host_of_slot and a slot of each host
 * (its connection). O(slots). */
static void index_hosts(fl_jm *jm)
{
    fl_deploy *d = &jm->dep;
    fl_hmap *m = fl_hmap_new();
    free(d->host_of_slot);
    free(d->slot_of_host);
    d->host_of_slot = fl_xcalloc((size_t)jm->s.nslots + 1, sizeof *d->host_of_slot);
    d->slot_of_host = fl_xcalloc((size_t)jm->s.nslots + 1, sizeof *d->slot_of_host);
    d->nhosts = 0;
    for (int s = 0; s < jm->s.nslots; s++) {
        const char *rid = jm->s.slots[s].resource_id;
        uint32_t len = (uint32_t)strlen(rid);
        bool created;
        fl_hentry *e = fl_hmap_upsert(m, fl_key_hash(rid, len), rid, len, &created);
        int h;
        if (created) {
            h = d->nhosts++;
            d->slot_of_host[h] = s;
            fl_hmap_set(e, &h, sizeof h);
        } else {
            memcpy(&h, fl_hentry_val(e), sizeof h);
        }
        d->host_of_slot[s] = h;
    }
    fl_hmap_free(m);
}

void fl_jm_deploy_reset(fl_jm *jm)
{
    fl_deploy *d = &jm->dep;
    for (int v = 0; d->tables && v < jm->s.eg.nv; v++)
        free(d->tables[v].data);
    free(d->tables);
    free(d->sent);
    d->tables = NULL;
    d->sent = NULL;
    d->attempt = -1;
}

void fl_jm_deploy_free(fl_jm *jm)
{
    fl_jm_deploy_reset(jm);
    free(jm->dep.host_of_slot);
    free(jm->dep.slot_of_host);
}

int fl_jm_hosts(fl_jm *jm, const int **slot_of_host)
{
    if (!jm->dep.host_of_slot)
        index_hosts(jm);
    *slot_of_host = jm->dep.slot_of_host;
    return jm->dep.nhosts;
}

/* Vertex v's producer table of this attempt, packed once. */
static const ProtobufCBinaryData *producer_table(fl_jm *jm, int v)
{
    fl_deploy *d = &jm->dep;
    ProtobufCBinaryData *t = &d->tables[v];
    if (t->data)
        return t;
    fl_arena a = {0};
    Fl__Pb__ProducerTable pt = FL__PB__PRODUCER_TABLE__INIT;
    pt.vertex = v;
    pt.attempt = jm->s.attempt;
    pt.n_hosts = (size_t)d->nhosts;
    pt.hosts = fl_arena_alloc(&a, ((size_t)d->nhosts + 1) * sizeof *pt.hosts);
    for (int h = 0; h < d->nhosts; h++) {
        const fl_slot_grant *s = &jm->s.slots[d->slot_of_host[h]];
        Fl__Pb__SubtaskLocation *l = pt.hosts[h] = fl_arena_alloc(&a, sizeof *l);
        fl__pb__subtask_location__init(l);
        l->resource_id = (char *)s->resource_id;
        l->host = (char *)s->host;
        l->data_port = (uint32_t)s->data_port;
    }
    int P = jm->s.eg.v[v].jv->parallelism;
    pt.n_host_of = (size_t)P;
    pt.host_of = fl_arena_alloc(&a, (size_t)P * sizeof *pt.host_of);
    for (int j = 0; j < P; j++)
        pt.host_of[j] = d->host_of_slot[jm->s.eg.v[v].x[j].slot];
    t->len = protobuf_c_message_get_packed_size(&pt.base);
    t->data = fl_xmalloc(t->len + 1);
    protobuf_c_message_pack(&pt.base, t->data);
    fl_arena_free(&a);
    return t;
}

static Fl__Pb__InputGateDescriptor *gate_desc(fl_arena *a, const fl_jm *jm,
                                              const Fl__Pb__VertexInput *in, int consumer,
                                              int C)
{
    const Fl__Pb__JobVertex *src = jm->g->vertices[in->source_vertex];
    const Fl__Pb__VertexOutput *o = src->outputs[in->source_output];
    int P = src->parallelism;
    Fl__Pb__InputGateDescriptor *gd = fl_arena_alloc(a, sizeof *gd);
    fl__pb__input_gate_descriptor__init(gd);
    gd->input_index = in->input_index;
    gd->source_vertex = in->source_vertex;
    gd->source_output = in->source_output;
    gd->producer_parallelism = P;
    if (!fl_eg_is_pointwise(o->partitioner)) {
        gd->first_producer = 0; /* all of them, each our subpartition */
        gd->producer_count = P;
        gd->subpartition = consumer;
    } else if (P >= C) {
        /* the producers j with j * C / P == consumer, each with one subpartition */
        int first = (int)(((int64_t)consumer * P + C - 1) / C), last = first;
        while (last < P && (int)((int64_t)last * C / P) == consumer)
            last++;
        gd->first_producer = first;
        gd->producer_count = last - first;
        gd->subpartition = 0;
    } else {
        int j = (int)((int64_t)consumer * P / C);
        int first = (int)(((int64_t)j * C + P - 1) / P); /* j's first consumer */
        gd->first_producer = j;
        gd->producer_count = 1;
        gd->subpartition = consumer - first;
    }
    return gd;
}

static void on_deploy_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error);
static void deploy_more(fl_jm *jm);

static void deploy(fl_jm *jm, int vi, int i)
{
    fl_arena a = {0};
    fl_vertex *vx = &jm->s.eg.v[vi];
    fl_exec *x = &vx->x[i];
    const fl_slot_grant *slot = &jm->s.slots[x->slot];
    Fl__Pb__TaskDeploymentDescriptor tdd = FL__PB__TASK_DEPLOYMENT_DESCRIPTOR__INIT;
    tdd.job_id = jm->id;
    tdd.job_name = jm->g->name;
    tdd.attempt = x->attempt; /* the current one: what is deployed is CREATED at it */
    tdd.vertex = vx->jv;
    tdd.subtask = i;
    tdd.slot_index = slot->slot_index;
    tdd.allocation_id = (char *)slot->allocation_id;
    tdd.bundle_sha256 = jm->g->bundle_sha256;
    tdd.bundle_name = jm->g->bundle_name;
    tdd.bundle_signature = jm->g->bundle_signature;
    tdd.buffer_timeout_ms = jm->g->buffer_timeout_ms;
    /* the job's effective configuration: the cluster's plus its -D settings */
    tdd.n_config = jm->nconf;
    tdd.config = jm->conf_entries;
    tdd.n_gates = vx->jv->n_inputs;
    tdd.gates = fl_arena_alloc(&a, (tdd.n_gates + 1) * sizeof *tdd.gates);
    tdd.producer_tables = fl_arena_alloc(&a, (tdd.n_gates + 1) * sizeof *tdd.producer_tables);
    int host = jm->dep.host_of_slot[x->slot];
    for (size_t k = 0; k < vx->jv->n_inputs; k++) {
        tdd.gates[k] = gate_desc(&a, jm, vx->jv->inputs[k], i, vx->jv->parallelism);
        /* the producers' table, unless this TaskManager has it already */
        int src = vx->jv->inputs[k]->source_vertex;
        uint8_t *sent = &jm->dep.sent[(size_t)host * (size_t)jm->s.eg.nv + (size_t)src];
        if (!*sent) {
            *sent = 1;
            tdd.producer_tables[tdd.n_producer_tables++] = *producer_table(jm, src);
        }
    }
    size_t no = vx->jv->n_outputs;
    tdd.n_output_partition_ids = tdd.n_output_consumers = tdd.n_output_max_parallelism = no;
    tdd.output_max_parallelism = fl_arena_alloc(&a, (no + 1) * sizeof(int32_t));
    tdd.output_partition_ids = fl_arena_alloc(&a, (no + 1) * sizeof(char *));
    tdd.output_consumers = fl_arena_alloc(&a, (no + 1) * sizeof(int32_t));
    char pid[256];
    for (size_t k = 0; k < no; k++) {
        const Fl__Pb__VertexOutput *o = vx->jv->outputs[k];
        fl_partition_id(pid, sizeof pid, jm->id, x->attempt, vi, i, (int)k);
        tdd.output_partition_ids[k] = fl_arena_str(&a, pid);
        tdd.output_consumers[k] = producer_subpartitions(
            fl_eg_is_pointwise(o->partitioner), vx->jv->parallelism,
            jm->g->vertices[o->target_vertex]->parallelism, i);
        tdd.output_max_parallelism[k] = jm->g->vertices[o->target_vertex]->max_parallelism;
    }
    if (jm->restore)
        tdd.restore = fl_cc_task_restore(&a, jm->restore, jm->restore_dir, vx->jv, i);
    if (tdd.restore)
        tdd.restore->failover = jm->s.attempt > 0 || jm->recovered;
    Fl__Pb__SubmitTask st = FL__PB__SUBMIT_TASK__INIT;
    st.tdd = &tdd;
    st.leader_session_id = (char *)fl_leader_term_session(jm->deps.term);
    fl_eg_set_state(&jm->s.eg, x, FL_TASK_DEPLOYING);
    x->start_ms = fl_now_ms();
    x->end_ms = 0;
    /* the reply tells which task: attempt, vertex and subtask packed into the pointer */
    uintptr_t tag = ((uintptr_t)(x->attempt & 0xffff) << 40) | ((uintptr_t)vi << 20) | (uintptr_t)i;
    fl_rpc_call(jm->deps.rpc, slot->conn, FL_RPC_SUBMIT_TASK, &st.base,
                fl_conf_get_duration_ms(jm->conf, "rpc.ask-timeout"), jm->ep, on_deploy_reply,
                (void *)tag);
    fl_arena_free(&a);
}

/* Deploys the subtasks awaiting it (CREATED or SCHEDULED: all of them after the slots
 * came or the job restarted, a region's after a region restart) while fewer than
 * FL_JM_DEPLOY_WINDOW deployments await their answer; each answer lets one more go. When
 * every one has its answer, the scheduler hears of it (fl_sched_on_deployed). The
 * JobMaster's loop is never held for long (task updates and acknowledgements get their
 * turn between answers) and the RPC service never queues more than a window of them ahead
 * of the ResourceManager's heartbeats: a job of 20,000 subtasks on 1,000 TaskManagers
 * delayed heartbeats by seconds when all went at once. */
static void deploy_more(fl_jm *jm)
{
    fl_deploy *d = &jm->dep;
    if (d->attempt != jm->s.attempt || jm->s.state != FL_JOB_RUNNING)
        return;
    if (!fl_leader_term_is_active(jm->deps.term)) {
        jm->deploy_held = true; /* ZooKeeper unreachable: fl_jm_deploy_resume goes on */
        return;
    }
    jm->deploy_held = false;
    bool any = false;
    while (d->inflight < FL_JM_DEPLOY_WINDOW && d->next_v < jm->s.eg.nv) {
        fl_task_state st = jm->s.eg.v[d->next_v].x[d->next_i].state;
        if (st == FL_TASK_CREATED || st == FL_TASK_SCHEDULED) {
            d->inflight++;
            any = true;
            deploy(jm, d->next_v, d->next_i);
        }
        if (++d->next_i == jm->s.eg.v[d->next_v].jv->parallelism) {
            d->next_i = 0;
            d->next_v++;
        }
    }
    if (any)
        fl_jm_publish_soon(jm, FL_JM_PUBLISH_TASKS_MS);
    if (d->next_v == jm->s.eg.nv && d->inflight == 0)
        fl_sched_on_deployed(&jm->s); /* last: it may start the next deployment */
}

void fl_jm_deploy_all(fl_jm *jm)
{
    fl_info("Deploying job %s (%s), attempt %d, %d of %d tasks, to %d slots", jm->g->name,
            jm->id, jm->s.attempt,
            fl_eg_count(&jm->s.eg, FL_TASK_CREATED) + fl_eg_count(&jm->s.eg, FL_TASK_SCHEDULED),
            jm->s.eg.ntasks, jm->s.nslots);
    fl_jm_deploy_reset(jm);
    index_hosts(jm);
    fl_deploy *d = &jm->dep;
    d->attempt = jm->s.attempt;
    d->next_v = d->next_i = 0;
    d->sent = fl_xcalloc((size_t)d->nhosts * (size_t)jm->s.eg.nv + 1, 1);
    d->tables = fl_xcalloc((size_t)jm->s.eg.nv + 1, sizeof *d->tables);
    d->inflight = 0;
    deploy_more(jm);
}

static void on_deploy_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    fl_jm *jm = ctx;
    uintptr_t tag = (uintptr_t)arg;
    int attempt = (int)(tag >> 40), vi = (int)((tag >> 20) & 0xfffff), i = (int)(tag & 0xfffff);
    Fl__Pb__Ack *ack = reply ? (Fl__Pb__Ack *)reply->pb : NULL;
    const fl_exec *x = fl_eg_exec(&jm->s.eg, vi, i);
    if (x && attempt == (x->attempt & 0xffff) && (!ack || !ack->ok)) {
        char cause[1200];
        snprintf(cause, sizeof cause, "Could not deploy the task: %s",
                 ack ? ack->error : error);
        fl_sched_task_failed(&jm->s, vi, i, cause);
    }
    fl_rpc_msg_free(reply);
    if (attempt == (jm->dep.attempt & 0xffff) && jm->dep.inflight > 0) {
        jm->dep.inflight--;
        deploy_more(jm);
    }
}

void fl_jm_deploy_resume(fl_jm *jm)
{
    deploy_more(jm);
}
