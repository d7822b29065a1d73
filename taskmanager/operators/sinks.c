/* sinks.c -- the built-in sinks, each behind its const table (operators.h).
 *
 *   print    lines to the TaskManager's standard output (its .out file), prefixed "N> "
 *            with the 1-based subtask when the sink runs with parallelism > 1 (Flink's
 *            PrintSinkFunction); written in whole lines from a per-task buffer
 *   file     fl_file_sink_def, a two-phase-commit connector of flint/connectors.h run by
 *            connector_sink.c: part files under a local directory or on S3, committed when
 *            checkpoints complete (its section below)
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

/* Where a text sink's lines go: the task's standard output (print) or the current part
 * file (the file sink: a local descriptor, or a write stream of common/fs on S3). */
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
    bool remote;              /* s3://: parts are multipart uploads, published by completing */
    int subtask, next_part;
    int64_t min_next;         /* S3: parts are numbered from here (see file_start_part) */
    char inprogress[4200], final_name[4200]; /* local: the open part's two names */
    fl_fs_out *out;           /* remote: the open part's upload */
    size_t written;           /* bytes in the current part */
    bool recovered;           /* recover() ran: commits from now on are completions */
    bool have_mark;
    struct part_mark *mark;
} file_sink;

/* A committable of the file sink (the connector sink keeps it in the checkpoint until its
 * checkpoint completes): a part to publish, or the mark of a checkpoint.
 *   'P' <hidden path> NUL <final path>          local: rename (idempotent)
 *   'S' <object URI> NUL <upload committable>   S3: complete the multipart upload
 *   'M' <part_mark>                             where the parts after the checkpoint begin */
enum { CM_LOCAL = 'P', CM_S3 = 'S', CM_MARK = 'M' };

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
    if (f && !f->out && s->fd < 0 && file_start_part(op, f) < 0)
        return;
    if (f && f->remote) {
        fl_err err = {0};
        if (fl_fs_out_write(f->out, p, n, &err) < 0)
            fl_op_fail(op, "%s: cannot write %s: %s", op->ctx.name, f->final_name, err.msg);
    } else if (write_all(s->fd, p, n) < 0) {
        fl_op_fail(op, "%s: cannot write: %s", op->ctx.name, strerror(errno));
    }
    if (f)
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
 * the connector API is. The current part is written hidden; at a barrier (pre_commit) it
 * is closed and becomes a committable -- locally renamed .part-<subtask>-<n>.pending, on S3
 * its multipart upload with every part uploaded but not completed -- and a new part begins
 * with the next record; when the checkpoint completes (commit) it is published under
 * part-<subtask>-<n> by rename or by completing the upload. Each barrier also hands back a
 * mark: where the parts after the checkpoint begin. On restore the connector sink commits
 * the restored checkpoint's committables (idempotent) and then calls recover(): locally,
 * this subtask's in-progress parts (their records are replayed) are deleted, and on a
 * failover to a checkpoint older than the newest completed one (that one was damaged) so
 * are its part files numbered from the mark on and written after it (never another run's
 * files); on S3 the uploads a crashed attempt began after the checkpoint (numbered from
 * the mark on) are aborted, where the store can list them. A job started with flint run -s
 * leaves what is there, as Flink. Without checkpointing, the part is published when the
 * input ends (pre_commit and commit of FL_SINK_END_OF_INPUT). */

/* The part's URI or path: <dir>/<name>. */
static void part_path(const file_sink *f, char *out, size_t len, bool hidden, int n,
                      const char *suffix)
{
    snprintf(out, len, "%s/%spart-%d-%d%s", f->dir, hidden ? "." : "", f->subtask, n, suffix);
}

/* Opens the next part file: part-<subtask>-<n> with the first n not used in any form.
 * On S3 an upload in progress is invisible, and after a restore at another parallelism the
 * pending parts of old subtask <subtask> are completed by whichever subtask they were dealt
 * to, maybe after this one began: so S3 parts are numbered from the last checkpoint id on
 * (one part per subtask per checkpoint interval; a restore from c starts at c + 1), above
 * every pending part of a restored checkpoint. */
