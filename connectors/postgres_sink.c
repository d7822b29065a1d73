/* postgres_sink.c -- the PostgreSQL sink (flint/postgres.h): Flink's JDBC sink on libpq,
 * written against flint/connectors.h. Task thread of its subtask.
 *
 * A record is one row: as many fl_enc_str fields (flint/codec.h) as `columns` names, each
 * the text form of its column's value (PostgreSQL casts it), sent as parameters of a
 * prepared statement, never spliced into SQL. Rows are batched
 * (sink.buffer-flush.max-rows) and a batch goes out in libpq's pipeline mode: one round
 * trip per batch.
 *
 * sink.delivery-guarantee:
 *   at-least-once  a batch is its own transaction; flushed when full, every
 *                  sink.buffer-flush.interval and at each barrier. With key-columns the
 *                  statement is an upsert (INSERT ... ON CONFLICT (keys) DO UPDATE), which
 *                  a replay repeats with the same result: idempotent, exactly-once in
 *                  effect (the tutorial's 10.4).
 *   exactly-once   PostgreSQL's two-phase commit (Flink's JDBC exactly-once sink, with XA):
 *                  one transaction per checkpoint, PREPARE TRANSACTION '<gid>' at the barrier
 *                  with gid = flint-<job>-<subtask>-<checkpoint>, COMMIT PREPARED when the
 *                  checkpoint completes, on a second connection (the first may already be in
 *                  the next checkpoint's transaction, where COMMIT PREPARED is refused; a gid that no longer exists was committed before:
 *                  commit is idempotent). recover() rolls back this job's prepared
 *                  transactions of checkpoints after the restored one (all of them on a
 *                  fresh start), for the subtasks this one stands for at its parallelism.
 *                  Needs max_prepared_transactions > 0 on the server.
 */
#include "conn_buf.h"

#include <flint/codec.h>
#include <flint/postgres.h>
#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "PostgreSQL sink"
#define MAX_COLS 64

typedef struct pgw {
    PGconn *conn;
    /* exactly-once: COMMIT PREPARED cannot run inside a transaction block, and by the time
     * a checkpoint completes conn may already be in the next checkpoint's transaction */
    PGconn *commit_conn;
    bool exactly_once, in_txn;
    int ncols, max_rows, rows;
    int64_t interval_ms, last_flush_ms;
    char url_shown[512];
    char job[40];
    /* the batch: each row's fields as NUL-terminated strings back to back */
    char *buf;
    size_t len, cap;
    const char **params;
    /* plain inserts (no key-columns) go in by COPY FROM STDIN, PostgreSQL's bulk path: the
     * batch as COPY's text format in copy_buf */
    char copy_sql[4700];
    char *copy_buf;
    size_t copy_cap;
} pgw;

/* The url with a password (user:password@) masked, for messages. */
static void mask_url(const char *url, char *out, size_t cap)
{
    const char *at = strchr(url, '@'), *scheme = strstr(url, "://");
    const char *colon = scheme && at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (colon)
        snprintf(out, cap, "%.*s:***%s", (int)(colon - url), url, at);
    else
        snprintf(out, cap, "%s", url);
}

static const char *opt(fl_ctx *ctx, const char *key, const char *dflt)
{
    uint32_t len;
    const void *cfg = fl_connector_config(ctx, &len);
    return fl_props_get(cfg, len, key, dflt);
}

/* A quoted identifier list from "a,b,c" (each name double-quoted), into out. */
static int ident_list(fl_ctx *ctx, const char *names, const char *option, const char *prefix,
                      char *out, size_t cap, int *count)
{
    size_t o = 0;
    int n = 0;
    for (const char *p = names; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l && *p == ' ')
            p++, l--;
        while (l && p[l - 1] == ' ')
            l--;
        if (!l || memchr(p, '"', l)) {
            fl_ctx_fail(ctx, WHO ": %s must be column names separated by commas, not '%s'",
                        option, names);
            return -1;
        }
        int w = snprintf(out + o, cap - o, "%s\"%.*s\"%s%.*s%s", n ? "," : "", (int)l, p,
                         prefix ? "=EXCLUDED.\"" : "", prefix ? (int)l : 0, p,
                         prefix ? "\"" : "");
        if (w < 0 || (size_t)w >= cap - o) {
            fl_ctx_fail(ctx, WHO ": %s is too long", option);
            return -1;
        }
        o += (size_t)w;
        n++;
        p += (e ? (size_t)(e - p) + 1 : l);
    }
    *count = n;
    return 0;
}

