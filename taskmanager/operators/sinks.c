/* sinks.c -- the built-in sinks, each behind its const table (operators.h).
 *
 *   print    lines to the TaskManager's standard output (its .out file), prefixed "N> "
 *            with the 1-based subtask when the sink runs with parallelism > 1 (Flink's
 *            PrintSinkFunction); written in whole lines from a per-task buffer
 *   file     fl_file_sink_def, a two-phase-commit connector of flint/connectors.h run by
 *            connector_sink.c: part files under a local directory or on S3 through
 *            common/fs's recoverable writer, committed when checkpoints complete (its
 *            section below)
 *   discard  nothing
 *   custom   the bundle's fl_sink_fn
 *
 * The text of a record is the format function's output, or the record's bytes.
 */
#include "common/api/connectors.h"
#include "common/fs.h"
#include "common/log.h"
#include "operators.h"
#include "taskmanager/chain/operator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_BUF (64 * 1024)
#define LINE_MAX_TEXT 65536

/* Where a text sink's lines go: the task's standard output (print) or the current part
 * file (the file sink: a write stream of common/fs, local or S3). */
typedef struct text_out {
    int fd;
    char *buf;
    size_t len;
    char prefix[16];
    size_t plen;
    fl_format_fn fmt;
    char *line;               /* format scratch */
    struct file_sink *file;   /* the file sink's part files, or NULL (print) */
} text_out;

/* The file sink (fl_file_sink_def): text lines into part files, committed in two phases. */
typedef struct file_sink {
    text_out t;
    fl_op *op;
    char dir[FL_FS_URI_MAX + 8];
    char prefix[80];          /* "part-<job id>-<subtask>-": this subtask's parts of this job */
    int subtask, next_part;
    int64_t min_next;         /* after a restore parts are numbered from here (file_start_part) */
    char final_name[FL_FS_URI_MAX + 128]; /* the open part's URI */
    fl_fs_out *out;           /* the open part's stream (a hidden file, or a multipart upload) */
    size_t written;           /* bytes in the current part */
    bool recovered;           /* recover() ran: commits from now on are completions */
    bool have_mark;
    struct part_mark *mark;
} file_sink;

/* A committable of the file sink (the connector sink keeps it in the checkpoint until its
 * checkpoint completes): a part to publish, or the mark of a checkpoint.
 *   'S' <part URI> NUL <fs committable>   fl_fs_commit publishes it (local: rename of the
 *                                         hidden file; S3: completes the multipart upload)
 *   'M' <part_mark>                       where the parts after the checkpoint begin
 * ('S' is the byte S3 parts had before local parts went through common/fs too: an S3
 * savepoint of then restores.) */
enum { CM_PART = 'S', CM_MARK = 'M' };

/* The subtask's first part that can hold records after the checkpoint, and when the
 * checkpoint was taken (wall clock, ns). */
typedef struct part_mark {
    int32_t subtask, first_after;
    int64_t snap_ns;
} part_mark;

static int file_start_part(fl_op *op, file_sink *f);

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

/* Writes n bytes to the sink's output; the file sink opens its part first. */
static void out_write(fl_op *op, text_out *s, const char *p, size_t n)
{
    file_sink *f = s->file;
    if (!n || op->view->failure->failed)
        return;
    if (!f) {
        if (write_all(s->fd, p, n) < 0)
            fl_op_fail(op, "%s: cannot write: %s", op->ctx.name, strerror(errno));
        return;
    }
    if (!f->out && file_start_part(op, f) < 0)
        return;
    fl_err err = {0};
    if (fl_fs_out_write(f->out, p, n, &err) < 0)
        fl_op_fail(op, "%s: cannot write %s: %s", op->ctx.name, f->final_name, err.msg);
    f->written += n;
}

static void text_flush_out(fl_op *op, text_out *s)
{
    out_write(op, s, s->buf, s->len);
    s->len = 0;
}

