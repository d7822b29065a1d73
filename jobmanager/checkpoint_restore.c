/* checkpoint_restore.c -- the checkpoint coordinator's side of restoring: the _metadata file
 * a completed checkpoint leaves (magic number, version, CRC; written when
 * checkpoint_coordinator.c completes a checkpoint, read back and checked here), the restore
 * point of a restart (the latest checkpoint that reads back intact) or of flint run -s (a
 * savepoint, checked against the job), and each new task's share of the state: keyed state
 * by key group, operator state kept per subtask (round robin at another parallelism),
 * timers merged; and the retained checkpoints a new leader recovers. The JobMaster asks
 * for the restore point when an attempt starts and for each task's share when it deploys
 * it. JobMaster thread only.
 */
#include "checkpoint_internal.h"
#include "common/fs.h"
#include "common/keygroup.h"
#include "common/log.h"
#include "common/util.h"
#include "jobmanager/ha/ha.h"

#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- metadata files --------------------------------------------------------------- */

/* The _metadata object is written last and in one put (local: temporary file, fsync,
 * rename; S3: one PUT): a checkpoint is complete exactly when it exists, which needs no
 * rename on an object store. */

int fl_cc_write_metadata(const char *dir, const Fl__Pb__CheckpointMetadata *m, fl_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(&m->base);
    uint8_t *buf = fl_xmalloc(META_HDR + n);
    memcpy(buf, META_MAGIC, 4);
    uint16_t version = META_VERSION, flags = m->savepoint ? 1 : 0;
    memcpy(buf + 4, &version, 2);
    memcpy(buf + 6, &flags, 2);
    protobuf_c_message_pack(&m->base, buf + META_HDR);
    uint32_t crc = fl_crc32(buf + META_HDR, n);
    memcpy(buf + 8, &crc, 4);
    char path[1100];
    snprintf(path, sizeof path, "%s/_metadata", dir);
    int rc = fl_fs_put(path, buf, META_HDR + n, err);
    free(buf);
    return rc;
}

int fl_cc_check_handles(Fl__Pb__OperatorSubtaskState *const *states, size_t n,
                        const char *dir, fl_err *err)
{
    char parent[1100], parent_dir[1100], full[2200];
    snprintf(parent, sizeof parent, "%s/..", dir);
    /* an object store has no "..": the prefix above dir */
    snprintf(parent_dir, sizeof parent_dir, "%s", dir);
    char *slash = strrchr(parent_dir, '/');
    if (slash)
        *slash = '\0';
    for (size_t s = 0; s < n; s++) {
        const Fl__Pb__OperatorSubtaskState *st = states[s];
        for (int w = 0; w < 2; w++) {
            size_t nh = w ? st->n_broadcast : st->n_keyed;
            Fl__Pb__KeyedStateHandle **hs = w ? st->broadcast : st->keyed;
            for (size_t k = 0; k < nh; k++)
                for (size_t f = 0; f < hs[k]->n_files; f++) {
                    const char *rel = hs[k]->files[f]->path;
                    if (!fl_path_is_handle(rel)) {
                        fl_err_set(err, "the state file '%.300s' is not a relative path "
                                        "inside the checkpoint", rel);
                        return -1;
                    }
                    bool shared = !strncmp(rel, FL_HANDLE_SHARED, strlen(FL_HANDLE_SHARED));
                    if (shared && fl_fs_is_remote(dir)) /* "../shared/N": parent_dir/shared/N */
                        snprintf(full, sizeof full, "%s/%s", parent_dir, rel + 3);
                    else
                        snprintf(full, sizeof full, "%s/%s", dir, rel);
                    /* local: symlinks resolved; S3: plain names below the prefix */
                    if (fl_fs_is_remote(dir)
                            ? fl_fs_check_below(shared ? parent_dir : dir, full, false, err) < 0
                            : fl_path_check_inside(shared ? parent : dir, full, err) < 0) {
                        fl_err_prefix(err, "the state file '%s' lies outside the checkpoint",
                                      rel);
                        return -1;
                    }
                }
        }
    }
    return 0;
}

/* Every state file a _metadata names must lie in its checkpoint's directory, or for
 * "../shared/" files in the job's directory above it, with all symlinks resolved: nothing
 * outside is ever handed to a TaskManager to read. */
