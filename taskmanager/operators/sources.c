/* sources.c -- the built-in sources, each behind its const table (operators.h). A source
 * is polled by its task (Flink's Source API): each call emits a batch into the chain and
 * says whether more may come (enum fl_source_status), so the task stays responsive to
 * cancellation and checkpoints between calls. Their positions are operator state.
 *
 *   elements   the records given to fl_from_elements / fl_from_strings (parallelism 1)
 *   text file  a connector (fl_file_source_def, run by connector_source.c): lines; with
 *              parallelism n the file is cut into n byte ranges and a line belongs to
 *              the reader whose range holds its first byte
 *   socket     lines from host:port, until the peer closes (parallelism 1)
 *   sequence   from..to, split into n contiguous ranges
 *   custom     the bundle's fl_source_fn, checkpointed through the position it reports
 */
#include "common/api/connectors.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/rpc.h"
#include "operators.h"
#include "taskmanager/chain/operator.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH 1024
#define READ_CHUNK (64 << 10) /* a read lands in L2: copies from the page cache stay cheap */

/* ---- elements --------------------------------------------------------------------- */

typedef struct elems_state {
    const uint8_t *p, *end, *begin;
    uint32_t left;
    int64_t emitted;  /* elements emitted: the checkpointed position */
} elems_state;

static void elems_snapshot(fl_op *op, int64_t id, fl_items *items)
{
    elems_state *s = op->state;
    fl_items_add(items, &s->emitted, sizeof s->emitted);
}

/* Skips the elements already emitted before the checkpoint. */
static int elems_restore(fl_op *op, const ProtobufCBinaryData *items, size_t n, int64_t id,
                         fl_err *err)
{
    elems_state *s = op->state;
    int64_t skip = 0;
    if (n && items[0].len == sizeof skip)
        memcpy(&skip, items[0].data, sizeof skip);
    else if (n) {
        fl_err_set(err, "damaged collection source state");
        return -1;
    } else {
        skip = INT64_MAX; /* this subtask had no elements to emit */
    }
    while (skip-- > 0 && s->left && s->end - s->p >= 4) {
        uint32_t len;
        memcpy(&len, s->p, 4);
        if ((uint64_t)(s->end - s->p - 4) < len)
            break;
        s->p += 4 + len;
        s->left--;
        s->emitted++;
    }
    return 0;
}

static int src_elements(fl_op *op)
{
    elems_state *s = op->state;
    for (int n = 0; n < BATCH && s->left; n++) {
        uint32_t len;
        if (s->end - s->p < 4)
            break;
        memcpy(&len, s->p, 4);
        if ((uint64_t)(s->end - s->p - 4) < len)
            break;
        fl_out_emit(&op->out, s->p + 4, len, FL_NO_TIMESTAMP);
        s->p += 4 + len;
        s->left--;
        s->emitted++;
        if (FL_UNLIKELY(fl_view_output_full(op->view)))
            break; /* the task waits for buffers where it hears its mail */
    }
    return s->left && s->end - s->p >= 4 ? FL_SOURCE_MORE : FL_SOURCE_END;
}

/* ---- text file: a connector (flint/connectors.h) ------------------------------------
 * fl_file_source_def reads the file as splits: byte ranges [start, end), one per subtask on
 * a fresh start. A line belongs to the split holding its first byte. The connector source
 * operator (connector_source.c) keeps each split's position (its next line) as operator
 * state, so a restore at any parallelism deals the splits over the readers and each
 * continues its splits where they stood: the same protocol as every other connector. */

typedef struct split {
    uint64_t start, end; /* end UINT64_MAX: to the end of the file */
    uint64_t pos;        /* next line's first byte; UINT64_MAX when not started */
} split;

typedef struct file_state {
    int fd;
    char path[4096];
    split *splits;
    int nsplits, splits_cap, cur;
    bool positioned;     /* the buffer holds data of splits[cur] from pos on */
    uint64_t pos;        /* file offset of buf[0] */
    uint8_t *buf;
    size_t len, off, cap;
    bool eof;
} file_state;

