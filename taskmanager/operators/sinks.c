/* sinks.c -- the built-in sinks, each behind its const table (operators.h).
 *
 *   print    lines to the TaskManager's standard output (its .out file), prefixed "N> "
 *            with the 1-based subtask when the sink runs with parallelism > 1 (Flink's
 *            PrintSinkFunction); written in whole lines from a per-task buffer
 *   file     part files under a directory, written hidden as .part-<subtask>-<n>.inprogress.
 *            Without checkpointing, the file is renamed to part-<subtask>-<n> when the
 *            input ends. With checkpointing it is a two-phase commit: at checkpoint c the
 *            file is closed and renamed .part-<subtask>-<n>.pending (pre-commit, recorded in
 *            the checkpoint), a new one is started, and pending files are renamed to their
 *            final names when c completes. On restore, the pending files of the restored
 *            checkpoint are committed (idempotent) and leftover in-progress files, whose
 *            records are replayed, are deleted. When a failed job restarts from a checkpoint
 *            older than the newest one that completed (the newest was damaged), the part
 *            files this subtask wrote after the restored checkpoint (numbered from the
 *            checkpoint's next part on and modified after it: never another run's files)
 *            are deleted too: their records are replayed. (A job started with flint run -s
 *            leaves what is there, as Flink.)
 *   discard  nothing
 *   custom   the bundle's fl_sink_fn
 *
 * The text of a record is the format function's output, or the record's bytes.
 */
#include "common/fs.h"
#include "common/log.h"
#include "operators.h"
#include "taskmanager/chain/operator.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUT_BUF (64 * 1024)
#define LINE_MAX_TEXT 65536

typedef struct text_out {
    int fd;
    char *buf;
    size_t len;
    char prefix[16];
    size_t plen;
    fl_format_fn fmt;
    char *line;               /* format scratch */
    /* file sink */
    char dir[4096];
    char inprogress[4200], final_name[4200];
    int subtask, next_part;
    size_t written;           /* bytes in the current in-progress file */
    bool two_phase;           /* checkpointing is on */
    struct pending_part *pending;
    int npending;
} text_out;

typedef struct pending_part {
    int64_t checkpoint;
    char path[4200], final_name[4200];
} pending_part;

/* The other state item: the subtask's first part that can hold records after the
 * checkpoint, and when the checkpoint was taken (wall clock, ns). */
typedef struct part_mark {
    int32_t subtask, first_after;
    int64_t snap_ns;
} part_mark;

static int file_start_part(fl_op *op);

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void text_flush(fl_op *op)
{
    text_out *s = op->state;
    if (s->len && s->fd < 0 && file_start_part(op) < 0)
        return;
    if (s->len && write_all(s->fd, s->buf, s->len) < 0)
        fl_op_fail(op, "%s: cannot write: %s", op->ctx.name, strerror(errno));
    s->written += s->len;
    s->len = 0;
}

static void text_append(fl_op *op, const char *text, size_t n)
{
    text_out *s = op->state;
    size_t need = s->plen + n + 1;
    if (s->len + need > OUT_BUF)
        text_flush(op);
    if (need > OUT_BUF) { /* a huge line: straight through */
        if (s->fd < 0 && file_start_part(op) < 0)
            return;
        s->written += need;
        if (write_all(s->fd, s->prefix, s->plen) < 0 || write_all(s->fd, text, n) < 0 ||
            write_all(s->fd, "\n", 1) < 0)
            fl_op_fail(op, "%s: cannot write: %s", op->ctx.name, strerror(errno));
        return;
    }
    memcpy(s->buf + s->len, s->prefix, s->plen);
    memcpy(s->buf + s->len + s->plen, text, n);
    s->buf[s->len + s->plen + n] = '\n';
    s->len += need;
}

