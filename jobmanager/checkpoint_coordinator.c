/* checkpoint_coordinator.c -- see checkpoint_coordinator.h: triggering checkpoints and
 * savepoints, their acknowledgements, completion, retention and the REST bodies. The
 * _metadata files and restoring from them are in checkpoint_restore.c; the shared layout is
 * in checkpoint_internal.h. JobMaster thread only. */
#include "checkpoint_internal.h"
#include "common/fs.h"
#include "common/job_state.h"
#include "common/log.h"
#include "common/path.h"
#include "common/util.h"
#include "jobmanager/ha/ha.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

/* ---- helpers ---------------------------------------------------------------------- */

/* Sorts idx[0..n) (indexes into tasks) by connection, attempt, then position: the tasks of
 * one TaskManager and attempt become a run. O(n log n), where a scan for the ones seen
 * before was O(n^2). */
static const fl_cc_task *sort_tasks;

static int by_conn(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    fl_conn_id ca = sort_tasks[a].conn, cb = sort_tasks[b].conn;
    int ta = sort_tasks[a].attempt, tb = sort_tasks[b].attempt;
    return ca < cb ? -1 : ca > cb ? 1 : ta != tb ? (ta < tb ? -1 : 1) : a - b;
}

static void group_by_conn(const fl_cc_task *tasks, int *idx, int n)
{
    sort_tasks = tasks; /* the JobMaster's thread only */
    qsort(idx, (size_t)n, sizeof *idx, by_conn);
}

/* Tasks a message to a TaskManager covers together: same connection, same attempt (the
 * messages carry one attempt; regions restarted apart have different ones). */
static bool same_run(const fl_cc_task *a, const fl_cc_task *b)
{
    return a->conn == b->conn && a->attempt == b->attempt;
}

static void send_notify(fl_cc *cc, pending *p, bool aborted)
{
    int *idx = fl_xmalloc(((size_t)p->ntasks + 1) * sizeof *idx);
    for (int i = 0; i < p->ntasks; i++)
        idx[i] = i;
    group_by_conn(p->tasks, idx, p->ntasks);
    for (int i = 0; i < p->ntasks; i++) {
        if (i > 0 && same_run(&p->tasks[idx[i]], &p->tasks[idx[i - 1]]))
            continue; /* one per TaskManager and attempt */
        Fl__Pb__NotifyCheckpoint n = FL__PB__NOTIFY_CHECKPOINT__INIT;
        n.job_id = cc->job_id;
        n.attempt = p->tasks[idx[i]].attempt;
        n.checkpoint_id = p->id;
        n.aborted = aborted;
        n.leader_session_id = (char *)fl_leader_term_session(cc->env.term);
        fl_rpc_send(cc->env.rpc, p->tasks[idx[i]].conn, FL_RPC_NOTIFY_CHECKPOINT, &n.base);
    }
    free(idx);
}

static void free_pending(pending *p)
{
    fl__pb__checkpoint_metadata__free_unpacked(p->meta, NULL);
    for (int i = 0; i < p->ntasks; i++)
        fl_rpc_msg_free(p->acks[i]);
    free(p->acks);
    free(p->tasks);
    if (p->timeout)
        event_free(p->timeout);
    free(p);
}

static void unlink_pending(fl_cc *cc, pending *p)
{
    for (pending **pp = &cc->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            cc->npending--;
            return;
        }
}