static void text_append(fl_op *op, text_out *s, const char *text, size_t n)
{
    size_t need = s->plen + n + 1;
    if (s->len + need > OUT_BUF)
        text_flush_out(op, s);
    if (need > OUT_BUF) { /* a huge line: straight through */
        out_write(op, s, s->prefix, s->plen);
        out_write(op, s, text, n);
        out_write(op, s, "\n", 1);
        return;
    }
    memcpy(s->buf + s->len, s->prefix, s->plen);
    memcpy(s->buf + s->len + s->plen, text, n);
    s->buf[s->len + s->plen + n] = '\n';
    s->len += need;
}

static void text_record(fl_op *op, text_out *s, const fl_rec *in)
{
    if (s->fmt) {
        uint32_t n = s->fmt(in, s->line, LINE_MAX_TEXT);
        text_append(op, s, s->line, n > LINE_MAX_TEXT ? LINE_MAX_TEXT : n);
    } else {
        /* the bytes as text, without a C string's terminator */
        size_t n = in->len;
        while (n && ((const char *)in->data)[n - 1] == '\0')
            n--;
        text_append(op, s, in->data, n);
    }
}

static void text_init(text_out *s, fl_op *op)
{
    s->fd = -1;
    s->buf = fl_xmalloc(OUT_BUF);
    s->line = fl_xmalloc(LINE_MAX_TEXT);
    s->fmt = (fl_format_fn)op->fn;
}

static void text_free(text_out *s)
{
    if (s->fd > 2)
        close(s->fd);
    free(s->buf);
    free(s->line);
}

/* ---- print ------------------------------------------------------------------------ */

static void process_text(fl_op *op, const fl_rec *in)
{
    text_record(op, op->state, in);
}

static void text_flush(fl_op *op)
{
    text_flush_out(op, op->state);
}

static void text_release(fl_op *op)
{
    text_out *s = op->state;
    if (!s)
        return;
    s->fd = -1; /* standard output stays open */
    text_free(s);
    free(s);
}

/* Print: flush at the end. */
static void print_finish(fl_op *op)
{
    text_flush(op);
}

/* ---- file: a two-phase-commit connector (flint/connectors.h) ---------------------------
 * fl_file_sink_def, run by the connector sink operator (connector_sink.c) as every sink of
 * the connector API is. One code path for every file system, through common/fs's write
 * stream and recoverable writer (Flink's RecoverableWriter): the current part is a stream
 * to <dir>/part-<job>-<subtask>-<n>, invisible while written (a hidden
 * .part-<job>-<subtask>-<n>.inprogress.<random> file locally, a multipart upload on S3); at
 * a barrier (pre_commit) fl_fs_out_close_for_commit makes everything written durable but not
 * visible and hands back the committable, and a new part begins with the next record; when
 * the checkpoint completes (commit) fl_fs_commit publishes it under part-<job>-<subtask>-<n>.
 * <job> is the job's ID, as Flink's FileSink puts a unique ID in every part's name: a run
 * never meets a name another run (another job ID: a new submission, also one from a
 * savepoint) wrote into the directory, so numbers are never pushed past the bound below by
 * leftovers, and a failover or a rescaled restore of the job (same ID) cannot publish two
 * parts under one name.
 * Each barrier also hands back a mark: where the parts after the checkpoint begin. On
 * restore the connector sink commits the restored checkpoint's committables again
 * (idempotent), then recover() runs: on a failover, fl_fs_abort_uploads drops what the
 * crashed attempt began after the checkpoint (parts numbered from the mark on; every
 * committable of the restored checkpoint is numbered below it and kept, whichever subtask
 * commits it), and after a fallback to a checkpoint older than the newest completed one
 * (that one was damaged) so are its published parts numbered from the mark on and written
 * after it (never another run's files). A job started with flint run -s leaves what is
 * there, as Flink. Without checkpointing, the part is published when the input ends
 * (pre_commit and commit of FL_SINK_END_OF_INPUT). */

/* The part's URI: <dir>/part-<job>-<subtask>-<n>. */
static void part_path(const file_sink *f, char *out, size_t len, int n)
{
    snprintf(out, len, "%s/%s%d", f->dir, f->prefix, n);
}