/* Refills keeping the unread tail; false at end of file. */
static bool file_fill(file_state *s, fl_op *op)
{
    if (s->off) {
        memmove(s->buf, s->buf + s->off, s->len - s->off);
        s->pos += s->off;
        s->len -= s->off;
        s->off = 0;
    }
    if (s->len == s->cap) { /* a line longer than the buffer: grow */
        s->cap *= 2;
        s->buf = fl_xrealloc(s->buf, s->cap);
    }
    ssize_t r;
    do
        r = read(s->fd, s->buf + s->len, s->cap - s->len);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        fl_op_fail(op, "cannot read %s: %s", s->path, strerror(errno));
        return false;
    }
    if (r == 0) {
        s->eof = true;
        return false;
    }
    s->len += (size_t)r;
    return true;
}

/* Positions the reader at splits[cur]: at its recorded line, or for a fresh split past
 * the partial line a previous split owns. */
static bool file_position(file_state *s, fl_op *op)
{
    split *sp = &s->splits[s->cur];
    uint64_t from = sp->pos != UINT64_MAX ? sp->pos : sp->start ? sp->start - 1 : 0;
    if (lseek(s->fd, (off_t)from, SEEK_SET) < 0) {
        fl_op_fail(op, "cannot seek in %s: %s", s->path, strerror(errno));
        return false;
    }
    s->pos = from;
    s->len = s->off = 0;
    s->eof = false;
    if (sp->pos == UINT64_MAX && sp->start) {
        for (;;) {
            uint8_t *nl = s->len > s->off ? memchr(s->buf + s->off, '\n', s->len - s->off) : NULL;
            if (nl) {
                s->off = (size_t)(nl - s->buf) + 1;
                break;
            }
            s->off = s->len;
            if (!file_fill(s, op))
                break;
        }
    }
    s->positioned = true;
    return !op->view->failure->failed;
}

static void emit_line(fl_ctx *ctx, int at, const uint8_t *p, size_t n)
{
    if (n && p[n - 1] == '\r')
        n--;
    fl_connector_api.emit(ctx, at, p, (uint32_t)n, FL_NO_TIMESTAMP);
}

/* The split is read: the next one, and the operator stops waiting for this one. */
static void file_next_split(fl_ctx *ctx, file_state *s)
{
    fl_connector_api.split_finished(ctx, s->cur);
    s->cur++;
    s->positioned = false;
}

static int file_poll(fl_ctx *ctx)
{
    fl_op *op = ctx->op;
    file_state *s = ctx->user;
    size_t emitted = 0;
    while (emitted < READ_CHUNK) {
        if (s->cur >= s->nsplits)
            return FL_SOURCE_END;
        split *sp = &s->splits[s->cur];
        if (!s->positioned && !file_position(s, op))
            return FL_SOURCE_END;
        sp->pos = s->pos + s->off;
        if (sp->pos >= sp->end) { /* the next line belongs to the next split */
            file_next_split(ctx, s);
            continue;
        }
        uint8_t *start = s->buf + s->off;
        uint8_t *nl = memchr(start, '\n', s->len - s->off);
        if (!nl) {
            if (!s->eof && file_fill(s, op))
                continue;
            if (op->view->failure->failed)
                return FL_SOURCE_END;
            if (s->len > s->off) /* a last line without a newline */
                emit_line(ctx, s->cur, start, s->len - s->off);
            s->off = s->len;
            sp->pos = sp->end = s->pos + s->off;
            file_next_split(ctx, s);
            continue;
        }
        size_t n = (size_t)(nl - start);
        emit_line(ctx, s->cur, start, n);
        emitted += n + 1;
        s->off = (size_t)(nl - s->buf) + 1;
        sp->pos = s->pos + s->off;
        if (FL_UNLIKELY(fl_op_should_stop(op)))
            return FL_SOURCE_END;
        if (FL_UNLIKELY(fl_view_output_full(op->view)))
            break; /* the task waits for buffers where it hears its mail */
    }
    return FL_SOURCE_MORE;
}

static int file_add_split(fl_ctx *ctx, int i, const void *state, uint32_t len)
{
    file_state *s = ctx->user;
    if (len != sizeof(split) || i != s->nsplits) {
        fl_op_ctx_fail(ctx, "damaged file source state");
        return -1;
    }
    if (s->nsplits == s->splits_cap) {
        s->splits_cap = s->splits_cap ? s->splits_cap * 2 : 4;
        s->splits = fl_xrealloc(s->splits, (size_t)s->splits_cap * sizeof *s->splits);
    }
    memcpy(&s->splits[s->nsplits++], state, sizeof(split));
    return 0;
}

static uint32_t file_split_state(fl_ctx *ctx, int i, void *buf, uint32_t cap)
{
    file_state *s = ctx->user;
    memcpy(buf, &s->splits[i], sizeof(split));
    return sizeof(split);
}