static int fail_pg(fl_ctx *ctx, pgw *w, const char *what, PGresult *r)
{
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(w->conn);
    size_t l = strlen(msg);
    fl_ctx_fail(ctx, WHO " (url %s): %s: %.*s", w->url_shown, what,
                (int)(l && msg[l - 1] == '\n' ? l - 1 : l), msg);
    if (r)
        PQclear(r);
    return -1;
}

static int exec(fl_ctx *ctx, pgw *w, const char *sql, const char *what)
{
    PGresult *r = PQexec(w->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        return fail_pg(ctx, w, what, r);
    PQclear(r);
    return 0;
}

/* The statement: INSERT, or an upsert on key-columns. */
static int prepare(fl_ctx *ctx, pgw *w)
{
    const char *table = opt(ctx, "table-name", "");
    if (!*table || strchr(table, '"')) {
        fl_ctx_fail(ctx, WHO ": set the option table-name (a table name, without quotes)");
        return -1;
    }
    char cols[4096], keys[2048], sets[8192], sql[16384], ph[1024];
    int nk = 0, ns = 0;
    if (ident_list(ctx, opt(ctx, "columns", ""), "columns", NULL, cols, sizeof cols,
                   &w->ncols) < 0)
        return -1;
    if (w->ncols < 1 || w->ncols > MAX_COLS) {
        fl_ctx_fail(ctx, WHO ": columns must name 1 to %d columns", MAX_COLS);
        return -1;
    }
    const char *key_cols = opt(ctx, "key-columns", "");
    if (*key_cols && (ident_list(ctx, key_cols, "key-columns", NULL, keys, sizeof keys, &nk) < 0 ||
                      ident_list(ctx, opt(ctx, "columns", ""), "columns", "", sets, sizeof sets,
                                 &ns) < 0))
        return -1;
    size_t o = 0;
    for (int i = 0; i < w->ncols; i++)
        o += (size_t)snprintf(ph + o, sizeof ph - o, "%s$%d", i ? "," : "", i + 1);
    /* table-name may be schema.table: quote each part */
    char qt[512];
    const char *dot = strchr(table, '.');
    if (dot)
        snprintf(qt, sizeof qt, "\"%.*s\".\"%s\"", (int)(dot - table), table, dot + 1);
    else
        snprintf(qt, sizeof qt, "\"%s\"", table);
    if (nk)
        snprintf(sql, sizeof sql, "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s",
                 qt, cols, ph, keys, sets);
    else
        snprintf(sql, sizeof sql, "INSERT INTO %s (%s) VALUES (%s)", qt, cols, ph);
    if (!nk)
        snprintf(w->copy_sql, sizeof w->copy_sql, "COPY %s (%s) FROM STDIN", qt, cols);
    PGresult *r = PQprepare(w->conn, "flint_row", sql, w->ncols, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return fail_pg(ctx, w, "cannot prepare the statement (options table-name, columns, "
                               "key-columns)", r);
    PQclear(r);
    return 0;
}

int fl_postgres_sink_open(fl_ctx *ctx);
int fl_postgres_sink_open(fl_ctx *ctx)
{
    pgw *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    fl_ctx_set_user(ctx, w);
    snprintf(w->job, sizeof w->job, "%s", fl_ctx_job_id(ctx));
    const char *g = opt(ctx, "sink.delivery-guarantee", "at-least-once");
    w->exactly_once = !strcmp(g, "exactly-once");
    if (!w->exactly_once && strcmp(g, "at-least-once")) {
        fl_ctx_fail(ctx, WHO ": sink.delivery-guarantee must be at-least-once or exactly-once, "
                         "not '%s'", g);
        return -1;
    }
    w->max_rows = atoi(opt(ctx, "sink.buffer-flush.max-rows", "100"));
    w->interval_ms = atoll(opt(ctx, "sink.buffer-flush.interval", "1000"));
    if (w->max_rows < 1) {
        fl_ctx_fail(ctx, WHO ": sink.buffer-flush.max-rows must be at least 1");
        return -1;
    }
    const char *url = opt(ctx, "url", "");
    if (!strncmp(url, "jdbc:", 5))
        url += 5; /* Flink's jdbc:postgresql://host:port/db */
    if (!*url) {
        fl_ctx_fail(ctx, WHO ": set the option url (postgresql://host:port/database)");
        return -1;
    }
    mask_url(url, w->url_shown, sizeof w->url_shown);
    /* the url expands into its parts; username and password, when given, override */
    const char *kw[5] = {"dbname", "connect_timeout"}, *val[5] = {url, "10"};
    int n = 2;
    const char *user = opt(ctx, "username", ""), *password = opt(ctx, "password", "");
    if (*user)
        kw[n] = "user", val[n++] = user;
    if (*password)
        kw[n] = "password", val[n++] = password;
    kw[n] = val[n] = NULL;
    w->conn = PQconnectdbParams(kw, val, 1);
    if (PQstatus(w->conn) != CONNECTION_OK)
        return fail_pg(ctx, w, "cannot connect", NULL);
    if (w->exactly_once) {
        w->commit_conn = PQconnectdbParams(kw, val, 1);
        if (PQstatus(w->commit_conn) != CONNECTION_OK) {
            PQfinish(w->conn); /* fail_pg reports the commit connection's error */
            w->conn = w->commit_conn;
            w->commit_conn = NULL;
            return fail_pg(ctx, w, "cannot connect", NULL);
        }
    }
    if (prepare(ctx, w) < 0)
        return -1;
    w->params = calloc((size_t)w->ncols, sizeof *w->params);
    return w->params ? 0 : -1;
}

void fl_postgres_sink_write(fl_ctx *ctx, const fl_rec *in);

/* The batch as COPY's text format: fields separated by tabs, rows ended by newlines, a
 * backslash, tab, newline or carriage return in a value escaped. */
static size_t copy_text(pgw *w)
{
    size_t o = 0;
    const char *p = w->buf;
    /* at most twice the bytes (every byte escaped) plus the separators */
    fl_conn_reserve(&w->copy_buf, &w->copy_cap, 2 * w->len + 1);
    for (int r = 0; r < w->rows; r++)
        for (int c = 0; c < w->ncols; c++) {
            for (; *p; p++) {
                char e = *p == '\\' ? '\\'
                         : *p == '\t' ? 't'
                         : *p == '\n' ? 'n'
                         : *p == '\r' ? 'r'
                                      : 0;
                if (e) {
                    w->copy_buf[o++] = '\\';
                    w->copy_buf[o++] = e;
                } else {
                    w->copy_buf[o++] = *p;
                }
            }
            p++;
            w->copy_buf[o++] = c + 1 < w->ncols ? '\t' : '\n';
        }
    return o;
}

/* Plain inserts: the batch in one COPY FROM STDIN. */
static int copy_batch(fl_ctx *ctx, pgw *w)
{
    size_t n = copy_text(w);
    w->rows = 0;
    w->len = 0;
    PGresult *r = PQexec(w->conn, w->copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return fail_pg(ctx, w, "COPY failed", r);
    PQclear(r);
    if (PQputCopyData(w->conn, w->copy_buf, (int)n) != 1 || PQputCopyEnd(w->conn, NULL) != 1)
        return fail_pg(ctx, w, "the connection was lost while writing", NULL);
    int rc = 0;
    while ((r = PQgetResult(w->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
            rc = fail_pg(ctx, w, "a row was rejected", r);
            continue;
        }
        PQclear(r);
    }
    return rc;
}

/* Sends the batch in one pipeline, or one COPY (inside the open transaction in
 * exactly-once mode). */
static int flush_batch(fl_ctx *ctx, pgw *w)
{
    if (!w->rows)
        return 0;
    if (w->exactly_once && !w->in_txn) {
        if (exec(ctx, w, "BEGIN", "BEGIN") < 0)
            return -1;
        w->in_txn = true;
    }
    if (w->copy_sql[0] && w->len < (size_t)INT32_MAX / 2)
        return copy_batch(ctx, w);
    if (!PQenterPipelineMode(w->conn))
        return fail_pg(ctx, w, "cannot enter pipeline mode", NULL);
    const char *p = w->buf;
    for (int r = 0; r < w->rows; r++) {
        for (int c = 0; c < w->ncols; c++) {
            w->params[c] = p;
            p += strlen(p) + 1;
        }
        if (!PQsendQueryPrepared(w->conn, "flint_row", w->ncols, w->params, NULL, NULL, 0))
            return fail_pg(ctx, w, "cannot send a row", NULL);
    }
    PQpipelineSync(w->conn);
    int rc = 0;
    for (int r = 0; r <= w->rows; r++) {
        PGresult *res = PQgetResult(w->conn);
        if (!res)
            return fail_pg(ctx, w, "the connection was lost while writing", NULL);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        if (st != PGRES_COMMAND_OK && rc == 0) {
            rc = fail_pg(ctx, w, "a row was rejected", res);
            res = NULL;
        }
        if (res)
            PQclear(res);
        PGresult *nul = PQgetResult(w->conn); /* each statement's results end with NULL */
        if (nul)
            PQclear(nul);
    }
    /* drain to the sync if a failure left some */
    PGresult *res;
    while (rc < 0 && (res = PQgetResult(w->conn)) != NULL) {
        bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync)
            break;
    }
    PQexitPipelineMode(w->conn);
    w->rows = 0;
    w->len = 0;
    return rc;
}

void fl_postgres_sink_write(fl_ctx *ctx, const fl_rec *in)
{
    pgw *w = fl_ctx_user(ctx);
    fl_dec d = fl_dec_init(in->data, in->len);
    size_t need = w->len + in->len + (size_t)w->ncols;
    fl_conn_reserve(&w->buf, &w->cap, need);
    size_t at = w->len;
    for (int c = 0; c < w->ncols; c++) {
        uint32_t n;
        const char *s = fl_dec_str(&d, &n);
        if (!s || memchr(s, '\0', n)) {
            d.bad = true;
            break;
        }
        memcpy(w->buf + at, s, n);
        w->buf[at + n] = '\0';
        at += n + 1;
    }
    if (d.bad || !fl_dec_done(&d)) {
        fl_ctx_fail(ctx, WHO ": a record of %u bytes is not %d text fields (option columns; "
                         "fl_enc_str of flint/codec.h, without NUL bytes)", in->len, w->ncols);
        return;
    }
    w->len = at;
    if (++w->rows >= w->max_rows)
        flush_batch(ctx, w);
}

static void gid_of(const pgw *w, int subtask, int64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "flint-%s-%d-%lld", w->job, subtask, (long long)id);
}

int fl_postgres_sink_pre_commit(fl_ctx *ctx, int64_t id);
int fl_postgres_sink_pre_commit(fl_ctx *ctx, int64_t id)
{
    pgw *w = fl_ctx_user(ctx);
    if (flush_batch(ctx, w) < 0)
        return -1;
    if (!w->exactly_once || !w->in_txn)
        return 0;
    char gid[128], sql[200];
    gid_of(w, fl_ctx_subtask(ctx), id == FL_SINK_END_OF_INPUT ? INT64_MAX : id, gid, sizeof gid);
    snprintf(sql, sizeof sql, "PREPARE TRANSACTION '%s'", gid);
    w->in_txn = false;
    if (exec(ctx, w, sql, "PREPARE TRANSACTION failed") < 0)
        return -1;
    fl_sink_add_committable(ctx, gid, (uint32_t)strlen(gid));
    return 0;
}

int fl_postgres_sink_commit(fl_ctx *ctx, int64_t id, const void *data, uint32_t len);
int fl_postgres_sink_commit(fl_ctx *ctx, int64_t id, const void *data, uint32_t len)
{
    pgw *w = fl_ctx_user(ctx);
    char sql[200];
    if (len > 120 || memchr(data, '\'', len)) {
        fl_ctx_fail(ctx, WHO ": damaged committable of checkpoint %lld", (long long)id);
        return -1;
    }
    snprintf(sql, sizeof sql, "COMMIT PREPARED '%.*s'", (int)len, (const char *)data);
    PGresult *r = PQexec(w->commit_conn ? w->commit_conn : w->conn, sql);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (PQresultStatus(r) == PGRES_COMMAND_OK || (state && !strcmp(state, "42704"))) {
        PQclear(r); /* 42704: no such prepared transaction -- committed before */
        return 0;
    }
    return fail_pg(ctx, w, "COMMIT PREPARED failed", r);
}

int fl_postgres_sink_recover(fl_ctx *ctx, int64_t restored);
int fl_postgres_sink_recover(fl_ctx *ctx, int64_t restored)
{
    pgw *w = fl_ctx_user(ctx);
    if (!w->exactly_once)
        return 0;
    char prefix[80];
    snprintf(prefix, sizeof prefix, "flint-%s-", w->job);
    const char *params[1] = {prefix};
    PGresult *r = PQexecParams(w->conn,
                               "SELECT gid FROM pg_prepared_xacts WHERE database = "
                               "current_database() AND left(gid, length($1)) = $1",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return fail_pg(ctx, w, "cannot list the prepared transactions", r);
    int rc = 0, me = fl_ctx_subtask(ctx), par = fl_ctx_parallelism(ctx);
    size_t pl = strlen(prefix);
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *gid = PQgetvalue(r, i, 0);
        int subtask;
        long long cp;
        if (sscanf(gid + pl, "%d-%lld", &subtask, &cp) != 2 || subtask % par != me ||
            (restored >= 0 && cp <= restored))
            continue;
        char sql[200];
        snprintf(sql, sizeof sql, "ROLLBACK PREPARED '%s'", gid);
        rc = exec(ctx, w, sql, "ROLLBACK PREPARED of an earlier attempt's transaction failed");
    }
    PQclear(r);
    return rc;
}

void fl_postgres_sink_tick(fl_ctx *ctx, int64_t now_ms);
void fl_postgres_sink_tick(fl_ctx *ctx, int64_t now_ms)
{
    pgw *w = fl_ctx_user(ctx);
    if (w->interval_ms > 0 && now_ms - w->last_flush_ms >= w->interval_ms) {
        w->last_flush_ms = now_ms;
        flush_batch(ctx, w);
    }
}

void fl_postgres_sink_close(fl_ctx *ctx);
void fl_postgres_sink_close(fl_ctx *ctx)
{
    pgw *w = fl_ctx_user(ctx);
    if (!w)
        return;
    if (w->conn)
        PQfinish(w->conn); /* an open transaction rolls back; prepared ones stay */
    if (w->commit_conn)
        PQfinish(w->commit_conn);
    free(w->buf);
    free(w->copy_buf);
    free(w->params);
    free(w);
    fl_ctx_set_user(ctx, NULL);
}

const fl_sink_def fl_postgres_sink_def = {
    .name = "PostgreSQL",
    .open = fl_postgres_sink_open,
    .write = fl_postgres_sink_write,
    .pre_commit = fl_postgres_sink_pre_commit,
    .commit = fl_postgres_sink_commit,
    .recover = fl_postgres_sink_recover,
    .tick = fl_postgres_sink_tick,
    .close = fl_postgres_sink_close,
};