/* Opens the next part: part-<job>-<subtask>-<n> with the first n, from min_next on, that is
 * not published. A part in progress is invisible (a hidden file, an upload), and after a
 * restore at another parallelism the pending parts of old subtask <subtask> are completed
 * by whichever subtask they were dealt to, maybe after this one began: so after a restore
 * from checkpoint c parts are numbered from c + 1 on. Every pending part of c is numbered
 * at most c: numbers begin at 0, grow by one per part, and a part is closed only at a
 * barrier or the end of the input (at most one part a checkpoint interval). Only the job's
 * own published parts can be found here (the names hold its ID), and none of them from
 * min_next on (a restore deletes those, drop_published_after): the look is a safety net
 * that never overwrites a file. */
static int file_start_part(fl_op *op, file_sink *f)
{
    fl_err err = {0};
    if (f->next_part < f->min_next)
        f->next_part = f->min_next > INT32_MAX ? INT32_MAX : (int)f->min_next;
    for (;; f->next_part++) {
        bool exists;
        part_path(f, f->final_name, sizeof f->final_name, f->next_part);
        if (fl_fs_stat(f->final_name, &exists, NULL, &err) < 0) {
            fl_op_fail(op, "%s: %s", op->ctx.name, err.msg);
            return -1;
        }
        if (!exists)
            break;
    }
    f->next_part++;
    f->written = 0;
    if (!(f->out = fl_fs_out_open(f->final_name, &err))) {
        fl_op_fail(op, "%s: cannot create %s: %s", op->ctx.name, f->final_name, err.msg);
        return -1;
    }
    return 0;
}

/* Closes the current part (everything written and durable, not visible) and hands it back
 * as a committable: kind, URI, NUL, the fs committable, NUL (an S3 committable names every
 * part's ETag: any length). Once per checkpoint, not per record. */
static int close_part(fl_op *op, file_sink *f)
{
    text_flush_out(op, &f->t);
    if (!f->out || op->view->failure->failed)
        return op->view->failure->failed ? -1 : 0;
    fl_err err = {0};
    char *up = NULL;
    int rc = fl_fs_out_close_for_commit(f->out, &up, &err);
    f->out = NULL;
    if (rc < 0) {
        fl_op_fail(op, "%s: cannot pre-commit %s: %s", op->ctx.name, f->final_name, err.msg);
        return -1;
    }
    size_t la = strlen(f->final_name), lb = strlen(up), n = 1 + la + 1 + lb + 1;
    char *cm = fl_xmalloc(n);
    cm[0] = CM_PART;
    memcpy(cm + 1, f->final_name, la + 1);
    memcpy(cm + 2 + la, up, lb + 1);
    fl_connector_api.add_committable(&op->ctx, cm, (uint32_t)n);
    free(cm);
    free(up);
    return 0;
}

static void fsink_write(fl_ctx *ctx, const fl_rec *in)
{
    file_sink *f = ctx->user;
    text_record(ctx->op, &f->t, in);
}

/* Pre-commit at checkpoint `id` (or the end of the input): the current part becomes a
 * committable; so does the mark of where the parts after the checkpoint begin (an open,
 * still empty part is one of them). */
static int fsink_pre_commit(fl_ctx *ctx, int64_t id)
{
    fl_op *op = ctx->op;
    file_sink *f = ctx->user;
    text_flush_out(op, &f->t);
    if (f->out && (f->written > 0 || id == FL_SINK_END_OF_INPUT) && close_part(op, f) < 0)
        return -1;
    if (op->view->failure->failed)
        return -1;
    if (id == FL_SINK_END_OF_INPUT)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint8_t cm[1 + sizeof(part_mark)];
    part_mark m = {f->subtask, f->out ? f->next_part - 1 : f->next_part,
                   (int64_t)now.tv_sec * 1000000000 + now.tv_nsec};
    cm[0] = CM_MARK;
    memcpy(cm + 1, &m, sizeof m);
    fl_connector_api.add_committable(ctx, cm, sizeof cm);
    return 0;
}

/* Splits a part committable into its two strings; false when damaged. */
static bool split_cm(const uint8_t *data, uint32_t len, const char **a, const char **b)
{
    if (len < 4 || data[len - 1] != '\0')
        return false;
    const char *p = (const char *)data + 1;
    const char *nul = memchr(p, '\0', len - 1);
    if (!nul || nul + 1 >= (const char *)data + len)
        return false;
    *a = p;
    *b = nul + 1;
    return true;
}