static int check_handles(const Fl__Pb__CheckpointMetadata *m, const char *dir, fl_err *err)
{
    for (size_t o = 0; o < m->n_operators; o++)
        if (fl_cc_check_handles(m->operators[o]->subtasks, m->operators[o]->n_subtasks, dir,
                                err) < 0) {
            fl_err_prefix(err, "%s/_metadata", dir);
            return -1;
        }
    return 0;
}

Fl__Pb__CheckpointMetadata *fl_cc_load_metadata(const char *dir, fl_err *err)
{
    char path[1100], *data;
    size_t len;
    snprintf(path, sizeof path, "%s/_metadata", dir);
    if (fl_fs_get(path, &data, &len, err) < 0)
        return NULL;
    Fl__Pb__CheckpointMetadata *m = NULL;
    uint16_t version;
    uint32_t crc;
    if (len < META_HDR) {
        fl_err_set(err, "%s is truncated (%zu bytes)", path, len);
    } else if (memcmp(data, META_MAGIC, 4) != 0) {
        fl_err_set(err, "%s is not a Flint checkpoint (bad magic number)", path);
    } else if (memcpy(&version, data + 4, 2), version != META_VERSION) {
        fl_err_set(err, "%s has version %u; this Flint reads version %u", path, version,
                   META_VERSION);
    } else if (memcpy(&crc, data + 8, 4),
               crc != fl_crc32(data + META_HDR, len - META_HDR)) {
        fl_err_set(err, "%s is damaged (checksum mismatch; truncated or altered)", path);
    } else if (!(m = fl__pb__checkpoint_metadata__unpack(NULL, len - META_HDR,
                                                        (uint8_t *)data + META_HDR))) {
        fl_err_set(err, "%s does not decode", path);
    }
    free(data);
    if (m && check_handles(m, dir, err) < 0) {
        fl__pb__checkpoint_metadata__free_unpacked(m, NULL);
        m = NULL;
    }
    return m;
}

/* A new leader's retained checkpoints (high availability), oldest first: each becomes a
 * completed one, its _metadata read now (one that cannot be read stays, and is refused as a
 * restore point with its reason). */
void fl_cc_recover(fl_cc *cc, const fl_ha_checkpoint *ck, int n)
{
    for (int i = 0; i < n; i++) {
        fl_err err;
        completed *c = fl_xcalloc(1, sizeof *c);
        c->id = ck[i].id;
        snprintf(c->dir, sizeof c->dir, "%s", ck[i].dir);
        c->meta = fl_cc_load_metadata(c->dir, &err);
        if (!c->meta)
            fl_warn("Job %s: retained checkpoint %lld cannot be read: %s", cc->job_id,
                    (long long)c->id, err.msg);
        else
            c->ts = c->meta->timestamp;
        c->next = cc->done;
        cc->done = c;
        if (c->id >= cc->next_id)
            cc->next_id = c->id + 1;
    }
}

/* ---- restoring -------------------------------------------------------------------- */

const Fl__Pb__CheckpointMetadata *fl_cc_restore_point(fl_cc *cc, const char **dir)
{
    for (completed *c = cc->done; c; c = c->next) {
        if (c->savepoint)
            continue;
        fl_err err;
        Fl__Pb__CheckpointMetadata *m = fl_cc_load_metadata(c->dir, &err);
        if (!m) {
            fl_warn("Refusing checkpoint %lld of job %s: %s; trying an older one",
                    (long long)c->id, cc->job_id, err.msg);
            continue;
        }
        fl__pb__checkpoint_metadata__free_unpacked(cc->restore_meta, NULL);
        cc->restore_meta = m;
        snprintf(cc->restore_dir, sizeof cc->restore_dir, "%s", c->dir);
        cc->restored_id = m->checkpoint_id;
        cc->restored_ts = fl_now_ms();
        fl_fs_display(c->dir, cc->restored_path, sizeof cc->restored_path);
        cc->restored_count++;
        *dir = cc->restore_dir;
        return m;
    }
    if (cc->restore_from_savepoint && cc->restore_meta) {
        *dir = cc->restore_dir;
        return cc->restore_meta;
    }
    return NULL;
}

