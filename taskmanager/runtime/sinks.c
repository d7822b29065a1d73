/* sinks.c -- the built-in sinks.
 *
 *   print    lines to the TaskManager's standard output (its .out file), prefixed "N> "
 *            with the 1-based subtask when the sink runs with parallelism > 1 (Flink's
 *            PrintSinkFunction); written in whole lines from a per-task buffer
 *   file     one part file per subtask under a directory: written hidden as
 *            .part-<subtask>-<n>.inprogress and renamed to part-<subtask>-<n> when the input
 *            ends (with checkpointing, at each completed checkpoint)
 *   discard  nothing
 *   custom   the bundle's fl_sink_fn
 *
 * The text of a record is the format function's output, or the record's bytes.
 */
#include "log.h"
#include "runtime_internal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
} text_out;

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
    if (s->len && write_all(s->fd, s->buf, s->len) < 0)
        fl_task_fail(op->ctx.task, "%s: cannot write: %s", op->ctx.name, strerror(errno));
    s->len = 0;
}

static void text_append(fl_op *op, const char *text, size_t n)
{
    text_out *s = op->state;
    size_t need = s->plen + n + 1;
    if (s->len + need > OUT_BUF)
        text_flush(op);
    if (need > OUT_BUF) { /* a huge line: straight through */
        if (write_all(s->fd, s->prefix, s->plen) < 0 || write_all(s->fd, text, n) < 0 ||
            write_all(s->fd, "\n", 1) < 0)
            fl_task_fail(op->ctx.task, "%s: cannot write: %s", op->ctx.name, strerror(errno));
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
    free(s);
}

/* Print: flush at the end. */
static void print_finish(fl_op *op)
{
    text_flush(op);
}

/* File: flush, close and publish the part file under its final name. */
static void file_finish(fl_op *op)
{
    text_out *s = op->state;
    text_flush(op);
    if (s->fd >= 0 && fsync(s->fd) < 0)
        fl_task_fail(op->ctx.task, "%s: fsync %s: %s", op->ctx.name, s->inprogress,
                     strerror(errno));
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (!op->ctx.task->failed && rename(s->inprogress, s->final_name) < 0)
        fl_task_fail(op->ctx.task, "%s: cannot commit %s: %s", op->ctx.name, s->final_name,
                     strerror(errno));
}

static int mkdirs(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int file_open(fl_task *t, fl_op *op, text_out *s, fl_err *err)
{
    size_t n = op->spec->params.len;
    if (n == 0 || n >= sizeof s->dir) {
        fl_err_set(err, "file sink without a directory");
        return -1;
    }
    memcpy(s->dir, op->spec->params.data, n);
    s->dir[n] = '\0';
    if (mkdirs(s->dir) < 0) {
        fl_err_set(err, "file sink cannot create %s: %s", s->dir, strerror(errno));
        return -1;
    }
    /* part-<subtask>-<n>: the first n not used yet (a restarted job adds new parts) */
    for (int k = 0;; k++) {
        snprintf(s->final_name, sizeof s->final_name, "%s/part-%d-%d", s->dir, t->subtask, k);
        snprintf(s->inprogress, sizeof s->inprogress, "%s/.part-%d-%d.inprogress", s->dir,
                 t->subtask, k);
        if (access(s->final_name, F_OK) != 0 && access(s->inprogress, F_OK) != 0)
            break;
    }
    s->fd = open(s->inprogress, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        fl_err_set(err, "file sink cannot create %s: %s", s->inprogress, strerror(errno));
        return -1;
    }
    return 0;
}

static void process_discard(fl_op *op, const fl_rec *in)
{
}

static void process_custom(fl_op *op, const fl_rec *in)
{
    ((fl_sink_fn)op->fn)(&op->ctx, in);
}

int fl_sink_init(fl_task *t, fl_op *op, fl_err *err)
{
    switch (op->kind) {
    case FL__PB__OP_KIND__SINK_PRINT:
    case FL__PB__OP_KIND__SINK_FILE: {
        text_out *s = fl_xcalloc(1, sizeof *s);
        op->state = s;
        op->release = text_release;
        s->buf = fl_xmalloc(OUT_BUF);
        s->line = fl_xmalloc(LINE_MAX_TEXT);
        s->fmt = (fl_format_fn)op->fn;
        op->process = process_text;
        if (op->kind == FL__PB__OP_KIND__SINK_PRINT) {
            s->fd = STDOUT_FILENO;
            if (t->parallelism > 1)
                s->plen = (size_t)snprintf(s->prefix, sizeof s->prefix, "%d> ", t->subtask + 1);
            op->finish = print_finish;
            return 0;
        }
        op->finish = file_finish;
        return file_open(t, op, s, err);
    }
    case FL__PB__OP_KIND__SINK_DISCARD:
        op->process = process_discard;
        return 0;
    case FL__PB__OP_KIND__SINK_CUSTOM:
        if (!op->fn) {
            fl_err_set(err, "custom sink without a function");
            return -1;
        }
        op->process = process_custom;
        return 0;
    }
    fl_err_set(err, "unknown sink kind %d", op->kind);
    return -1;
}

/* The task flushes print sinks when it flushes its network buffers (buffer timeout), so
 * that printed output shows up as promptly as forwarded records do. */
void fl_sink_flush(fl_op *op)
{
    if (op->kind == FL__PB__OP_KIND__SINK_PRINT && op->state)
        text_flush(op);
}