static int fsink_commit(fl_ctx *ctx, int64_t id, const void *data, uint32_t len)
{
    file_sink *f = ctx->user;
    const uint8_t *d = data;
    const char *a, *b;
    fl_err err = {0};
    if (len == 1 + sizeof(part_mark) && d[0] == CM_MARK) {
        part_mark m;
        memcpy(&m, d + 1, sizeof m);
        /* during a restore (before recover): this subtask's mark says what to roll back */
        if (!f->recovered && m.subtask == f->subtask && ctx->op->view->failover &&
            m.first_after >= 0) {
            *f->mark = m;
            f->have_mark = true;
        }
        return 0;
    }
    if (len && d[0] == 'P') { /* before local parts went through common/fs */
        fl_op_ctx_fail(ctx, "a local part file pending in a checkpoint of an older Flint "
                            "(.part-*.pending) cannot be committed by this one");
        return -1;
    }
    if (!len || d[0] != CM_PART || !split_cm(d, len, &a, &b)) {
        fl_op_ctx_fail(ctx, "damaged file sink state");
        return -1;
    }
    /* idempotent: committed before (a restore commits again) is success */
    if (fl_fs_commit(a, b, &err) < 0) {
        fl_op_ctx_fail(ctx, "cannot commit %s: %s", a, err.msg);
        return -1;
    }
    return 0;
}

/* Parses "part-<job>-<subtask>-<n>" of this subtask of this job: n, or -1. */
static int part_index(const file_sink *f, const char *name)
{
    size_t pl = strlen(f->prefix);
    if (strncmp(name, f->prefix, pl))
        return -1;
    char *end;
    const char *digits = name + pl;
    long n = strtol(digits, &end, 10);
    if (end == digits || n < 0 || n > INT32_MAX || *end != '\0')
        return -1;
    return (int)n;
}

/* The uploads this subtask began after the restored checkpoint (numbered from the mark on)
 * belong to the crashed attempt: nothing will complete them. Every committable of the
 * restored checkpoint is numbered below the mark and stays. */
static bool keep_upload(void *arg, const char *name, const char *committable)
{
    const file_sink *f = arg;
    int n = part_index(f, name);
    return n < 0 || n < f->mark->first_after;
}

/* The published parts of this subtask numbered from the mark on (listing). */
typedef struct later_parts {
    const file_sink *f;
    char **names;
    size_t n, cap;
} later_parts;

static int collect_later(void *arg, const char *name, bool is_dir, uint64_t size)
{
    later_parts *l = arg;
    int n = part_index(l->f, name);
    if (is_dir || n < 0 || n < l->f->mark->first_after)
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = fl_xrealloc(l->names, l->cap * sizeof *l->names);
    }
    l->names[l->n++] = fl_xstrdup(name);
    return 0;
}

/* After a fallback to a checkpoint older than the newest completed one, the parts that
 * newer checkpoint published hold records that come again: this subtask's published parts
 * numbered from the mark on and written after the checkpoint are deleted (an earlier run's
 * part under such a number is older than the checkpoint and stays). */
static int drop_published_after(fl_op *op, file_sink *f)
{
    later_parts l = {.f = f};
    fl_err err = {0};
    int rc = fl_fs_list(f->dir, false, collect_later, &l, &err), dropped = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char uri[FL_FS_URI_MAX + 300];
        bool exists;
        int64_t mtime;
        snprintf(uri, sizeof uri, "%s/%s", f->dir, l.names[i]);
        rc = fl_fs_mtime(uri, &exists, &mtime, &err);
        if (rc == 0 && exists && mtime > f->mark->snap_ns) {
            rc = fl_fs_delete(uri, &err);
            dropped += rc == 0;
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.names[i]);
    free(l.names);
    if (rc < 0) {
        fl_op_fail(op, "%s: cannot roll back the parts below %s written after the restored "
                       "checkpoint: %s", op->ctx.name, f->dir, err.msg);
        return -1;
    }
    if (dropped)
        fl_info("%s: deleted %d part files written after the restored checkpoint (%s%d on): "
                "their records are written again.", op->ctx.name, dropped, f->prefix,
                f->mark->first_after);
    return 0;
}