/* Gives a pending checkpoint up. counts: a real failure (not a stop). */
static void abort_pending(fl_cc *cc, pending *p, const char *why, bool counts)
{
    unlink_pending(cc, p);
    fl_warn("Checkpoint %lld of job %s %s: %s", (long long)p->id, cc->job_id,
            p->savepoint ? "(savepoint) failed" : "aborted", why);
    send_notify(cc, p, true);
    fl_cc_drop_dir(cc, p->dir);
    if (!p->savepoint)
        fl_cc_sweep_soon(cc); /* its tasks may still write there */
    hist *h = fl_cc_history_find(cc, p->id);
    if (h) {
        h->status = "FAILED";
        h->duration = fl_mono_ms() - p->start_mono;
        snprintf(h->failure, sizeof h->failure, "%s", why);
        fl_cc_set_latest(&cc->latest_failed, h);
        cc->has_failed = true;
    }
    cc->nfailed++;
    if (p->savepoint && cc->env.savepoint_done)
        cc->env.savepoint_done(cc->env.jm, p->token, NULL, why);
    bool periodic = !p->savepoint;
    free_pending(p);
    if (counts && periodic) {
        if (++cc->failures_in_row > cc->tolerable) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "Exceeded checkpoint tolerable failure threshold (%d; "
                     "execution.checkpointing.tolerable-failed-checkpoints): %.300s",
                     cc->tolerable, why);
            cc->failures_in_row = 0;
            cc->env.fail(cc->env.jm, msg);
        }
    }
    cc->env.changed(cc->env.jm);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    pending *p = arg;
    abort_pending(p->cc, p, "Checkpoint expired before completing "
                            "(execution.checkpointing.timeout).", true);
}

/* ---- retention -------------------------------------------------------------------- */

static bool references(const Fl__Pb__CheckpointMetadata *m, const char *path)
{
    for (size_t o = 0; o < m->n_operators; o++)
        for (size_t s = 0; s < m->operators[o]->n_subtasks; s++) {
            const Fl__Pb__OperatorSubtaskState *st = m->operators[o]->subtasks[s];
            for (size_t k = 0; k < st->n_keyed; k++)
                for (size_t f = 0; f < st->keyed[k]->n_files; f++)
                    if (!strcmp(st->keyed[k]->files[f]->path, path))
                        return true;
        }
    return false;
}

static void delete_checkpoint(fl_cc *cc, completed *c)
{
    fl_err err;
    /* shared files (incremental) stay while a retained checkpoint references them; the
     * handles were checked when acknowledged (fl_path_is_handle) and the walk to the file
     * follows no symlink */
    for (size_t o = 0; c->meta && o < c->meta->n_operators; o++)
        for (size_t s = 0; s < c->meta->operators[o]->n_subtasks; s++) {
            const Fl__Pb__OperatorSubtaskState *st = c->meta->operators[o]->subtasks[s];
            for (size_t k = 0; k < st->n_keyed; k++)
                for (size_t f = 0; f < st->keyed[k]->n_files; f++) {
                    const char *path = st->keyed[k]->files[f]->path;
                    if (strncmp(path, FL_HANDLE_SHARED, strlen(FL_HANDLE_SHARED)) ||
                        !fl_path_is_handle(path))
                        continue;
                    bool used = false;
                    for (completed *x = cc->done; x && !used; x = x->next)
                        used = x != c && x->meta && references(x->meta, path);
                    /* "../shared/NAME" of chk-N/ is shared/NAME of the job's directory */
                    const char *name = path + 3;
                    if (!used && fl_fs_delete_many(cc->base, &name, 1, &err) < 0)
                        fl_warn("Checkpoint %lld of job %s: %s", (long long)c->id, cc->job_id,
                                err.msg);
                }
        }
    fl_cc_drop_dir(cc, c->dir);
    fl__pb__checkpoint_metadata__free_unpacked(c->meta, NULL);
    free(c);
}

static void retain(fl_cc *cc)
{
    int n = 0;
    completed **pp = &cc->done;
    while (*pp) {
        completed *c = *pp;
        if (!c->savepoint && ++n > cc->retained) {
            *pp = c->next;
            fl_debug("Deleting checkpoint %lld of job %s (state.checkpoints.num-retained %d)",
                    (long long)c->id, cc->job_id, cc->retained);
            delete_checkpoint(cc, c);
            continue;
        }
        pp = &c->next;
    }
}

/* ---- completing ------------------------------------------------------------------- */

static void finish(fl_cc *cc, pending *p, Fl__Pb__CheckpointMetadata *copy, bool notify);

