/* zk.c -- see zk.h. The ZooKeeper multi-threaded client runs two threads of its own per
 * session (I/O and completions); its watcher runs on the completion thread and only posts
 * mails. zk_status is the one place a ZooKeeper return code becomes a Flint status. */
#include "zk.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the multi-threaded client: its synchronous calls exist only with THREADED */
#define THREADED
#include <zookeeper/zookeeper.h>

/* What one session's watcher knows: its owner and its generation. Freed after the session
 * is closed (its threads are gone then). */
typedef struct zk_session {
    struct zk_link *link;
    uint64_t gen;
} zk_session;

/* Shared by the fl_zk and its mails in flight: a mail that runs after fl_zk_free (on the
 * owner's thread, so never at the same time) sees `closed` and does nothing. */
typedef struct zk_link {
    atomic_int refs;
    atomic_bool closed;
    struct fl_zk *zk;
} zk_link;

struct fl_zk {
    fl_zk_conf conf;
    fl_zk_events ev;
    bool has_events;
    pthread_rwlock_t lock; /* read: a call on zh; write: replacing zh */
    zhandle_t *zh;
    zk_session *session;
    atomic_uint_fast64_t gen;
    zk_link *link;
};

/* ---- configuration ---------------------------------------------------------------- */

bool fl_ha_enabled(const fl_conf *conf)
{
    const char *key = fl_conf_contains(conf, "high-availability.type") ? "high-availability.type"
                                                                       : "high-availability";
    const char *v = fl_conf_get_str(conf, key);
    return v && strcasecmp(v, "zookeeper") == 0;
}

int fl_zk_check_path(const char *path, bool absolute, fl_err *err)
{
    size_t n = strlen(path);
    if (n == 0) {
        fl_err_set(err, "it is empty");
        return -1;
    }
    if (absolute && path[0] != '/') {
        fl_err_set(err, "'%s' does not start with '/'", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f) {
            fl_err_set(err, "it holds a control character (0x%02x)", c);
            return -1;
        }
        if (!absolute && c == '/') {
            fl_err_set(err, "'%s' holds a '/'", path);
            return -1;
        }
    }
    /* every component: not empty, not . or .. */
    const char *p = absolute ? path + 1 : path;
    while (*p || (absolute && p == path + 1 && n == 1)) {
        size_t len = strcspn(p, "/");
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && !strncmp(p, "..", 2))) {
            fl_err_set(err, "'%s' has an empty, '.' or '..' component", path);
            return -1;
        }
        p += len;
        if (*p == '/')
            p++;
        if (!*p && p[-1] == '/') {
            fl_err_set(err, "'%s' ends with '/'", path);
            return -1;
        }
    }
    return 0;
}

/* Appends a path key's value to out, as "/a/b" (a missing leading '/' is added). */
static int add_root_part(char *out, size_t cap, const fl_conf *conf, const char *key,
                         fl_err *err)
{
    const char *v = fl_conf_get_str(conf, key);
    char part[256];
    snprintf(part, sizeof part, "%s%s", v[0] == '/' ? "" : "/", v);
    if (strcmp(part, "/") == 0)
        return 0;
    if (fl_zk_check_path(part, true, err) < 0) {
        fl_err_prefix(err, "%s", key);
        return -1;
    }
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s", part);
    return 0;
}