int fl_cc_set_savepoint(fl_cc *cc, const char *path, bool allow_non_restored, fl_err *err)
{
    char dir[1024];
    if (fl_fs_check(path, err) < 0)
        return -1;
    const char *d = fl_fs_local_path(path);
    if (strlen(d) > SAVEPOINT_DIR_MAX + 40 || !*d) {
        fl_err_set(err, "the savepoint path must be 1 to %d bytes long, not %zu",
                   SAVEPOINT_DIR_MAX + 40, strlen(d));
        return -1;
    }
    snprintf(dir, sizeof dir, "%s", d);
    Fl__Pb__CheckpointMetadata *m = fl_cc_load_metadata(dir, err);
    if (!m)
        return -1;
    const Fl__Pb__JobGraph *g = cc->env.g;
    for (size_t o = 0; o < m->n_operators; o++) {
        const Fl__Pb__OperatorState *os = m->operators[o];
        bool has_state = false;
        for (size_t s = 0; s < os->n_subtasks; s++) {
            const Fl__Pb__OperatorSubtaskState *st = os->subtasks[s];
            has_state |= st->n_keyed || st->n_operator_state || st->timers.len || st->n_broadcast;
        }
        Fl__Pb__JobVertex *found = NULL; /* the JobMaster's own graph: adjusted below */
        for (size_t v = 0; v < g->n_vertices && !found; v++)
            for (size_t c = 0; c < g->vertices[v]->n_chain; c++)
                if (!strcmp(g->vertices[v]->chain[c]->uid, os->uid))
                    found = g->vertices[v];
        if (!found && has_state && !allow_non_restored) {
            fl_err_set(err, "Failed to rollback to savepoint %s: it holds state of operator "
                            "'%s' (uid %s), which the job does not have. Run with -n "
                            "(--allowNonRestoredState) to skip it.",
                       path, os->name, os->uid);
            fl__pb__checkpoint_metadata__free_unpacked(m, NULL);
            return -1;
        }
        /* a derived max parallelism gives way to the savepoint's key groups (as Flink's
         * does): the state keeps the key-group count it was written with */
        if (found && has_state && os->max_parallelism != found->max_parallelism &&
            !found->max_parallelism_configured && os->max_parallelism >= found->parallelism &&
            os->max_parallelism >= 1 && os->max_parallelism <= FL_MAX_MAX_PARALLELISM) {
            fl_info("Savepoint %s: operator '%s' keeps the savepoint's max parallelism %d "
                    "(the job derived %d)", path, os->name, os->max_parallelism,
                    found->max_parallelism);
            found->max_parallelism = os->max_parallelism;
        }
        if (found && has_state && os->max_parallelism != found->max_parallelism) {
            fl_err_set(err, "Failed to rollback to savepoint %s: the max parallelism %d of "
                            "operator '%s' (uid %s) in the savepoint differs from its max "
                            "parallelism %d in the job.",
                       path, os->max_parallelism, os->name, os->uid, found->max_parallelism);
            fl__pb__checkpoint_metadata__free_unpacked(m, NULL);
            return -1;
        }
        if (found && found->parallelism > os->max_parallelism) {
            fl_err_set(err, "operator '%s' cannot run with parallelism %d: its state has max "
                            "parallelism %d",
                       os->name, found->parallelism, os->max_parallelism);
            fl__pb__checkpoint_metadata__free_unpacked(m, NULL);
            return -1;
        }
    }
    fl__pb__checkpoint_metadata__free_unpacked(cc->restore_meta, NULL);
    cc->restore_meta = m;
    snprintf(cc->restore_dir, sizeof cc->restore_dir, "%s", dir);
    cc->restore_from_savepoint = true;
    cc->restored_id = m->checkpoint_id;
    cc->restored_ts = fl_now_ms();
    fl_fs_display(dir, cc->restored_path, sizeof cc->restored_path);
    cc->restored_count++;
    if (m->checkpoint_id >= cc->next_id)
        cc->next_id = m->checkpoint_id + 1;
    return 0;
}