static void process_text(fl_op *op, const fl_rec *in)
{
    text_out *s = op->state;
    if (s->fmt) {
        uint32_t n = s->fmt(in, s->line, LINE_MAX_TEXT);
        text_append(op, s->line, n > LINE_MAX_TEXT ? LINE_MAX_TEXT : n);
    } else {
        /* the bytes as text, without a C string's terminator */
        size_t n = in->len;
        while (n && ((const char *)in->data)[n - 1] == '\0')
            n--;
        text_append(op, in->data, n);
    }
}

static void text_release(fl_op *op)
{
    text_out *s = op->state;
    if (!s)
        return;
    if (s->fd > 2)
        close(s->fd);
    free(s->buf);
    free(s->line);
    free(s->pending);
    free(s);
}

/* Print: flush at the end. */
static void print_finish(fl_op *op)
{
    text_flush(op);
}

static int commit(fl_op *op, const char *from, const char *to)
{
    /* idempotent: already committed is fine (a restore may commit again) */
    if (rename(from, to) < 0 && !(errno == ENOENT && access(to, F_OK) == 0)) {
        fl_op_fail(op, "%s: cannot commit %s: %s", op->ctx.name, to, strerror(errno));
        return -1;
    }
    return 0;
}

/* Closes the current part file (fsync first). */
static int close_part(fl_op *op)
{
    text_out *s = op->state;
    text_flush(op);
    if (s->fd < 0)
        return 0;
    int rc = 0;
    if (fsync(s->fd) < 0) {
        fl_op_fail(op, "%s: fsync %s: %s", op->ctx.name, s->inprogress,
                   strerror(errno));
        rc = -1;
    }
    close(s->fd);
    s->fd = -1;
    return rc;
}

/* File: the input ended: flush, close and publish everything under final names. */
static void file_finish(fl_op *op)
{
    text_out *s = op->state;
    text_flush(op); /* may open the part: the first flush of a small output */
    bool had = s->fd >= 0;
    if (close_part(op) < 0)
        return;
    for (int i = 0; i < s->npending; i++)
        commit(op, s->pending[i].path, s->pending[i].final_name);
    s->npending = 0;
    if (had && !op->view->failure->failed)
        commit(op, s->inprogress, s->final_name);
}

/* Opens the next part file: part-<subtask>-<n> with the first n not used in any form. */
static int file_start_part(fl_op *op)
{
    text_out *s = op->state;
    for (;; s->next_part++) {
        char pend[4300];
        snprintf(s->final_name, sizeof s->final_name, "%s/part-%d-%d", s->dir, s->subtask,
                 s->next_part);
        snprintf(s->inprogress, sizeof s->inprogress, "%s/.part-%d-%d.inprogress", s->dir,
                 s->subtask, s->next_part);
        snprintf(pend, sizeof pend, "%s/.part-%d-%d.pending", s->dir, s->subtask, s->next_part);
        if (access(s->final_name, F_OK) != 0 && access(s->inprogress, F_OK) != 0 &&
            access(pend, F_OK) != 0)
            break;
    }
    s->next_part++;
    s->written = 0;
    s->fd = open(s->inprogress, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        fl_op_fail(op, "%s: cannot create %s: %s", op->ctx.name, s->inprogress,
                   strerror(errno));
        return -1;
    }
    return 0;
}

/* Pre-commit at checkpoint `id`: the current part becomes pending. */
static void file_snapshot(fl_op *op, int64_t id, fl_items *items)
{
    text_out *s = op->state;
    text_flush(op);
    if (s->fd >= 0 && s->written > 0) {
        if (close_part(op) < 0)
            return;
        pending_part *p;
        s->pending = fl_xrealloc(s->pending, (size_t)(s->npending + 1) * sizeof *s->pending);
        p = &s->pending[s->npending++];
        p->checkpoint = id;
        snprintf(p->final_name, sizeof p->final_name, "%s", s->final_name);
        snprintf(p->path, sizeof p->path, "%.4180s.pending", s->inprogress);
        size_t n = strlen(p->path) - strlen(".pending") - strlen(".inprogress");
        memcpy(p->path + n, ".pending", strlen(".pending") + 1); /* .X.inprogress -> .X.pending */
        if (rename(s->inprogress, p->path) < 0) {
            fl_op_fail(op, "%s: cannot pre-commit %s: %s", op->ctx.name,
                       s->inprogress, strerror(errno));
            return;
        }
    }
    /* the state: every part still waiting for its checkpoint to complete, and where the
     * parts after the checkpoint begin (an open, still empty part is one of them) */
    for (int i = 0; i < s->npending; i++)
        fl_items_add(items, &s->pending[i], sizeof(pending_part));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    part_mark m = {s->subtask, s->fd >= 0 ? s->next_part - 1 : s->next_part,
                   (int64_t)now.tv_sec * 1000000000 + now.tv_nsec};
    fl_items_add(items, &m, sizeof m);
}