static void complete(fl_cc *cc, pending *p)
{
    fl_err err;
    const Fl__Pb__JobGraph *g = cc->env.g;
    Fl__Pb__CheckpointMetadata m = FL__PB__CHECKPOINT_METADATA__INIT;
    m.job_id = cc->job_id;
    m.checkpoint_id = p->id;
    m.timestamp = p->ts;
    m.savepoint = p->savepoint;
    size_t nops = 0;
    for (size_t v = 0; v < g->n_vertices; v++)
        nops += g->vertices[v]->n_chain;
    Fl__Pb__OperatorState *ops = fl_xcalloc(nops + 1, sizeof *ops);
    Fl__Pb__OperatorState **opp = fl_xcalloc(nops + 1, sizeof *opp);
    Fl__Pb__OperatorSubtaskState ***subs = fl_xcalloc(nops + 1, sizeof *subs);
    size_t k = 0;
    for (size_t v = 0; v < g->n_vertices; v++) {
        const Fl__Pb__JobVertex *jv = g->vertices[v];
        for (size_t c = 0; c < jv->n_chain; c++, k++) {
            Fl__Pb__OperatorState *os = &ops[k];
            fl__pb__operator_state__init(os);
            os->uid = jv->chain[c]->uid;
            os->name = jv->chain[c]->name;
            os->parallelism = jv->parallelism;
            os->max_parallelism = jv->max_parallelism;
            subs[k] = fl_xcalloc((size_t)p->ntasks + 1, sizeof **subs);
            os->subtasks = subs[k];
            for (int i = 0; i < p->ntasks; i++) {
                if (p->tasks[i].vertex != jv->id || !p->acks[i])
                    continue;
                Fl__Pb__AcknowledgeCheckpoint *a = (Fl__Pb__AcknowledgeCheckpoint *)p->acks[i]->pb;
                for (size_t o = 0; o < a->n_operators; o++)
                    if (!strcmp(a->operators[o]->uid, os->uid))
                        os->subtasks[os->n_subtasks++] = a->operators[o];
            }
            opp[k] = os;
        }
    }
    m.n_operators = nops;
    m.operators = opp;
    int rc = fl_cc_write_metadata(p->dir, &m, &err);
    /* our own copy of the metadata: the acknowledgements go away now */
    Fl__Pb__CheckpointMetadata *copy = NULL;
    if (rc == 0) {
        size_t n = protobuf_c_message_get_packed_size(&m.base);
        uint8_t *buf = fl_xmalloc(n);
        protobuf_c_message_pack(&m.base, buf);
        copy = fl__pb__checkpoint_metadata__unpack(NULL, n, buf);
        free(buf);
    }
    for (size_t i = 0; i < nops; i++)
        free(subs[i]);
    free(subs);
    free(opp);
    free(ops);
    if (rc < 0) {
        abort_pending(cc, p, err.msg, true);
        return;
    }
    if (!cc->store) {
        finish(cc, p, copy, true);
        return;
    }
    /* high availability: recorded in ZooKeeper (with the pointers of the checkpoints it
     * subsumes removed) before any task hears of it; a timeout no longer applies */
    p->recording = true;
    p->meta = copy;
    if (p->timeout)
        evtimer_del(p->timeout);
    int64_t *drop = fl_xcalloc((size_t)cc->retained + 1, sizeof *drop);
    int ndrop = 0, kept = 1;
    for (completed *c = cc->done; c && !p->savepoint; c = c->next)
        if (!c->savepoint && ++kept > cc->retained) {
            drop = fl_xrealloc(drop, (size_t)(ndrop + 1) * sizeof *drop);
            drop[ndrop++] = c->id;
        }
    fl_ha_job_record(cc->store, p->id, p->dir, p->savepoint, drop, ndrop);
    free(drop);
}

/* A checkpoint is complete (and, with high availability, recorded): it joins the completed
 * ones, its tasks hear of it (notify: its attempt still runs), older ones go. */