/* A fresh start: this subtask's share of the file, cut by bytes. */
static int file_discover(fl_ctx *ctx)
{
    const fl_task_view *v = ctx->op->view;
    file_state *s = ctx->user;
    struct stat st;
    if (fstat(s->fd, &st) < 0) {
        fl_op_ctx_fail(ctx, "cannot read input file %s: %s", s->path, strerror(errno));
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    split sp = {
        .start = size * (uint64_t)v->subtask / (uint64_t)v->parallelism,
        .end = v->subtask + 1 == v->parallelism
                   ? UINT64_MAX /* the last reader takes whatever the file has */
                   : size * (uint64_t)(v->subtask + 1) / (uint64_t)v->parallelism,
        .pos = UINT64_MAX,
    };
    return fl_connector_api.add_split(ctx, &sp, sizeof sp) < 0 ? -1 : 0;
}

static void file_close(fl_ctx *ctx)
{
    file_state *s = ctx->user;
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->splits);
    free(s->buf);
    free(s);
    ctx->user = NULL;
}

/* The path is the operator's parameters (fl_read_text_file). */
static int file_open(fl_ctx *ctx)
{
    const Fl__Pb__OperatorSpec *spec = ctx->op->spec;
    size_t plen = spec->params.len;
    file_state *s = fl_xcalloc(1, sizeof *s);
    s->fd = -1;
    ctx->user = s;
    if (plen == 0 || plen >= sizeof s->path) {
        fl_op_ctx_fail(ctx, "text file source without a path");
        return -1;
    }
    memcpy(s->path, spec->params.data, plen);
    s->path[plen] = '\0';
    s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        fl_op_ctx_fail(ctx, "cannot open input file %s: %s", s->path, strerror(errno));
        return -1;
    }
    s->cap = READ_CHUNK;
    s->buf = fl_xmalloc(s->cap);
    return 0;
}

const fl_source_def fl_file_source_def = {
    .name = "text file",
    .open = file_open,
    .discover = file_discover,
    .add_split = file_add_split,
    .poll = file_poll,
    .split_state = file_split_state,
    .close = file_close,
};

/* ---- socket ----------------------------------------------------------------------- */

typedef struct sock_state {
    int fd;
    uint8_t *buf;
    size_t len, cap;
    char peer[300];
} sock_state;

static int src_socket(fl_op *op)
{
    sock_state *s = op->state;
    if (s->len == s->cap) {
        s->cap *= 2;
        s->buf = fl_xrealloc(s->buf, s->cap);
    }
    ssize_t r = recv(s->fd, s->buf + s->len, s->cap - s->len, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return FL_SOURCE_IDLE;
    if (r < 0) {
        fl_op_fail(op, "socket source %s: %s", s->peer, strerror(errno));
        return FL_SOURCE_END;
    }
    if (r == 0) { /* the server closed: flush a last unterminated line and end */
        if (s->len)
            fl_out_emit(&op->out, s->buf, (uint32_t)s->len, FL_NO_TIMESTAMP);
        s->len = 0;
        return FL_SOURCE_END;
    }
    s->len += (size_t)r;
    size_t off = 0;
    uint8_t *nl;
    while ((nl = memchr(s->buf + off, '\n', s->len - off))) {
        size_t n = (size_t)(nl - (s->buf + off));
        if (n && s->buf[off + n - 1] == '\r')
            n--;
        fl_out_emit(&op->out, s->buf + off, (uint32_t)n, FL_NO_TIMESTAMP);
        off = (size_t)(nl - s->buf) + 1;
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
    return FL_SOURCE_MORE;
}

static void sock_release(fl_op *op)
{
    sock_state *s = op->state;
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf);
    free(s);
}

static int init_socket(fl_op *op, fl_err *err)
{
    char hp[300], host[256];
    int port;
    size_t n = op->spec->params.len;
    sock_state *s = fl_xcalloc(1, sizeof *s);
    s->fd = -1;
    op->state = s;
    if (n == 0 || n >= sizeof hp || memchr(op->spec->params.data, '\0', n)) {
        fl_err_set(err, "socket source: the address must be host:port of 1 to %zu bytes",
                   sizeof hp - 1); /* never truncated: a shortened address is another one */
        return -1;
    }
    memcpy(hp, op->spec->params.data, n);
    hp[n] = '\0';
    snprintf(s->peer, sizeof s->peer, "%s", hp);
    struct sockaddr_storage ss;
    int sslen;
    if (fl_parse_host_port(hp, host, sizeof host, &port, err) < 0 ||
        fl_resolve(host, port, &ss, &sslen, err) < 0)
        return -1;
    s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&ss, (socklen_t)sslen) < 0) {
        fl_err_set(err, "socket source cannot connect to %s: %s", hp, strerror(errno));
        return -1;
    }
    s->cap = 64 * 1024;
    s->buf = fl_xmalloc(s->cap);
    return 0;
}