static int fsink_recover(fl_ctx *ctx, int64_t restored)
{
    fl_op *op = ctx->op;
    file_sink *f = ctx->user;
    f->recovered = true;
    if (restored < 0) /* a fresh start: nothing of ours is there */
        return 0;
    if (restored + 1 > f->min_next)
        f->min_next = restored + 1;
    if (!f->have_mark) /* run -s (or a rescale): what is there stays */
        return 0;
    fl_err err = {0};
    int n = fl_fs_abort_uploads(f->dir, f->prefix, keep_upload, f, &err);
    if (n < 0) {
        fl_op_ctx_fail(ctx, "cannot abort the uploads of a failed attempt below %s: %s", f->dir,
                       err.msg);
        return -1;
    }
    if (n)
        fl_info("%s: aborted %d parts in progress begun after the restored checkpoint "
                "(%s%d on): their records are written again.", op->ctx.name, n, f->prefix,
                f->mark->first_after);
    return drop_published_after(op, f);
}

static void fsink_close(fl_ctx *ctx)
{
    file_sink *f = ctx->user;
    if (!f)
        return;
    fl_fs_out_abort(f->out); /* a failure mid-part: its hidden file or upload is dropped */
    text_free(&f->t);
    free(f->mark);
    free(f);
    ctx->user = NULL;
}

/* The directory is the operator's parameters (fl_write_file): a local path, file:// or
 * s3:// (s3a://, s3p://). */
static int fsink_open(fl_ctx *ctx)
{
    fl_op *op = ctx->op;
    file_sink *f = fl_xcalloc(1, sizeof *f);
    ctx->user = f;
    f->op = op;
    f->mark = fl_xcalloc(1, sizeof *f->mark);
    text_init(&f->t, op);
    f->t.file = f;
    size_t n = op->spec->params.len;
    fl_err err = {0};
    if (n == 0 || n >= FL_FS_URI_MAX) {
        fl_op_ctx_fail(ctx, "file sink without a directory (or longer than %d bytes)",
                       FL_FS_URI_MAX - 1);
        return -1;
    }
    memcpy(f->dir, op->spec->params.data, n);
    f->dir[n] = '\0';
    /* a URI is never taken for a relative local directory ("s3:/b/out") */
    if (fl_fs_check(f->dir, &err) < 0) {
        fl_op_ctx_fail(ctx, "%s", err.msg);
        return -1;
    }
    bool remote = fl_fs_is_remote(f->dir);
    while (remote && n > 1 && f->dir[n - 1] == '/') /* keys without "//" */
        f->dir[--n] = '\0';
    if (!remote && !strncmp(f->dir, "file:", 5))
        memmove(f->dir, fl_fs_local_path(f->dir), strlen(fl_fs_local_path(f->dir)) + 1);
    if (fl_fs_mkdirs(f->dir, &err) < 0) {
        fl_op_ctx_fail(ctx, "%s", err.msg);
        return -1;
    }
    f->subtask = op->view->subtask;
    snprintf(f->prefix, sizeof f->prefix, "part-%.40s-%d-",
             op->view->job_id && op->view->job_id[0] ? op->view->job_id : "0", f->subtask);
    return 0; /* the part file is opened with the first record (after any restore) */
}

const fl_sink_def fl_file_sink_def = {
    .name = "file",
    .open = fsink_open,
    .write = fsink_write,
    .pre_commit = fsink_pre_commit,
    .commit = fsink_commit,
    .recover = fsink_recover,
    .close = fsink_close,
};

static void process_discard(fl_op *op, const fl_rec *in)
{
}

static void process_custom(fl_op *op, const fl_rec *in)
{
    ((fl_sink_fn)op->fn)(&op->ctx, in);
}

/* ---- set-up ----------------------------------------------------------------------- */

static int init_print(fl_op *op, fl_err *err)
{
    const fl_task_view *v = op->view;
    text_out *s = fl_xcalloc(1, sizeof *s);
    op->state = s;
    text_init(s, op);
    s->fd = STDOUT_FILENO;
    if (v->parallelism > 1)
        s->plen = (size_t)snprintf(s->prefix, sizeof s->prefix, "%d> ", v->subtask + 1);
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