/* Joins timer snapshots ([u32 n] then n timers) into one. */
static ProtobufCBinaryData merge_timers(fl_arena *a, ProtobufCBinaryData *parts, int n)
{
    size_t total = 4;
    uint32_t count = 0;
    for (int i = 0; i < n; i++)
        if (parts[i].len >= 4) {
            uint32_t c;
            memcpy(&c, parts[i].data, 4);
            count += c;
            total += parts[i].len - 4;
        }
    uint8_t *buf = fl_arena_alloc(a, total), *w = buf + 4;
    memcpy(buf, &count, 4);
    for (int i = 0; i < n; i++)
        if (parts[i].len >= 4) {
            memcpy(w, parts[i].data + 4, parts[i].len - 4);
            w += parts[i].len - 4;
        }
    return (ProtobufCBinaryData){total, buf};
}

Fl__Pb__TaskRestore *fl_cc_task_restore(fl_arena *a, const Fl__Pb__CheckpointMetadata *m,
                                        const char *dir, const Fl__Pb__JobVertex *jv,
                                        int subtask)
{
    Fl__Pb__TaskRestore *r = fl_arena_alloc(a, sizeof *r);
    fl__pb__task_restore__init(r);
    r->checkpoint_dir = fl_arena_str(a, dir);
    r->checkpoint_id = m->checkpoint_id;
    r->operators = fl_arena_alloc(a, (jv->n_chain + 1) * sizeof *r->operators);
    int first, last;
    fl_key_group_range(subtask, jv->parallelism, jv->max_parallelism, &first, &last);
    for (size_t c = 0; c < jv->n_chain; c++) {
        const Fl__Pb__OperatorState *os = NULL;
        for (size_t o = 0; o < m->n_operators && !os; o++)
            if (!strcmp(m->operators[o]->uid, jv->chain[c]->uid))
                os = m->operators[o];
        if (!os)
            continue;
        Fl__Pb__OperatorSubtaskState *st = fl_arena_alloc(a, sizeof *st);
        fl__pb__operator_subtask_state__init(st);
        st->uid = fl_arena_str(a, os->uid);
        st->subtask = subtask;
        size_t nk = 0, ni = 0;
        for (size_t s = 0; s < os->n_subtasks; s++) {
            nk += os->subtasks[s]->n_keyed;
            ni += os->subtasks[s]->n_operator_state;
        }
        st->keyed = fl_arena_alloc(a, (nk + 1) * sizeof *st->keyed);
        st->operator_state = fl_arena_alloc(a, (ni + 1) * sizeof *st->operator_state);
        ProtobufCBinaryData *tparts = fl_arena_alloc(a, (os->n_subtasks + 1) * sizeof *tparts);
        int nt = 0;
        size_t item = 0;
        /* old subtasks in subtask order, for a stable round robin */
        for (int want = 0; want < (int)os->n_subtasks * 4 + 64; want++) {
            for (size_t s = 0; s < os->n_subtasks; s++) {
                const Fl__Pb__OperatorSubtaskState *old = os->subtasks[s];
                if (old->subtask != want)
                    continue;
                bool overlaps = false;
                for (size_t k = 0; k < old->n_keyed; k++)
                    if (old->keyed[k]->kg_last >= first && old->keyed[k]->kg_first <= last) {
                        st->keyed[st->n_keyed++] = old->keyed[k];
                        overlaps = true;
                    }
                if (old->timers.len && (overlaps || !old->n_keyed))
                    tparts[nt++] = old->timers;
                /* operator state (source positions, sink transactions): a subtask keeps
                 * its own at the same parallelism, else dealt round robin */
                for (size_t k = 0; k < old->n_operator_state; k++, item++)
                    if (os->parallelism == jv->parallelism
                            ? old->subtask == subtask
                            : (int)(item % (size_t)jv->parallelism) == subtask)
                        st->operator_state[st->n_operator_state++] = old->operator_state[k];
                /* in-flight data of an unaligned checkpoint: to the same subtask only */
                if (old->n_channel_state && old->subtask == subtask &&
                    os->parallelism == jv->parallelism) {
                    st->channel_state = old->channel_state;
                    st->n_channel_state = old->n_channel_state;
                }
                if (old->n_broadcast && !st->n_broadcast) {
                    st->broadcast = fl_arena_alloc(a, sizeof *st->broadcast);
                    st->broadcast[0] = old->broadcast[0];
                    st->n_broadcast = 1;
                }
            }
        }
        if (nt)
            st->timers = merge_timers(a, tparts, nt);
        r->operators[r->n_operators++] = st;
    }
    return r;
}