static int file_start_part(fl_op *op, file_sink *f)
{
    fl_err err = {0};
    if (f->remote && f->next_part < f->min_next)
        f->next_part = f->min_next > INT32_MAX ? INT32_MAX : (int)f->min_next;
    for (;; f->next_part++) {
        part_path(f, f->final_name, sizeof f->final_name, false, f->next_part, "");
        if (f->remote) {
            bool exists;
            if (fl_fs_stat(f->final_name, &exists, NULL, &err) < 0) {
                fl_op_fail(op, "%s: %s", op->ctx.name, err.msg);
                return -1;
            }
            if (!exists)
                break;
            continue;
        }
        char pend[4300];
        part_path(f, f->inprogress, sizeof f->inprogress, true, f->next_part, ".inprogress");
        part_path(f, pend, sizeof pend, true, f->next_part, ".pending");
        if (access(f->final_name, F_OK) != 0 && access(f->inprogress, F_OK) != 0 &&
            access(pend, F_OK) != 0)
            break;
    }
    f->next_part++;
    f->written = 0;
    if (f->remote) {
        if (!(f->out = fl_fs_out_open(f->final_name, &err))) {
            fl_op_fail(op, "%s: cannot create %s: %s", op->ctx.name, f->final_name, err.msg);
            return -1;
        }
        return 0;
    }
    f->t.fd = open(f->inprogress, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f->t.fd < 0) {
        fl_op_fail(op, "%s: cannot create %s: %s", op->ctx.name, f->inprogress,
                   strerror(errno));
        return -1;
    }
    return 0;
}

static bool part_open(const file_sink *f)
{
    return f->remote ? f->out != NULL : f->t.fd >= 0;
}

/* Hands back a part as a committable: kind, a, NUL, b, NUL (an S3 committable names every
 * part's ETag: any length). Once per checkpoint, not per record. */
static void add_part_committable(fl_ctx *ctx, char kind, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = 1 + la + 1 + lb + 1;
    char *cm = fl_xmalloc(n);
    cm[0] = kind;
    memcpy(cm + 1, a, la + 1);
    memcpy(cm + 2 + la, b, lb + 1);
    fl_connector_api.add_committable(ctx, cm, (uint32_t)n);
    free(cm);
}

/* Closes the current part (everything written and synced) and hands it back as a
 * committable: locally renamed .pending first when it waits for a checkpoint. */