static void finish(fl_cc *cc, pending *p, Fl__Pb__CheckpointMetadata *copy, bool notify)
{
    unlink_pending(cc, p);
    int64_t duration = fl_mono_ms() - p->start_mono;
    fl_info("Completed checkpoint %lld for job %s (%llu bytes, %lld ms)%s.", (long long)p->id,
            cc->job_id, (unsigned long long)p->size, (long long)duration,
            p->savepoint ? " as a savepoint" : "");
    completed *c = fl_xcalloc(1, sizeof *c);
    c->id = p->id;
    c->ts = p->ts;
    c->savepoint = p->savepoint;
    snprintf(c->dir, sizeof c->dir, "%s", p->dir);
    c->meta = copy;
    c->next = cc->done;
    cc->done = c;
    if (notify)
        send_notify(cc, p, false);
    hist *h = fl_cc_history_find(cc, p->id);
    if (h) {
        h->status = "COMPLETED";
        h->duration = duration;
        h->size = p->size;
        h->ack_ts = p->last_ack_ms;
        h->nacked = p->acked;
        h->alignment = p->alignment_ms;
        fl_fs_display(p->dir, h->path, sizeof h->path);
        if (p->savepoint) {
            fl_cc_set_latest(&cc->latest_savepoint, h);
            cc->has_savepoint = true;
        } else {
            fl_cc_set_latest(&cc->latest_completed, h);
            cc->has_completed = true;
        }
    }
    cc->ncompleted++;
    cc->failures_in_row = 0;
    cc->last_completion_mono = fl_mono_ms();
    if (p->savepoint && cc->env.savepoint_done)
        cc->env.savepoint_done(cc->env.jm, p->token, p->dir, NULL);
    free_pending(p);
    retain(cc);
    if (cc->sweeps_due > 0 && !c->savepoint) {
        cc->sweeps_due--;
        fl_cc_sweep(cc, c->id);
    }
    cc->env.changed(cc->env.jm);
}

/* ---- triggering ------------------------------------------------------------------- */

static bool is_source(const Fl__Pb__JobGraph *g, int vertex)
{
    return g->vertices[vertex]->n_inputs == 0;
}

static int trigger(fl_cc *cc, bool savepoint, const char *sdir, uint64_t token, int64_t id,
                   fl_err *err)
{
    const fl_cc_task *tasks;
    int n = cc->env.tasks(cc->env.jm, &tasks);
    if (n <= 0) {
        fl_err_set(err, "the job is not running (not all its tasks are)");
        return -1;
    }
    if (id >= cc->next_id)
        cc->next_id = id + 1;
    pending *p = fl_xcalloc(1, sizeof *p);
    p->cc = cc;
    p->id = id;
    p->ts = fl_now_ms();
    p->start_mono = fl_mono_ms();
    p->savepoint = savepoint;
    p->token = token;
    if (savepoint) {
        char rnd[13];
        fl_random_hex(rnd, 6);
        snprintf(p->dir, sizeof p->dir, "%s/savepoint-%.6s-%s", sdir, cc->job_id, rnd);
        /* (sdir is at most SAVEPOINT_DIR_MAX: the directory fits a barrier) */
    } else {
        snprintf(p->dir, sizeof p->dir, "%.990s/chk-%lld", cc->base, (long long)id);
    }
    if (fl_fs_mkdirs(p->dir, err) < 0 || fl_fs_mkdirs(cc->shared, err) < 0) {
        if (savepoint) {
            free(p);
            return -1;
        }
        /* unwritable storage: a failed checkpoint, counted against the tolerable ones */
        hist h = {.id = id, .trigger_ts = p->ts, .status = "IN_PROGRESS"};
        fl_cc_history_add(cc, &h);
        cc->total++;
        abort_pending(cc, p, err->msg, true);
        return 0;
    }
    p->tasks = fl_xcalloc((size_t)n, sizeof *p->tasks);
    p->acks = fl_xcalloc((size_t)n, sizeof *p->acks);
    for (int i = 0; i < n; i++)
        if (!tasks[i].finished)
            p->tasks[p->ntasks++] = tasks[i];
    /* savepoints are always aligned: they must be restorable at another parallelism */
    bool unaligned = cc->unaligned && cc->exactly_once && !savepoint &&
                     fl_conf_get_duration_ms(cc->env.conf,
                                             "execution.checkpointing.aligned-checkpoint-timeout") == 0;
    /* the trigger goes to the source tasks, grouped per TaskManager */
    int nsent = 0, nsrc = 0;
    int *idx = fl_xmalloc(((size_t)p->ntasks + 1) * sizeof *idx);
    int32_t *vs = fl_xcalloc((size_t)p->ntasks + 1, sizeof *vs);
    int32_t *ss = fl_xcalloc((size_t)p->ntasks + 1, sizeof *ss);
    for (int i = 0; i < p->ntasks; i++)
        if (is_source(cc->env.g, p->tasks[i].vertex))
            idx[nsrc++] = i;
    group_by_conn(p->tasks, idx, nsrc);
    for (int r = 0; r < nsrc;) {
        int i = idx[r];
        size_t m = 0;
        for (; r < nsrc && same_run(&p->tasks[idx[r]], &p->tasks[i]); r++) {
            vs[m] = p->tasks[idx[r]].vertex;
            ss[m++] = p->tasks[idx[r]].subtask;
        }
        Fl__Pb__TriggerCheckpoint t = FL__PB__TRIGGER_CHECKPOINT__INIT;
        t.job_id = cc->job_id;
        t.attempt = p->tasks[i].attempt;
        t.checkpoint_id = id;
        t.timestamp = p->ts;
        t.savepoint = savepoint;
        t.dir = p->dir;
        t.shared_dir = cc->shared;
        t.n_vertex = t.n_subtask = m;
        t.vertex = vs;
        t.subtask = ss;
        t.exactly_once = cc->exactly_once;
        t.drain = savepoint && token && token == cc->drain_token;
        t.leader_session_id = (char *)fl_leader_term_session(cc->env.term);
        t.unaligned = unaligned;
        fl_rpc_send(cc->env.rpc, p->tasks[i].conn, FL_RPC_TRIGGER_CHECKPOINT, &t.base);
        nsent++;
    }
    free(idx);
    free(vs);
    free(ss);
    p->next = cc->pending;
    cc->pending = p;
    cc->npending++;
    cc->total++;
    p->timeout = evtimer_new(cc->env.base, on_timeout, p);
    struct timeval tv = {cc->timeout / 1000, (cc->timeout % 1000) * 1000};
    evtimer_add(p->timeout, &tv);
    hist h = {.id = id, .trigger_ts = p->ts, .status = "IN_PROGRESS", .savepoint = savepoint,
              .nsub = p->ntasks,
              .subs = fl_cc_subs_new(p, unaligned)};
    fl_cc_history_add(cc, &h);
    fl_debug("Triggering checkpoint %lld of job %s at %d source TaskManagers", (long long)id,
             cc->job_id, nsent);
    return 0;
}

