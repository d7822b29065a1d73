/* checkpoint_stats.c -- the checkpoint coordinator's statistics (issue 12): the history of
 * checkpoints (web.checkpoints.history entries, newest first) with, per checkpoint, what
 * each subtask acknowledged (checkpoint_stats.h), and the REST body of
 * GET /jobs/:jobid/checkpoints. checkpoint_coordinator.c records into it; the JobMaster
 * publishes fl_cc_stats_json and fl_cc_view with its status. JobMaster thread, except the
 * fl_ckpt_subs reference counting (any thread).
 */
#include "checkpoint_internal.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- per-subtask records ---------------------------------------------------------- */

fl_ckpt_subs *fl_ckpt_subs_ref(fl_ckpt_subs *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void fl_ckpt_subs_unref(fl_ckpt_subs *s)
{
    /* acq_rel: the last owner sees every write the others made before letting go */
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

fl_ckpt_subs *fl_ckpt_subs_copy(const fl_ckpt_subs *s)
{
    size_t len = sizeof *s + (size_t)s->n * sizeof s->s[0];
    fl_ckpt_subs *c = fl_xmalloc(len);
    memcpy(c, s, len);
    atomic_init(&c->refs, 1);
    return c;
}

void fl_ckpt_view_free(fl_ckpt_view *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n; i++)
        fl_ckpt_subs_unref(v->v[i]);
    free(v);
}

const fl_ckpt_subs *fl_ckpt_view_find(const fl_ckpt_view *v, int64_t id)
{
    for (int i = 0; v && i < v->n; i++)
        if (v->v[i] && v->v[i]->id == id)
            return v->v[i];
    return NULL;
}

fl_ckpt_subs *fl_cc_subs_new(const pending *p, bool unaligned)
{
    fl_ckpt_subs *s = fl_xcalloc(1, sizeof *s + ((size_t)p->ntasks + 1) * sizeof s->s[0]);
    atomic_init(&s->refs, 1);
    s->id = p->id;
    s->trigger_ts = p->ts;
    s->unaligned = unaligned;
    s->n = p->ntasks;
    for (int i = 0; i < p->ntasks; i++) {
        s->s[i].vertex = p->tasks[i].vertex;
        s->s[i].subtask = p->tasks[i].subtask;
    }
    return s;
}

void fl_cc_stats_ack(hist *h, int i, const Fl__Pb__AcknowledgeCheckpoint *a, int64_t now_ms)
{
    if (!h->subs || i < 0 || i >= h->subs->n)
        return;
    fl_ckpt_sub *s = &h->subs->s[i];
    s->ack_ts = now_ms;
    s->state_size = a->state_size;
    s->persisted = a->persisted_bytes;
    s->sync_ms = (int64_t)a->sync_ms;
    s->async_ms = (int64_t)a->async_ms;
    s->alignment_ms = (int64_t)a->alignment_ms;
    s->start_delay_ms = (int64_t)a->start_delay_ms;
}

/* ---- the history ------------------------------------------------------------------ */

void fl_cc_history_add(fl_cc *cc, const hist *h)
{
    if (cc->nhist == cc->hist_cap)
        fl_ckpt_subs_unref(cc->history[--cc->nhist].subs);
    memmove(&cc->history[1], &cc->history[0], (size_t)cc->nhist * sizeof *h);
    cc->history[0] = *h;
    cc->nhist++;
}

hist *fl_cc_history_find(fl_cc *cc, int64_t id)
{
    for (int i = 0; i < cc->nhist; i++)
        if (cc->history[i].id == id)
            return &cc->history[i];
    return NULL;
}

void fl_cc_set_latest(hist *dst, const hist *h)
{
    *dst = *h;
    dst->subs = NULL;
}

fl_ckpt_view *fl_cc_view(const fl_cc *cc)
{
    fl_ckpt_view *v = fl_xcalloc(1, sizeof *v + ((size_t)cc->nhist + 1) * sizeof v->v[0]);
    v->n = cc->nhist;
    for (int i = 0; i < cc->nhist; i++) {
        const hist *h = &cc->history[i];
        if (!h->subs)
            continue;
        /* one in progress still takes acknowledgements on this thread: a copy; a finished
         * one is never written again: shared */
        v->v[i] = strcmp(h->status, "IN_PROGRESS") ? fl_ckpt_subs_ref(h->subs)
                                                    : fl_ckpt_subs_copy(h->subs);
    }
    return v;
}

/* ---- REST ------------------------------------------------------------------------- */

static json_t *hist_json(const hist *h)
{
    json_t *o = json_pack("{s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:i, s:i}", "id",
                          (json_int_t)h->id, "status", h->status, "is_savepoint", h->savepoint,
                          "trigger_timestamp", (json_int_t)h->trigger_ts,
                          "latest_ack_timestamp", (json_int_t)h->ack_ts, "state_size",
                          (json_int_t)h->size, "end_to_end_duration", (json_int_t)h->duration,
                          "alignment_buffered", (json_int_t)0, "num_subtasks", h->nsub,
                          "num_acknowledged_subtasks", h->nacked);
    json_object_set_new(o, "checkpointed_size", json_integer((json_int_t)h->size));
    json_object_set_new(o, "alignment_duration", json_integer(h->alignment));
    if (h->path[0])
        json_object_set_new(o, "external_path", json_string(h->path));
    if (h->failure[0])
        json_object_set_new(o, "failure_message", json_string(h->failure));
    return o;
}

json_t *fl_cc_stats_json(const fl_cc *cc)
{
    json_t *history = json_array();
    int64_t smin = -1, smax = 0, stot = 0, dmin = -1, dmax = 0, dtot = 0, n = 0;
    for (int i = 0; i < cc->nhist; i++) {
        const hist *h = &cc->history[i];
        json_array_append_new(history, hist_json(h));
        if (strcmp(h->status, "COMPLETED"))
            continue;
        n++;
        stot += (int64_t)h->size, dtot += h->duration;
        if (smin < 0 || (int64_t)h->size < smin)
            smin = (int64_t)h->size;
        if ((int64_t)h->size > smax)
            smax = (int64_t)h->size;
        if (dmin < 0 || h->duration < dmin)
            dmin = h->duration;
        if (h->duration > dmax)
            dmax = h->duration;
    }
    json_t *latest = json_pack("{s:o, s:o, s:o, s:o}", "completed",
                               cc->has_completed ? hist_json(&cc->latest_completed) : json_null(),
                               "savepoint",
                               cc->has_savepoint ? hist_json(&cc->latest_savepoint) : json_null(),
                               "failed", cc->has_failed ? hist_json(&cc->latest_failed) : json_null(),
                               "restored",
                               cc->restored_id
                                   ? json_pack("{s:I, s:I, s:b, s:s}", "id",
                                               (json_int_t)cc->restored_id, "restore_timestamp",
                                               (json_int_t)cc->restored_ts, "is_savepoint",
                                               cc->restore_from_savepoint, "external_path",
                                               cc->restored_path)
                                   : json_null());
    json_t *summary = json_pack(
        "{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}}", "state_size", "min",
        (json_int_t)(smin < 0 ? 0 : smin), "max", (json_int_t)smax, "avg",
        (json_int_t)(n ? stot / n : 0), "end_to_end_duration", "min",
        (json_int_t)(dmin < 0 ? 0 : dmin), "max", (json_int_t)dmax, "avg",
        (json_int_t)(n ? dtot / n : 0));
    return json_pack("{s:{s:I, s:I, s:i, s:I, s:I}, s:o, s:o, s:o}", "counts", "restored",
                     (json_int_t)cc->restored_count, "total", (json_int_t)cc->total,
                     "in_progress", cc->npending, "completed", (json_int_t)cc->ncompleted,
                     "failed", (json_int_t)cc->nfailed, "summary", summary, "latest", latest,
                     "history", history);
}

/* The checkpointing configuration (/jobs/:id/checkpoints/config). */
json_t *fl_cc_config_json(const fl_cc *cc)
{
    const char *backend = fl_conf_get_str(cc->env.conf, "state.backend.type");
    return json_pack(
        "{s:s, s:I, s:I, s:I, s:i, s:{s:b, s:b}, s:s, s:s, s:b, s:i, s:I, s:s}", "mode",
        cc->exactly_once ? "exactly_once" : "at_least_once", "interval",
        (json_int_t)(cc->enabled ? cc->interval : INT64_MAX), "timeout",
        (json_int_t)cc->timeout, "min_pause", (json_int_t)cc->min_pause, "max_concurrent",
        cc->max_concurrent, "externalization", "enabled", 1, "delete_on_cancellation", 0,
        "state_backend",
        backend && !strcmp(backend, "rocksdb") ? "EmbeddedRocksDBStateBackend"
                                               : "HashMapStateBackend",
        "checkpoint_storage", "FileSystemCheckpointStorage", "unaligned_checkpoints",
        cc->unaligned, "tolerable_failed_checkpoints", cc->tolerable,
        "aligned_checkpoint_timeout",
        (json_int_t)fl_conf_get_duration_ms(cc->env.conf,
                                            "execution.checkpointing.aligned-checkpoint-timeout"),
        "checkpoints_dir", cc->base);
}