static int close_part(fl_op *op, file_sink *f, bool pending)
{
    fl_ctx *ctx = &op->ctx;
    text_flush_out(op, &f->t);
    if (!part_open(f) || op->view->failure->failed)
        return op->view->failure->failed ? -1 : 0;
    fl_err err = {0};
    if (f->remote) {
        char *up = NULL;
        int rc = fl_fs_out_close_for_commit(f->out, &up, &err);
        f->out = NULL;
        if (rc < 0) {
            fl_op_fail(op, "%s: cannot pre-commit %s: %s", op->ctx.name, f->final_name, err.msg);
            return -1;
        }
        add_part_committable(ctx, CM_S3, f->final_name, up);
        free(up);
    } else {
        int rc = fsync(f->t.fd);
        if (rc < 0)
            fl_op_fail(op, "%s: fsync %s: %s", op->ctx.name, f->inprogress, strerror(errno));
        close(f->t.fd);
        f->t.fd = -1;
        if (rc < 0)
            return -1;
        char from[4300];
        snprintf(from, sizeof from, "%s", f->inprogress);
        if (pending) { /* .X.inprogress -> .X.pending */
            part_path(f, from, sizeof from, true, f->next_part - 1, ".pending");
            if (rename(f->inprogress, from) < 0) {
                fl_op_fail(op, "%s: cannot pre-commit %s: %s", op->ctx.name, f->inprogress,
                           strerror(errno));
                return -1;
            }
        }
        add_part_committable(ctx, CM_LOCAL, from, f->final_name);
    }
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
    if (part_open(f) && (f->written > 0 || id == FL_SINK_END_OF_INPUT) &&
        close_part(op, f, id != FL_SINK_END_OF_INPUT) < 0)
        return -1;
    if (op->view->failure->failed)
        return -1;
    if (id == FL_SINK_END_OF_INPUT)
        return 0;
    if (id + 1 > f->min_next)
        f->min_next = id + 1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint8_t cm[1 + sizeof(part_mark)];
    part_mark m = {f->subtask, part_open(f) ? f->next_part - 1 : f->next_part,
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
    if (!len || (d[0] != CM_LOCAL && d[0] != CM_S3) || !split_cm(d, len, &a, &b)) {
        fl_op_ctx_fail(ctx, "damaged file sink state");
        return -1;
    }
    if (d[0] == CM_S3) {
        if (fl_fs_commit(a, b, &err) < 0) {
            fl_op_ctx_fail(ctx, "cannot commit %s: %s", a, err.msg);
            return -1;
        }
        return 0;
    }
    /* idempotent: already committed is fine (a restore may commit again) */
    if (rename(a, b) < 0 && !(errno == ENOENT && access(b, F_OK) == 0)) {
        fl_op_ctx_fail(ctx, "cannot commit %s: %s", b, strerror(errno));
        return -1;
    }
    return 0;
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
static int drop_parts_after(fl_op *op, file_sink *f, const part_mark *m)
{
    DIR *d = opendir(f->dir);
    if (!d) {
        fl_op_fail(op, "cannot read %s: %s", f->dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int dropped = 0;
    while ((de = readdir(d))) {
        int n = part_index(de->d_name, f->subtask);
        size_t len = strlen(de->d_name);
        bool inprogress = len > 11 && !strcmp(de->d_name + len - 11, ".inprogress");
        if (n < 0 || !(inprogress || (m && n >= m->first_after)))
            continue;
        char path[FL_FS_URI_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", f->dir, de->d_name);
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
                "on): their records are written again.", op->ctx.name, dropped, f->subtask,
                m->first_after);
    return 0;
}

/* S3: the uploads this subtask began after the restored checkpoint (numbered from the
 * mark on) belong to a crashed attempt: nothing will complete them. */
static bool keep_upload(void *arg, const char *name, const char *committable)
{
    const file_sink *f = arg;
    int n = part_index(name, f->subtask);
    return n < 0 || n < f->mark->first_after;
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
    if (!f->remote)
        return drop_parts_after(op, f, f->have_mark ? f->mark : NULL);
    if (!f->have_mark)
        return 0;
    fl_err err = {0};
    char prefix[32];
    snprintf(prefix, sizeof prefix, "part-%d-", f->subtask);
    int n = fl_fs_abort_uploads(f->dir, prefix, keep_upload, f, &err);
    if (n < 0) {
        fl_op_ctx_fail(ctx, "cannot abort the uploads of a failed attempt below %s: %s", f->dir,
                       err.msg);
        return -1;
    }
    if (n)
        fl_info("%s: aborted %d uploads begun after the restored checkpoint (part-%d-%d on): "
                "their records are written again.", op->ctx.name, n, f->subtask,
                f->mark->first_after);
    return 0;
}

static void fsink_close(fl_ctx *ctx)
{
    file_sink *f = ctx->user;
    if (!f)
        return;
    fl_fs_out_abort(f->out); /* a failure mid-part: its upload is dropped */
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
    f->remote = fl_fs_is_remote(f->dir);
    while (f->remote && n > 1 && f->dir[n - 1] == '/')
        f->dir[--n] = '\0';
    if (!f->remote && !strncmp(f->dir, "file:", 5))
        memmove(f->dir, fl_fs_local_path(f->dir), strlen(fl_fs_local_path(f->dir)) + 1);
    if (fl_fs_mkdirs(f->dir, &err) < 0) {
        fl_op_ctx_fail(ctx, "%s", err.msg);
        return -1;
    }
    f->subtask = op->view->subtask;
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