/* Whether a periodic checkpoint may start now. */
static bool may_trigger(const fl_cc *cc)
{
    if (!cc->running || cc->npending >= cc->max_concurrent ||
        !fl_leader_term_is_active(cc->env.term))
        return false;
    return !cc->last_completion_mono ||
           fl_mono_ms() - cc->last_completion_mono >= cc->min_pause;
}

/* With a store: asks it for an id for r (answered in order by fl_cc_on_id). */
static void ask_id(fl_cc *cc, id_request *r)
{
    r->next = NULL;
    *cc->ids_tail = r;
    cc->ids_tail = &r->next;
    fl_ha_job_next_id(cc->store, cc->next_id);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    fl_cc *cc = arg;
    fl_err err;
    if (!may_trigger(cc))
        return;
    if (cc->store) {
        for (id_request *r = cc->ids; r; r = r->next)
            if (!r->savepoint)
                return; /* one asked for already */
        ask_id(cc, fl_xcalloc(1, sizeof(id_request)));
        return;
    }
    if (trigger(cc, false, NULL, 0, cc->next_id, &err) < 0)
        fl_debug("checkpoint not triggered: %s", err.msg);
}

void fl_cc_on_id(void *arg, int64_t id, const char *why)
{
    fl_cc *cc = arg;
    fl_err err;
    id_request *r = cc->ids;
    if (!r)
        return;
    cc->ids = r->next;
    if (!cc->ids)
        cc->ids_tail = &cc->ids;
    if (id < 0) {
        if (r->savepoint)
            cc->env.savepoint_done(cc->env.jm, r->token, NULL, why);
        else
            fl_debug("Job %s: no checkpoint id: %s", cc->job_id, why);
    } else if (r->savepoint) {
        if (trigger(cc, true, r->dir, r->token, id, &err) < 0)
            cc->env.savepoint_done(cc->env.jm, r->token, NULL, err.msg);
    } else if (may_trigger(cc) && trigger(cc, false, NULL, 0, id, &err) < 0) {
        fl_debug("checkpoint not triggered: %s", err.msg);
    }
    free(r);
}