int fl_zk_conf_load(const fl_conf *conf, fl_zk_conf *out, fl_err *err)
{
    memset(out, 0, sizeof *out);
    const char *q = fl_conf_get_str(conf, "high-availability.zookeeper.quorum");
    if (!q || !*q) {
        fl_err_set(err, "high-availability.zookeeper.quorum is not set: high availability "
                        "(high-availability.type: zookeeper) needs the ZooKeeper servers, "
                        "host:port[,host:port...]");
        return -1;
    }
    snprintf(out->quorum, sizeof out->quorum, "%s", q);
    /* host:port[,host:port]: each part parses; no chroot suffix (paths are ours) */
    for (const char *p = q; *p;) {
        size_t len = strcspn(p, ",");
        char one[300], host[256];
        int port;
        if (len == 0 || len >= sizeof one) {
            fl_err_set(err, "high-availability.zookeeper.quorum: '%s' is not a list of "
                            "host:port", q);
            return -1;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        if (strchr(one, '/') || fl_parse_host_port(one, host, sizeof host, &port, err) < 0 ||
            port < 1 || port > 65535) {
            fl_err_set(err, "high-availability.zookeeper.quorum: '%s' is not host:port", one);
            return -1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (add_root_part(out->root, sizeof out->root, conf, "high-availability.zookeeper.path.root",
                      err) < 0 ||
        add_root_part(out->root, sizeof out->root, conf, "high-availability.cluster-id", err) < 0)
        return -1;
    if (!out->root[0] || !strcmp(out->root, "/zookeeper") ||
        !strncmp(out->root, "/zookeeper/", 11)) {
        fl_err_set(err, "high-availability.zookeeper.path.root and cluster-id name '%s': "
                        "ZooKeeper's own tree, not a place for a cluster", out->root);
        return -1;
    }
    out->session_timeout_ms =
        fl_conf_get_duration_ms(conf, "high-availability.zookeeper.client.session-timeout");
    out->connection_timeout_ms =
        fl_conf_get_duration_ms(conf, "high-availability.zookeeper.client.connection-timeout");
    out->retry_wait_ms =
        fl_conf_get_duration_ms(conf, "high-availability.zookeeper.client.retry-wait");
    out->max_retries =
        (int)fl_conf_get_int(conf, "high-availability.zookeeper.client.max-retry-attempts");
    return 0;
}

/* ---- ZooKeeper's codes and log lines ------------------------------------------------ */

/* The one place a ZooKeeper return code becomes a Flint status (zk.h). */
static int zk_status(int zrc, const char *op, const char *path, fl_err *err)
{
    int st;
    const char *what;
    if (zrc == ZOK)
        return 0;
    if (zrc == ZNONODE) {
        st = FL_ZK_NONODE, what = "no such node";
    } else if (zrc == ZNODEEXISTS) {
        st = FL_ZK_EXISTS, what = "the node exists";
    } else if (zrc == ZBADVERSION) {
        st = FL_ZK_BADVERSION, what = "version mismatch (changed by someone else)";
    } else if (zrc == ZNOTEMPTY) {
        st = FL_ZK_NOTEMPTY, what = "the node has children";
    } else if (zrc == ZCONNECTIONLOSS || zrc == ZOPERATIONTIMEOUT || zrc == ZCLOSING) {
        st = FL_ZK_CONNLOSS, what = "connection to ZooKeeper lost";
    } else if (zrc == ZSESSIONEXPIRED || zrc == ZINVALIDSTATE || zrc == ZAUTHFAILED ||
               zrc == ZSESSIONMOVED) {
        st = FL_ZK_EXPIRED, what = "the ZooKeeper session expired";
    } else {
        st = -1, what = zerror(zrc);
    }
    fl_err_set(err, "ZooKeeper %s %s: %s", op, path, what);
    return st;
}

/* The client's log lines ("...:ZOO_ERROR@func@line: text") in ours: its errors as rate-
 * limited warnings (a lost server is an error on every reconnection attempt), its warnings
 * as information. */
static void zk_log(const char *message)
{
    const char *m = strstr(message, "ZOO_");
    m = m ? m : message;
    int n = (int)strcspn(m, "\n");
    if (!strncmp(m, "ZOO_ERROR", 9))
        fl_log_every(FL_LOG_WARN, 10, "ZooKeeper client: %.*s", n, m);
    else if (!strncmp(m, "ZOO_WARN", 8))
        fl_log_every(FL_LOG_INFO, 10, "ZooKeeper client: %.*s", n, m);
    else
        fl_debug("ZooKeeper client: %.*s", n, m);
}

static pthread_once_t level_once = PTHREAD_ONCE_INIT;

static void set_level(void)
{
    zoo_set_debug_level(fl_log_min_level <= FL_LOG_DEBUG ? ZOO_LOG_LEVEL_INFO
                                                         : ZOO_LOG_LEVEL_WARN);
}

/* ---- events --------------------------------------------------------------------------- */

typedef struct zk_mail {
    zk_link *link;
    uint64_t gen;
    bool is_state;
    int value; /* state or event */
    char path[512];
} zk_mail;

static void link_unref(zk_link *l)
{
    if (atomic_fetch_sub(&l->refs, 1) == 1)
        free(l);
}

static void drop_mail(void *arg)
{
    zk_mail *m = arg;
    link_unref(m->link);
    free(m);
}

static void run_mail(void *ctx, void *arg)
{
    zk_mail *m = arg;
    fl_zk *zk = m->link->zk;
    if (!atomic_load(&m->link->closed) && m->gen == atomic_load(&zk->gen)) {
        if (m->is_state && zk->ev.state)
            zk->ev.state(zk->ev.ctx, zk, m->value);
        else if (!m->is_state && zk->ev.watch)
            zk->ev.watch(zk->ev.ctx, zk, m->path, m->value);
    }
    drop_mail(m);
}

/* ZooKeeper's watcher: the completion thread of one session. */
static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    zk_session *s = ctx;
    zk_link *l = s->link;
    fl_zk *zk = l->zk;
    if (atomic_load(&l->closed) || !zk->has_events)
        return;
    zk_mail *m = fl_xcalloc(1, sizeof *m);
    m->link = l;
    m->gen = s->gen;
    if (type == ZOO_SESSION_EVENT) {
        m->is_state = true;
        m->value = state == ZOO_CONNECTED_STATE                               ? FL_ZK_CONNECTED
                   : state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE
                       ? FL_ZK_SESSION_EXPIRED
                       : FL_ZK_CONNECTING;
    } else {
        size_t rl = strlen(zk->conf.root);
        const char *rel = path && !strncmp(path, zk->conf.root, rl) ? path + rl : path;
        snprintf(m->path, sizeof m->path, "%s", rel && *rel ? rel : "/");
        m->value = type == ZOO_CREATED_EVENT   ? FL_ZK_CREATED
                   : type == ZOO_DELETED_EVENT ? FL_ZK_DELETED
                   : type == ZOO_CHANGED_EVENT ? FL_ZK_CHANGED
                                               : FL_ZK_CHILD;
    }
    atomic_fetch_add(&l->refs, 1);
    fl_endpoint_post(zk->ev.ep, run_mail, m, drop_mail);
}

/* ---- sessions ------------------------------------------------------------------------- */

/* Opens a new session (write lock held, or not yet shared). */
static int open_session(fl_zk *zk, fl_err *err)
{
    zk_session *s = fl_xcalloc(1, sizeof *s);
    s->link = zk->link;
    s->gen = atomic_fetch_add(&zk->gen, 1) + 1;
    zk->zh = zookeeper_init2(zk->conf.quorum, watcher, (int)zk->conf.session_timeout_ms, NULL, s,
                             0, zk_log);
    if (!zk->zh) {
        fl_err_set(err, "cannot create a ZooKeeper client for %s "
                        "(high-availability.zookeeper.quorum): %s",
                   zk->conf.quorum, strerror(errno));
        free(s);
        return -1;
    }
    zk->session = s;
    return 0;
}

static void close_session(fl_zk *zk)
{
    if (zk->zh)
        zookeeper_close(zk->zh); /* joins its threads: no watcher runs after this */
    zk->zh = NULL;
    free(zk->session);
    zk->session = NULL;
}

fl_zk *fl_zk_new(const fl_zk_conf *conf, const fl_zk_events *events, fl_err *err)
{
    pthread_once(&level_once, set_level);
    fl_zk *zk = fl_xcalloc(1, sizeof *zk);
    zk->conf = *conf;
    if (events) {
        zk->ev = *events;
        zk->has_events = true;
    }
    pthread_rwlock_init(&zk->lock, NULL);
    zk->link = fl_xcalloc(1, sizeof *zk->link);
    atomic_init(&zk->link->refs, 1);
    zk->link->zk = zk;
    if (open_session(zk, err) < 0) {
        fl_zk_free(zk);
        return NULL;
    }
    return zk;
}

void fl_zk_free(fl_zk *zk)
{
    if (!zk)
        return;
    atomic_store(&zk->link->closed, true);
    pthread_rwlock_wrlock(&zk->lock);
    close_session(zk);
    pthread_rwlock_unlock(&zk->lock);
    pthread_rwlock_destroy(&zk->lock);
    link_unref(zk->link);
    free(zk);
}

int fl_zk_restart(fl_zk *zk, fl_err *err)
{
    pthread_rwlock_wrlock(&zk->lock);
    close_session(zk);
    int rc = open_session(zk, err);
    pthread_rwlock_unlock(&zk->lock);
    return rc;
}

static bool connected_locked(fl_zk *zk)
{
    return zk->zh && zoo_state(zk->zh) == ZOO_CONNECTED_STATE;
}

bool fl_zk_is_connected(fl_zk *zk)
{
    pthread_rwlock_rdlock(&zk->lock);
    bool c = connected_locked(zk);
    pthread_rwlock_unlock(&zk->lock);
    return c;
}

int fl_zk_wait_connected(fl_zk *zk, int64_t timeout_ms, fl_err *err)
{
    int64_t end = fl_mono_ms() + timeout_ms;
    while (!fl_zk_is_connected(zk)) {
        if (fl_mono_ms() >= end) {
            fl_err_set(err, "cannot reach ZooKeeper at %s within %lld ms "
                            "(high-availability.zookeeper.client.connection-timeout)",
                       zk->conf.quorum, (long long)timeout_ms);
            return FL_ZK_CONNLOSS;
        }
        usleep(10 * 1000);
    }
    return 0;
}

int64_t fl_zk_session_id(fl_zk *zk)
{
    pthread_rwlock_rdlock(&zk->lock);
    const clientid_t *id = zk->zh ? zoo_client_id(zk->zh) : NULL;
    int64_t sid = id ? id->client_id : 0;
    pthread_rwlock_unlock(&zk->lock);
    return sid;
}

int64_t fl_zk_session_timeout(fl_zk *zk)
{
    pthread_rwlock_rdlock(&zk->lock);
    int64_t t = connected_locked(zk) ? zoo_recv_timeout(zk->zh) : zk->conf.session_timeout_ms;
    pthread_rwlock_unlock(&zk->lock);
    return t;
}

const fl_zk_conf *fl_zk_conf_of(const fl_zk *zk)
{
    return &zk->conf;
}

/* ---- calls ---------------------------------------------------------------------------- */

/* Takes the read lock for a call, or fails at once when there is no connection. */
static int call_begin(fl_zk *zk, const char *op, const char *path, fl_err *err)
{
    pthread_rwlock_rdlock(&zk->lock);
    if (connected_locked(zk))
        return 0;
    pthread_rwlock_unlock(&zk->lock);
    fl_err_set(err, "ZooKeeper %s %s: not connected to %s", op, path, zk->conf.quorum);
    return FL_ZK_CONNLOSS;
}

static void call_end(fl_zk *zk)
{
    pthread_rwlock_unlock(&zk->lock);
}

static void full_path(const fl_zk *zk, const char *path, char *out, size_t len)
{
    snprintf(out, len, "%s%s", zk->conf.root, strcmp(path, "/") ? path : "");
}

static int zk_flags(int flags)
{
    return ((flags & FL_ZK_EPHEMERAL) ? ZOO_EPHEMERAL : 0) |
           ((flags & FL_ZK_SEQUENTIAL) ? ZOO_SEQUENCE : 0);
}

int fl_zk_create(fl_zk *zk, const char *path, const void *data, size_t len, int flags,
                 char *created, size_t createdlen, fl_err *err)
{
    char full[1024], out[1100];
    full_path(zk, path, full, sizeof full);
    int st = call_begin(zk, "create", full, err);
    if (st < 0)
        return st;
    int zrc = zoo_create(zk->zh, full, data, data ? (int)len : -1, &ZOO_OPEN_ACL_UNSAFE,
                         zk_flags(flags), out, sizeof out);
    call_end(zk);
    st = zk_status(zrc, "create", full, err);
    if (st == 0 && created) {
        size_t rl = strlen(zk->conf.root);
        snprintf(created, createdlen, "%s", strncmp(out, zk->conf.root, rl) ? out : out + rl);
    }
    return st;
}

int fl_zk_mkdirs(fl_zk *zk, const char *path, fl_err *err)
{
    char part[1024];
    /* the root's own components first, then path's */
    char whole[1100];
    snprintf(whole, sizeof whole, "%s%s", zk->conf.root, strcmp(path, "/") ? path : "");
    for (char *p = whole + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        size_t n = (size_t)(p - whole);
        memcpy(part, whole, n);
        part[n] = '\0';
        int st = call_begin(zk, "create", part, err);
        if (st < 0)
            return st;
        int zrc = zoo_create(zk->zh, part, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        call_end(zk);
        st = zk_status(zrc, "create", part, err);
        if (st < 0 && st != FL_ZK_EXISTS)
            return st;
        if (!*p)
            return 0;
    }
}

int fl_zk_get(fl_zk *zk, const char *path, bool watch, char **data, size_t *len, int *version,
              int64_t *owner, fl_err *err)
{
    char full[1024];
    full_path(zk, path, full, sizeof full);
    int cap = 64 * 1024;
    for (;;) {
        char *buf = fl_xmalloc((size_t)cap + 1);
        int n = cap;
        struct Stat stat;
        int st = call_begin(zk, "get", full, err);
        if (st < 0) {
            free(buf);
            return st;
        }
        int zrc = zoo_get(zk->zh, full, watch, buf, &n, &stat);
        call_end(zk);
        if ((st = zk_status(zrc, "get", full, err)) < 0) {
            free(buf);
            return st;
        }
        if (stat.dataLength > cap) { /* larger than the buffer: again, with its size */
            free(buf);
            cap = stat.dataLength;
            continue;
        }
        n = n < 0 ? 0 : n;
        buf[n] = '\0';
        *data = buf;
        *len = (size_t)n;
        if (version)
            *version = stat.version;
        if (owner)
            *owner = stat.ephemeralOwner;
        return 0;
    }
}

int fl_zk_exists(fl_zk *zk, const char *path, bool watch, int *version, int64_t *owner,
                 fl_err *err)
{
    char full[1024];
    full_path(zk, path, full, sizeof full);
    struct Stat stat;
    int st = call_begin(zk, "exists", full, err);
    if (st < 0)
        return st;
    int zrc = zoo_exists(zk->zh, full, watch, &stat);
    call_end(zk);
    st = zk_status(zrc, "exists", full, err);
    if (st == 0) {
        if (version)
            *version = stat.version;
        if (owner)
            *owner = stat.ephemeralOwner;
    }
    return st;
}

int fl_zk_set(fl_zk *zk, const char *path, const void *data, size_t len, int version,
              fl_err *err)
{
    char full[1024];
    full_path(zk, path, full, sizeof full);
    int st = call_begin(zk, "set", full, err);
    if (st < 0)
        return st;
    int zrc = zoo_set(zk->zh, full, data, (int)len, version);
    call_end(zk);
    return zk_status(zrc, "set", full, err);
}

int fl_zk_delete(fl_zk *zk, const char *path, int version, fl_err *err)
{
    char full[1024];
    full_path(zk, path, full, sizeof full);
    int st = call_begin(zk, "delete", full, err);
    if (st < 0)
        return st;
    int zrc = zoo_delete(zk->zh, full, version);
    call_end(zk);
    return zk_status(zrc, "delete", full, err);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int fl_zk_children(fl_zk *zk, const char *path, bool watch, char ***names, int *n,
                   fl_err *err)
{
    char full[1024];
    full_path(zk, path, full, sizeof full);
    struct String_vector sv = {0, NULL};
    int st = call_begin(zk, "get children of", full, err);
    if (st < 0)
        return st;
    int zrc = zoo_get_children(zk->zh, full, watch, &sv);
    call_end(zk);
    if ((st = zk_status(zrc, "get children of", full, err)) < 0)
        return st;
    *names = fl_xcalloc((size_t)sv.count + 1, sizeof **names);
    for (int i = 0; i < sv.count; i++)
        (*names)[i] = fl_xstrdup(sv.data[i]);
    *n = sv.count;
    deallocate_String_vector(&sv);
    qsort(*names, (size_t)*n, sizeof **names, cmp_names);
    return 0;
}

void fl_zk_names_free(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- transactions --------------------------------------------------------------------- */

enum { OP_CHECK, OP_CREATE, OP_SET, OP_DELETE };

typedef struct txn_op {
    int kind;
    char path[512];
    char *data;
    size_t len;
    int flags, version;
} txn_op;

struct fl_zk_txn {
    txn_op *ops;
    int n;
};

fl_zk_txn *fl_zk_txn_new(void)
{
    return fl_xcalloc(1, sizeof(fl_zk_txn));
}

void fl_zk_txn_free(fl_zk_txn *txn)
{
    if (!txn)
        return;
    for (int i = 0; i < txn->n; i++)
        free(txn->ops[i].data);
    free(txn->ops);
    free(txn);
}

static txn_op *txn_add(fl_zk_txn *txn, int kind, const char *path)
{
    txn->ops = fl_xrealloc(txn->ops, (size_t)(txn->n + 1) * sizeof *txn->ops);
    txn_op *op = &txn->ops[txn->n++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    snprintf(op->path, sizeof op->path, "%s", path);
    return op;
}

void fl_zk_txn_check(fl_zk_txn *txn, const char *path, int version)
{
    txn_add(txn, OP_CHECK, path)->version = version;
}

static void op_data(txn_op *op, const void *data, size_t len)
{
    op->data = fl_xmalloc(len + 1);
    if (len)
        memcpy(op->data, data, len);
    op->len = len;
}

void fl_zk_txn_create(fl_zk_txn *txn, const char *path, const void *data, size_t len, int flags)
{
    txn_op *op = txn_add(txn, OP_CREATE, path);
    op_data(op, data, len);
    op->flags = flags;
}

void fl_zk_txn_set(fl_zk_txn *txn, const char *path, const void *data, size_t len, int version)
{
    txn_op *op = txn_add(txn, OP_SET, path);
    op_data(op, data, len);
    op->version = version;
}

void fl_zk_txn_delete(fl_zk_txn *txn, const char *path, int version)
{
    txn_add(txn, OP_DELETE, path)->version = version;
}

int fl_zk_txn_size(const fl_zk_txn *txn)
{
    return txn->n;
}

int fl_zk_txn_commit(fl_zk *zk, fl_zk_txn *txn, fl_err *err)
{
    static const char *names[] = {"check", "create", "set", "delete"};
    int n = txn->n, st = 0;
    if (n == 0)
        return 0;
    zoo_op_t *ops = fl_xcalloc((size_t)n, sizeof *ops);
    zoo_op_result_t *res = fl_xcalloc((size_t)n, sizeof *res);
    char (*paths)[1024] = fl_xcalloc((size_t)n, sizeof *paths);
    char (*created)[1100] = fl_xcalloc((size_t)n, sizeof *created);
    struct Stat *stats = fl_xcalloc((size_t)n, sizeof *stats);
    for (int i = 0; i < n; i++) {
        txn_op *op = &txn->ops[i];
        full_path(zk, op->path, paths[i], sizeof paths[i]);
        switch (op->kind) {
        case OP_CHECK:
            zoo_check_op_init(&ops[i], paths[i], op->version);
            break;
        case OP_CREATE:
            zoo_create_op_init(&ops[i], paths[i], op->data, (int)op->len, &ZOO_OPEN_ACL_UNSAFE,
                               zk_flags(op->flags), created[i], sizeof created[i]);
            break;
        case OP_SET:
            zoo_set_op_init(&ops[i], paths[i], op->data, (int)op->len, op->version, &stats[i]);
            break;
        default:
            zoo_delete_op_init(&ops[i], paths[i], op->version);
            break;
        }
    }
    if ((st = call_begin(zk, "transaction at", paths[0], err)) < 0)
        goto out;
    int zrc = zoo_multi(zk->zh, n, ops, res);
    call_end(zk);
    if (zrc == ZOK)
        goto out;
    /* name the operation that failed (the others report a rollback) */
    int bad = -1;
    for (int i = 0; i < n && bad < 0 && zrc != ZCONNECTIONLOSS && zrc != ZSESSIONEXPIRED &&
                    zrc != ZOPERATIONTIMEOUT && zrc != ZINVALIDSTATE; i++)
        if (res[i].err != ZOK && res[i].err != ZRUNTIMEINCONSISTENCY)
            bad = i;
    char what[1100];
    if (bad >= 0)
        snprintf(what, sizeof what, "%s (in a transaction of %d)", paths[bad], n);
    else
        snprintf(what, sizeof what, "%s... (%d operations)", paths[0], n);
    st = zk_status(bad >= 0 ? res[bad].err : zrc,
                   bad >= 0 ? names[txn->ops[bad].kind] : "transaction at", what, err);
out:
    free(ops);
    free(res);
    free(paths);
    free(created);
    free(stats);
    return st;
}