/* ---- sequence ---------------------------------------------------------------------
 * from..to split into contiguous ranges, one per subtask; each range is checkpointed with
 * its next value and dealt round robin on restore. */

typedef struct seq_range {
    int64_t next, last;
    int64_t done; /* 1 when exhausted (int64 keeps the layout free of padding) */
} seq_range;

typedef struct seq_state {
    seq_range *r;
    int n, cur;
} seq_state;

static int src_sequence(fl_op *op)
{
    seq_state *s = op->state;
    for (int k = 0; k < BATCH * 4; k++) {
        while (s->cur < s->n && (s->r[s->cur].done || s->r[s->cur].next > s->r[s->cur].last))
            s->cur++;
        if (s->cur >= s->n)
            return FL_SOURCE_END;
        seq_range *r = &s->r[s->cur];
        int64_t v = r->next;
        fl_out_emit(&op->out, &v, sizeof v, FL_NO_TIMESTAMP);
        if (r->next == INT64_MAX)
            r->done = 1;
        else
            r->next++;
        if (FL_UNLIKELY(fl_view_output_full(op->view)))
            break; /* the task waits for buffers where it hears its mail */
    }
    return FL_SOURCE_MORE;
}

static void seq_snapshot(fl_op *op, int64_t id, fl_items *items)
{
    seq_state *s = op->state;
    for (int i = 0; i < s->n; i++)
        fl_items_add(items, &s->r[i], sizeof(seq_range));
}

static int seq_restore(fl_op *op, const ProtobufCBinaryData *items, size_t n, int64_t id,
                       fl_err *err)
{
    seq_state *s = op->state;
    free(s->r);
    s->r = fl_xcalloc(n + 1, sizeof *s->r);
    s->n = s->cur = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].len != sizeof(seq_range)) {
            fl_err_set(err, "damaged sequence source state");
            return -1;
        }
        memcpy(&s->r[s->n++], items[i].data, sizeof(seq_range));
    }
    return 0;
}

static void seq_release(fl_op *op)
{
    seq_state *s = op->state;
    if (s)
        free(s->r);
    free(s);
}

/* ---- custom -----------------------------------------------------------------------
 * The bundle's fl_source_fn, checkpointed through the position it reports
 * (fl_source_set_position): one state item per subtask that reported one, handed back on
 * restore (fl_source_restored_position). */

#define POSITION_MAX (64 << 10)

typedef struct custom_state {
    uint8_t *pos;             /* the last position reported */
    uint32_t len, cap;
    bool has_pos;
    uint8_t **restored;       /* the positions restored, and their lengths */
    uint32_t *restored_len;
    int nrestored;
} custom_state;

static int src_custom(fl_op *op)
{
    return ((fl_source_fn)op->fn)(&op->ctx, &op->out);
}

static custom_state *custom_of(fl_ctx *ctx, const char *call)
{
    if (ctx->op->ops != &fl_custom_source_ops) {
        fl_op_ctx_fail(ctx, "%s outside a source function of fl_add_source", call);
        return NULL;
    }
    return ctx->op->state;
}

void fl_custom_source_set_position(fl_ctx *ctx, const void *pos, uint32_t len)
{
    custom_state *s = custom_of(ctx, "fl_source_set_position");
    if (!s)
        return;
    if (FL_UNLIKELY(len > POSITION_MAX)) {
        fl_op_ctx_fail(ctx, "fl_source_set_position: a position of %u bytes (at most %d)", len,
                       POSITION_MAX);
        return;
    }
    if (FL_UNLIKELY(len > s->cap)) { /* grows once: no allocation per call */
        s->cap = len < 64 ? 64 : len;
        s->pos = fl_xrealloc(s->pos, s->cap);
    }
    memcpy(s->pos, pos, len);
    s->len = len;
    s->has_pos = true;
}