void fl_cc_on_recorded(void *arg, int64_t id, int status, const char *why)
{
    fl_cc *cc = arg;
    pending *p;
    for (p = cc->pending; p && !(p->id == id && p->recording); p = p->next)
        ;
    if (!p)
        return;
    if (status == 0 && fl_leader_term_state(cc->env.term) == FL_TERM_REVOKED) {
        /* recorded, but another JobManager may lead by now: the checkpoint is its */
        fl_info("Checkpoint %lld of job %s was recorded, but this JobManager no longer leads; "
                "not completing it here", (long long)id, cc->job_id);
        unlink_pending(cc, p);
        free_pending(p);
        return;
    }
    if (status == 0 && !fl_leader_term_is_active(cc->env.term)) {
        p->recorded = true; /* suspended: nothing completes until the term is back */
        return;
    }
    if (status == 0) {
        Fl__Pb__CheckpointMetadata *meta = p->meta;
        p->meta = NULL;
        finish(cc, p, meta, !p->orphan);
        return;
    }
    /* not recorded: no task may commit it, and its files stay (a transaction lost with
     * the connection may have recorded it after all; a new leader would restore it) */
    fl_warn("Checkpoint %lld of job %s is not recorded in ZooKeeper: %s; it does not complete "
            "here", (long long)id, cc->job_id, why);
    unlink_pending(cc, p);
    hist *h = fl_cc_history_find(cc, p->id);
    if (h) {
        h->status = "FAILED";
        snprintf(h->failure, sizeof h->failure, "not recorded: %.200s", why);
        fl_cc_set_latest(&cc->latest_failed, h);
        cc->has_failed = true;
    }
    cc->nfailed++;
    if (p->savepoint && cc->env.savepoint_done)
        cc->env.savepoint_done(cc->env.jm, p->token, NULL, why);
    free_pending(p);
    cc->env.changed(cc->env.jm);
}

void fl_cc_resume(fl_cc *cc)
{
    for (pending *p = cc->pending, *next; p; p = next) {
        next = p->next;
        if (p->recorded) {
            Fl__Pb__CheckpointMetadata *meta = p->meta;
            p->meta = NULL;
            finish(cc, p, meta, !p->orphan);
        }
    }
}

void fl_cc_trigger_savepoint(fl_cc *cc, const char *dir, uint64_t token, bool drain)
{
    if (drain)
        cc->drain_token = token;
    fl_err err;
    const char *d = dir && *dir ? dir : cc->savepoint_dir[0] ? cc->savepoint_dir : NULL;
    if (!d) {
        cc->env.savepoint_done(cc->env.jm, token, NULL,
                               "No savepoint directory: give one (flint savepoint JOBID DIR) or "
                               "set state.savepoints.dir.");
        return;
    }
    const char *sdir = fl_fs_local_path(d); /* s3:// stays as it is */
    if (strlen(sdir) > SAVEPOINT_DIR_MAX || !*sdir) {
        snprintf(err.msg, sizeof err.msg, "The savepoint directory must be 1 to %d bytes long, "
                                          "not %zu.", SAVEPOINT_DIR_MAX, strlen(sdir));
        cc->env.savepoint_done(cc->env.jm, token, NULL, err.msg);
        return;
    }
    if (cc->store) {
        id_request *r = fl_xcalloc(1, sizeof *r);
        r->savepoint = true;
        r->token = token;
        snprintf(r->dir, sizeof r->dir, "%s", sdir);
        ask_id(cc, r);
        return;
    }
    if (trigger(cc, true, sdir, token, cc->next_id, &err) < 0)
        cc->env.savepoint_done(cc->env.jm, token, NULL, err.msg);
}