/* Parses "part-<subtask>-<n>", ".part-<subtask>-<n>.inprogress" or ".pending": n, or -1. */
static int part_index(const char *name, int subtask)
{
    char prefix[32];
    int hidden = name[0] == '.';
    snprintf(prefix, sizeof prefix, "part-%d-", subtask);
    if (strncmp(name + hidden, prefix, strlen(prefix)))
        return -1;
    char *end;
    const char *digits = name + hidden + strlen(prefix);
    long n = strtol(digits, &end, 10);
    if (end == digits || n < 0 || n > INT32_MAX)
        return -1;
    if (hidden ? strcmp(end, ".inprogress") && strcmp(end, ".pending") : *end != '\0')
        return -1;
    return (int)n;
}

/* Deletes this subtask's in-progress parts and, on a failover (m not NULL), its parts
 * numbered from m->first_after on, in any form, that were written after m's checkpoint:
 * their records come again. */
static int drop_parts_after(fl_op *op, const part_mark *m, fl_err *err)
{
    text_out *s = op->state;
    DIR *d = opendir(s->dir);
    if (!d) {
        fl_err_set(err, "cannot read %s: %s", s->dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int dropped = 0;
    while ((de = readdir(d))) {
        int n = part_index(de->d_name, s->subtask);
        size_t len = strlen(de->d_name);
        bool inprogress = len > 11 && !strcmp(de->d_name + len - 11, ".inprogress");
        if (n < 0 || !(inprogress || (m && n >= m->first_after)))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", s->dir, de->d_name);
        struct stat st;
        if (!inprogress && (stat(path, &st) < 0 ||
                            (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec <=
                                m->snap_ns))
            continue; /* older than the checkpoint: not this run's replayed records */
        if (unlink(path) == 0 && !inprogress)
            dropped++;
    }
    closedir(d);
    if (dropped)
        fl_info("%s: deleted %d part files written after the restored checkpoint (part-%d-%d "
                "on): their records are written again.", op->ctx.name, dropped, s->subtask,
                m->first_after);
    return 0;
}

static void file_complete(fl_op *op, int64_t id)
{
    text_out *s = op->state;
    int w = 0;
    for (int i = 0; i < s->npending; i++) {
        if (s->pending[i].checkpoint <= id)
            commit(op, s->pending[i].path, s->pending[i].final_name);
        else
            s->pending[w++] = s->pending[i];
    }
    s->npending = w;
}

static int file_restore(fl_op *op, const ProtobufCBinaryData *items, size_t n, int64_t id,
                        fl_err *err)
{
    text_out *s = op->state;
    part_mark mark;
    bool failover_mark = false;
    for (size_t i = 0; i < n; i++) {
        pending_part p;
        if (items[i].len == sizeof(part_mark)) {
            part_mark m;
            memcpy(&m, items[i].data, sizeof m);
            if (m.subtask == s->subtask && op->view->failover && m.first_after >= 0) {
                mark = m;
                failover_mark = true;
            }
            continue;
        }
        if (items[i].len != sizeof p) {
            fl_err_set(err, "damaged file sink state");
            return -1;
        }
        memcpy(&p, items[i].data, sizeof p);
        p.path[sizeof p.path - 1] = p.final_name[sizeof p.final_name - 1] = '\0';
        if (p.checkpoint <= id) { /* its checkpoint completed: publish it */
            if (rename(p.path, p.final_name) < 0 &&
                !(errno == ENOENT && access(p.final_name, F_OK) == 0)) {
                fl_err_set(err, "cannot commit %s: %s", p.final_name, strerror(errno));
                return -1;
            }
        }
    }
    /* this subtask's in-progress parts hold records after the checkpoint: replayed now */
    return drop_parts_after(op, failover_mark ? &mark : NULL, err);
}

static void process_discard(fl_op *op, const fl_rec *in)
{
}

static void process_custom(fl_op *op, const fl_rec *in)
{
    ((fl_sink_fn)op->fn)(&op->ctx, in);
}

/* ---- set-up ----------------------------------------------------------------------- */

static text_out *text_new(fl_op *op)
{
    text_out *s = fl_xcalloc(1, sizeof *s);
    op->state = s;
    s->buf = fl_xmalloc(OUT_BUF);
    s->line = fl_xmalloc(LINE_MAX_TEXT);
    s->fmt = (fl_format_fn)op->fn;
    return s;
}

static int init_print(fl_op *op, fl_err *err)
{
    const fl_task_view *v = op->view;
    text_out *s = text_new(op);
    s->fd = STDOUT_FILENO;
    if (v->parallelism > 1)
        s->plen = (size_t)snprintf(s->prefix, sizeof s->prefix, "%d> ", v->subtask + 1);
    return 0;
}

static int init_file(fl_op *op, fl_err *err)
{
    text_out *s = text_new(op);
    size_t n = op->spec->params.len;
    if (n == 0 || n >= sizeof s->dir) {
        fl_err_set(err, "file sink without a directory");
        return -1;
    }
    memcpy(s->dir, op->spec->params.data, n);
    s->dir[n] = '\0';
    /* a URI is never taken for a relative local directory ("s3:/b/out") */
    if (fl_fs_check(s->dir, err) < 0)
        return -1;
    if (fl_fs_is_remote(s->dir)) {
        fl_err_set(err, "the file sink writes to local (or NFS) directories only, not yet to "
                        "S3: %s", s->dir);
        return -1;
    }
    if (!strncmp(s->dir, "file:", 5))
        memmove(s->dir, fl_fs_local_path(s->dir), strlen(fl_fs_local_path(s->dir)) + 1);
    if (fl_mkdirs(s->dir, err) < 0)
        return -1;
    s->subtask = op->view->subtask;
    s->fd = -1; /* the part file is opened with the first record (after any restore) */
    s->two_phase = op->view->checkpointing;
    return 0;
}

static int init_custom(fl_op *op, fl_err *err)
{
    if (!op->fn) {
        fl_err_set(err, "custom sink without a function");
        return -1;
    }
    return 0;
}

/* The task flushes print sinks when it flushes its network buffers (buffer timeout), so
 * that printed output shows up as promptly as forwarded records do. */
const fl_op_ops fl_print_sink_ops = {
    .name = "print sink",
    .init = init_print,
    .process = process_text,
    .process_watermark = fl_op_default_watermark,
    .flush = text_flush,
    .finish = print_finish,
    .release = text_release,
};

const fl_op_ops fl_file_sink_ops = {
    .name = "file sink",
    .init = init_file,
    .process = process_text,
    .process_watermark = fl_op_default_watermark,
    .finish = file_finish,
    .snapshot_state = file_snapshot,
    .restore_state = file_restore,
    .checkpoint_complete = file_complete,
    .release = text_release,
};

const fl_op_ops fl_discard_sink_ops = {
    .name = "discard sink",
    .init = NULL,
    .process = process_discard,
    .process_watermark = fl_op_default_watermark,
};

const fl_op_ops fl_custom_sink_ops = {
    .name = "custom sink",
    .init = init_custom,
    .process = process_custom,
    .process_watermark = fl_op_default_watermark,
};