const void *fl_custom_source_restored_position(fl_ctx *ctx, int index, uint32_t *len)
{
    custom_state *s = custom_of(ctx, "fl_source_restored_position");
    if (!s || index < 0 || index >= s->nrestored) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = s->restored_len[index];
    return s->restored[index];
}

static void custom_snapshot(fl_op *op, int64_t id, fl_items *items)
{
    custom_state *s = op->state;
    if (s->has_pos) {
        fl_items_add(items, s->pos, s->len);
        return;
    }
    /* not reported since the restore: what was restored stays the position */
    for (int i = 0; i < s->nrestored; i++)
        fl_items_add(items, s->restored[i], s->restored_len[i]);
}

static int custom_restore(fl_op *op, const ProtobufCBinaryData *items, size_t n, int64_t id,
                          fl_err *err)
{
    custom_state *s = op->state;
    s->restored = fl_xcalloc(n + 1, sizeof *s->restored);
    s->restored_len = fl_xcalloc(n + 1, sizeof *s->restored_len);
    for (size_t i = 0; i < n; i++) {
        s->restored[i] = fl_xmalloc(items[i].len ? items[i].len : 1);
        memcpy(s->restored[i], items[i].data, items[i].len);
        s->restored_len[i] = (uint32_t)items[i].len;
        s->nrestored++;
    }
    return 0;
}

static void custom_release(fl_op *op)
{
    custom_state *s = op->state;
    if (!s)
        return;
    for (int i = 0; i < s->nrestored; i++)
        free(s->restored[i]);
    free(s->restored);
    free(s->restored_len);
    free(s->pos);
    free(s);
}

static void free_state(fl_op *op)
{
    free(op->state);
}

/* ---- set-up ----------------------------------------------------------------------- */

static int init_elements(fl_op *op, fl_err *err)
{
    elems_state *s = fl_xcalloc(1, sizeof *s);
    op->state = s;
    s->p = op->spec->params.data;
    s->end = s->p + op->spec->params.len;
    if (op->spec->params.len >= 4) {
        memcpy(&s->left, s->p, 4);
        s->p += 4;
    }
    return 0;
}

static int init_sequence(fl_op *op, fl_err *err)
{
    const fl_task_view *v = op->view;
    int64_t range[2];
    if (op->spec->params.len != sizeof range) {
        fl_err_set(err, "sequence source without its range");
        return -1;
    }
    memcpy(range, op->spec->params.data, sizeof range);
    seq_state *s = fl_xcalloc(1, sizeof *s);
    op->state = s;
    s->r = fl_xcalloc(1, sizeof *s->r);
    s->n = 1;
    if (range[1] < range[0]) {
        s->r[0].done = 1;
    } else {
        /* split [from, to] into parallelism contiguous ranges (128-bit safe) */
        __int128 total = (__int128)range[1] - range[0] + 1;
        __int128 a = total * v->subtask / v->parallelism;
        __int128 b = total * (v->subtask + 1) / v->parallelism;
        s->r[0].next = (int64_t)(range[0] + a);
        s->r[0].last = (int64_t)(range[0] + b - 1);
        s->r[0].done = b == a;
    }
    return 0;
}

static int init_custom(fl_op *op, fl_err *err)
{
    op->state = fl_xcalloc(1, sizeof(custom_state));
    if (!op->fn) {
        fl_err_set(err, "custom source without a function");
        return -1;
    }
    return 0;
}

/* fl_from_elements / fl_from_strings: the records given, at parallelism 1 */
const fl_op_ops fl_elements_source_ops = {
    .name = "elements source",
    .init = init_elements,
    .poll = src_elements,
    .process_watermark = fl_op_default_watermark,
    .snapshot_state = elems_snapshot,
    .restore_state = elems_restore,
    .release = free_state,
};


const fl_op_ops fl_socket_source_ops = {
    .name = "socket source",
    .init = init_socket,
    .poll = src_socket,
    .process_watermark = fl_op_default_watermark,
    .release = sock_release,
};

const fl_op_ops fl_sequence_source_ops = {
    .name = "sequence source",
    .init = init_sequence,
    .poll = src_sequence,
    .process_watermark = fl_op_default_watermark,
    .snapshot_state = seq_snapshot,
    .restore_state = seq_restore,
    .release = seq_release,
};

const fl_op_ops fl_custom_source_ops = {
    .name = "custom source",
    .init = init_custom,
    .poll = src_custom,
    .process_watermark = fl_op_default_watermark,
    .snapshot_state = custom_snapshot,
    .restore_state = custom_restore,
    .release = custom_release,
};