void fl_cc_on_ack(fl_cc *cc, fl_rpc_msg *msg)
{
    Fl__Pb__AcknowledgeCheckpoint *a = (Fl__Pb__AcknowledgeCheckpoint *)msg->pb;
    pending *p;
    for (p = cc->pending; p && p->id != a->checkpoint_id; p = p->next)
        ;
    if (!p || p->recording) {
        fl_rpc_msg_free(msg);
        return;
    }
    /* the tasks are in (vertex, subtask) order (the JobMaster lists them so): a binary
     * search, not a scan per acknowledgement (O(subtasks^2) a checkpoint at 20,000) */
    int i = 0, hi = p->ntasks;
    while (i < hi) {
        int mid = i + (hi - i) / 2;
        const fl_cc_task *t = &p->tasks[mid];
        if (t->vertex < a->vertex || (t->vertex == a->vertex && t->subtask < a->subtask))
            i = mid + 1;
        else
            hi = mid;
    }
    if (i == p->ntasks || p->tasks[i].vertex != a->vertex || p->tasks[i].subtask != a->subtask ||
        p->tasks[i].attempt != a->attempt) {
        fl_rpc_msg_free(msg);
        return;
    }
    if (p->tasks[i].conn != msg->conn) {
        /* only the TaskManager running the task speaks for it */
        fl_warn_every(10, "Checkpoint %lld of job %s: refusing the %s of task %d.%d from %s: "
                      "that task runs on another TaskManager",
                      (long long)p->id, cc->job_id, a->declined ? "decline" : "acknowledgement",
                      a->vertex, a->subtask, msg->peer);
        fl_rpc_msg_free(msg);
        return;
    }
    fl_err err;
    bool bad = !a->declined &&
               fl_cc_check_handles(a->operators, a->n_operators, p->dir, &err) < 0;
    if (a->declined || bad) {
        char why[700];
        if (bad)
            snprintf(why, sizeof why, "task %d.%d acknowledged an invalid state handle: %.600s",
                     a->vertex, a->subtask, err.msg);
        else
            snprintf(why, sizeof why, "declined by task %d.%d: %.500s", a->vertex, a->subtask,
                     a->reason);
        /* a task that finished while the trigger was on its way: the next checkpoint knows
         * it finished; nothing failed, so it does not count against the tolerable ones */
        bool counts = bad || !a->task_not_running;
        fl_rpc_msg_free(msg);
        abort_pending(cc, p, why, counts);
        return;
    }
    if (p->acks[i]) { /* duplicate */
        fl_rpc_msg_free(msg);
        return;
    }
    p->acks[i] = msg;
    p->acked++;
    p->size += a->state_size;
    p->last_ack_ms = fl_now_ms();
    if ((int64_t)a->alignment_ms > p->alignment_ms)
        p->alignment_ms = (int64_t)a->alignment_ms;
    hist *h = fl_cc_history_find(cc, p->id);
    if (h) {
        h->nacked = p->acked;
        fl_cc_stats_ack(h, i, a, p->last_ack_ms);
    }
    if (p->acked == p->ntasks)
        complete(cc, p);
}

/* ---- life cycle ------------------------------------------------------------------- */

fl_cc *fl_cc_new(const fl_cc_env *env, fl_err *err)
{
    fl_cc *cc = fl_xcalloc(1, sizeof *cc);
    cc->env = *env;
    const fl_conf *conf = env->conf;
    snprintf(cc->job_id, sizeof cc->job_id, "%s", env->g->job_id);
    cc->enabled = fl_conf_contains(conf, "execution.checkpointing.interval") &&
                  fl_conf_get_duration_ms(conf, "execution.checkpointing.interval") > 0;
    cc->interval = fl_conf_get_duration_ms(conf, "execution.checkpointing.interval");
    cc->timeout = FL_MAX(1, fl_conf_get_duration_ms(conf, "execution.checkpointing.timeout"));
    cc->min_pause = fl_conf_get_duration_ms(conf, "execution.checkpointing.min-pause");
    cc->max_concurrent =
        (int)FL_MAX(1, fl_conf_get_int(conf, "execution.checkpointing.max-concurrent-checkpoints"));
    cc->tolerable = (int)FL_MAX(0, fl_conf_get_int(conf, "execution.checkpointing.tolerable-failed-checkpoints"));
    cc->retained = (int)FL_MAX(1, fl_conf_get_int(conf, "state.checkpoints.num-retained"));
    const char *mode = fl_conf_get_str(conf, "execution.checkpointing.mode");
    cc->exactly_once = !mode || strcasecmp(mode, "AT_LEAST_ONCE") != 0;
    cc->unaligned = fl_conf_get_bool(conf, "execution.checkpointing.unaligned.enabled");
    cc->incremental = fl_conf_get_bool(conf, "state.backend.incremental");
    const char *dir = fl_conf_get_str(conf, "state.checkpoints.dir");
    if (!dir || !*dir)
        dir = "/tmp/flint-checkpoints";
    if (fl_fs_check(dir, err) < 0)
        goto fail;
    dir = fl_fs_local_path(dir);
    /* a barrier carries chk-N/ and shared/: both must fit (path.h) */
    if (strlen(dir) > CHECKPOINTS_DIR_MAX) {
        fl_err_set(err, "state.checkpoints.dir must be at most %d bytes long, not %zu",
                   CHECKPOINTS_DIR_MAX, strlen(dir));
        goto fail;
    }
    snprintf(cc->base, sizeof cc->base, "%s/%s", dir, cc->job_id);
    snprintf(cc->shared, sizeof cc->shared, "%s/shared", cc->base);
    const char *sp = fl_conf_get_str(conf, "state.savepoints.dir");
    if (sp && *sp) {
        if (fl_fs_check(sp, err) < 0)
            goto fail;
        sp = fl_fs_local_path(sp);
        if (strlen(sp) > SAVEPOINT_DIR_MAX) {
            fl_err_set(err, "state.savepoints.dir must be at most %d bytes long, not %zu",
                       SAVEPOINT_DIR_MAX, strlen(sp));
            goto fail;
        }
        snprintf(cc->savepoint_dir, sizeof cc->savepoint_dir, "%s", sp);
    }
    cc->next_id = 1;
    cc->ids_tail = &cc->ids;
    cc->hist_cap = (int)FL_MAX(1, fl_conf_get_int(conf, "web.checkpoints.history"));
    cc->history = fl_xcalloc((size_t)cc->hist_cap, sizeof *cc->history);
    cc->timer = event_new(env->base, -1, EV_PERSIST, on_tick, cc);
    if (cc->enabled) {
        struct timeval tv = {cc->interval / 1000, (cc->interval % 1000) * 1000};
        event_add(cc->timer, &tv);
    }
    return cc;
fail:
    free(cc);
    return NULL;
}

bool fl_cc_enabled(const fl_cc *cc)
{
    return cc->enabled;
}

void fl_cc_start(fl_cc *cc)
{
    cc->running = cc->enabled;
    if (cc->enabled && !cc->swept) {
        cc->swept = true;
        fl_cc_sweep(cc, 0);
    }
}

void fl_cc_stop(fl_cc *cc)
{
    cc->running = false;
    /* those being recorded finish recording (they may be in ZooKeeper already) */
    for (pending *p = cc->pending, *next; p; p = next) {
        next = p->next;
        if (p->recording)
            p->orphan = true;
        else
            abort_pending(cc, p, "the job attempt ended", false);
    }
}

void fl_cc_set_store(fl_cc *cc, fl_ha_job *hj)
{
    cc->store = hj;
}

int fl_cc_retained(const fl_cc *cc)
{
    int n = 0;
    for (const completed *c = cc->done; c; c = c->next)
        n += !c->savepoint;
    return n;
}

void fl_cc_free(fl_cc *cc)
{
    if (!cc)
        return;
    while (cc->pending) {
        pending *p = cc->pending;
        cc->pending = p->next;
        free_pending(p);
    }
    while (cc->done) {
        completed *c = cc->done;
        cc->done = c->next;
        fl__pb__checkpoint_metadata__free_unpacked(c->meta, NULL);
        free(c);
    }
    fl__pb__checkpoint_metadata__free_unpacked(cc->restore_meta, NULL);
    while (cc->ids) {
        id_request *r = cc->ids;
        cc->ids = r->next;
        free(r);
    }
    event_free(cc->timer);
    for (int i = 0; i < cc->nhist; i++)
        fl_ckpt_subs_unref(cc->history[i].subs);
    free(cc->history);
    free(cc);
}
