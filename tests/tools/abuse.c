/* abuse.c -- flint-abuse: an outsider (or an insider with the cluster secret but no slot)
 * speaking Flint's RPC and data protocols with the real frames (common/frame.h) and protobuf
 * messages of libflint, for tests/cluster/test_abuse_rpc.sh. Each command does one thing a
 * hostile or broken peer could do and prints what came back, one "key: value" line each;
 * the test judges. It never judges itself, so that it runs unchanged against any build.
 *
 *   flint-abuse [--secret FILE] register HOST PORT ID SLOTS HOLD_MS
 *       registers as TaskManager ID and listens HOLD_MS: "challenge", "registration:
 *       accepted|refused <reason>", "deployment: <job> <n> config entries", "closed"
 *   flint-abuse [--secret FILE] [--register ID] forge HOST PORT KIND ARGS...
 *       one-way messages, from a connection that registered as ID first or never did:
 *         state JOB ATTEMPT VERTEX SUBTASK STATE           TaskStateUpdate
 *         ack JOB ATTEMPT VERTEX SUBTASK UID PATH FROM TO MS
 *             AcknowledgeCheckpoint of ids FROM..TO, every ms for MS, whose keyed state
 *             handle names PATH
 *         cancel JOB ATTEMPT                               CancelJobTasks (to a TaskManager)
 *         trigger JOB ATTEMPT ID VERTEX SUBTASK            TriggerCheckpoint (to a TaskManager)
 *         blob                                             BlobRequest (answer: "blob: ...")
 *       then "sent: N" and "connection: open|closed"
 *   flint-abuse [--secret FILE] partition HOST PORT PARTITION_ID SUB
 *       a PARTITION_REQUEST on a data port; prints each frame type that comes back within 3 s
 *   flint-abuse flood HOST PORT N HOLD_S
 *       N idle connections held HOLD_S seconds (from forked children, 8,000 each, on source
 *       addresses 127.0.0.10+): "opened: X", "closed-by-server-1s: Y", "closed-by-server: Z"
 *   flint-abuse [--secret FILE] [--register-prefix P] partial HOST PORT N SIZE HOLD_S
 *       N connections, each sending a frame header claiming SIZE bytes and SIZE-1 of them
 *       (registered first as P-i when asked): "sent-bytes: B", "closed-by-server: Z"
 *   flint-abuse metadata-set-path DIR PATH
 *       rewrites the first keyed state handle's file path in DIR/_metadata (checksum fixed)
 */
#include "common/auth.h"
#include "common/frame.h"
#include "common/netaddr.h"
#include "common/rpc.h"
#include "common/util.h"
#include "proto/checkpoint.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>

#define NET_PARTITION_REQUEST 1000

static fl_secret secret;
static const char *register_id;
static const char *register_prefix;

static int64_t now_ms(void)
{
    return fl_mono_ms();
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "flint-abuse: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

/* ---- one connection ---------------------------------------------------------------- */

typedef struct peer {
    int fd;
    struct evbuffer *in;
    bool closed;
} peer;

static int tcp_connect(const char *host, int port, int timeout_ms)
{
    struct sockaddr_storage ss;
    int sslen;
    fl_err err;
    if (fl_resolve(host, port, &ss, &sslen, &err) < 0)
        die("%s", err.msg);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sslen) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Writes all of buf; false when the peer is gone. */
static bool write_all(peer *p, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    while (n && !p->closed) {
        ssize_t w = send(p->fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            p->closed = true;
            break;
        }
        b += w;
        n -= (size_t)w;
    }
    return !p->closed;
}

/* Reads what is there within timeout_ms into p->in; false once the peer closed. */
static bool fill(peer *p, int timeout_ms)
{
    struct pollfd pf = {.fd = p->fd, .events = POLLIN};
    if (p->closed || poll(&pf, 1, timeout_ms) <= 0)
        return !p->closed;
    int r = evbuffer_read(p->in, p->fd, 1 << 20);
    if (r <= 0)
        p->closed = true;
    return !p->closed;
}

/* The next frame within timeout_ms: 1 (payload in *pl, the caller's to free), 0 none, -1
 * closed or garbage. */
static int next_frame(peer *p, int timeout_ms, fl_frame_hdr *h, uint8_t **pl)
{
    int64_t deadline = now_ms() + timeout_ms;
    fl_err err;
    for (;;) {
        int rc = fl_frame_next(p->in, 64u << 20, h, &err);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            *pl = fl_xmalloc(h->len + 1);
            evbuffer_remove(p->in, *pl, h->len);
            return 1;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        if (!fill(p, (int)left))
            return -1;
    }
}

/* Connects; with a secret, answers the challenge (printing "challenge: yes|no"). */
static peer *peer_open(const char *host, int port)
{
    peer *p = fl_xcalloc(1, sizeof *p);
    p->fd = tcp_connect(host, port, 3000);
    p->in = evbuffer_new();
    if (p->fd < 0) {
        printf("connect: failed: %s\n", strerror(errno));
        p->closed = true;
        return p;
    }
    if (!secret.set)
        return p;
    fl_auth a;
    struct evbuffer *out = evbuffer_new();
    char why[300];
    fl_auth_connect(&a, &secret);
    int64_t deadline = now_ms() + 2000;
    int rc = 0;
    while ((rc = fl_auth_step(&a, p->in, out, why, sizeof why)) == 0) {
        if (evbuffer_get_length(out)) {
            size_t n = evbuffer_get_length(out);
            write_all(p, evbuffer_pullup(out, (ssize_t)n), n);
            evbuffer_drain(out, n);
        }
        int64_t left = deadline - now_ms();
        if (left <= 0 || p->closed)
            break;
        if (!fill(p, (int)left))
            break;
    }
    if (rc == 1)
        printf("challenge: yes\n");
    else if (rc < 0)
        printf("challenge: failed: %s\n", why);
    else
        printf("challenge: no (the peer asks for no cluster secret)\n");
    evbuffer_free(out);
    return p;
}

static void peer_close(peer *p)
{
    if (p->fd >= 0)
        close(p->fd);
    evbuffer_free(p->in);
    free(p);
}

static bool send_msg(peer *p, uint16_t type, uint8_t flags, uint64_t corr,
                     const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = fl_xmalloc(FL_FRAME_HDR_LEN + n);
    fl_frame_hdr h = {.flags = flags, .type = type, .len = (uint32_t)n, .corr = corr};
    fl_frame_hdr_encode(&h, buf);
    protobuf_c_message_pack(m, buf + FL_FRAME_HDR_LEN);
    bool ok = write_all(p, buf, FL_FRAME_HDR_LEN + n);
    free(buf);
    return ok;
}

/* Sends a registration as id; prints the answer; true when accepted. */
static bool do_register(peer *p, const char *id, int slots, int timeout_ms)
{
    Fl__Pb__RegisterTaskManager r = FL__PB__REGISTER_TASK_MANAGER__INIT;
    r.resource_id = (char *)id;
    r.host = "127.0.0.1";
    r.rpc_port = 1;
    r.data_port = 1;
    r.num_slots = (uint32_t)slots;
    if (!send_msg(p, FL_RPC_REGISTER_TASK_MANAGER, 0, 1, &r.base)) {
        printf("registration: closed\n");
        return false;
    }
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        fl_frame_hdr h;
        uint8_t *pl = NULL;
        int64_t left = deadline - now_ms();
        int rc = left > 0 ? next_frame(p, (int)left, &h, &pl) : 0;
        if (rc <= 0) {
            printf("registration: %s\n", rc < 0 ? "closed" : "no answer");
            return false;
        }
        if (h.type == FL_RPC_REGISTRATION_RESPONSE && (h.flags & FL_FRAME_F_RESPONSE)) {
            Fl__Pb__RegistrationResponse *resp =
                fl__pb__registration_response__unpack(NULL, h.len, pl);
            bool ok = resp && resp->accepted;
            printf("registration: %s %s\n", ok ? "accepted" : "refused",
                   resp && !ok ? resp->reason : "");
            fl__pb__registration_response__free_unpacked(resp, NULL);
            free(pl);
            return ok;
        }
        printf("frame: type %u (%u bytes) before the answer\n", h.type, h.len);
        free(pl);
    }
}

/* ---- register --------------------------------------------------------------------- */

static int cmd_register(char **argv)
{
    peer *p = peer_open(argv[0], atoi(argv[1]));
    if (!p->closed)
        do_register(p, argv[2], atoi(argv[3]), 3000);
    int64_t deadline = now_ms() + atoi(argv[4]);
    while (!p->closed) {
        fl_frame_hdr h;
        uint8_t *pl = NULL;
        int64_t left = deadline - now_ms();
        int rc = left > 0 ? next_frame(p, (int)left, &h, &pl) : 0;
        if (rc <= 0)
            break;
        if (h.type == FL_RPC_SUBMIT_TASK) {
            Fl__Pb__SubmitTask *st = fl__pb__submit_task__unpack(NULL, h.len, pl);
            printf("deployment: %s %zu config entries\n",
                   st && st->tdd ? st->tdd->job_id : "?", st && st->tdd ? st->tdd->n_config : 0);
            fl__pb__submit_task__free_unpacked(st, NULL);
        } else if (h.type != FL_RPC_HEARTBEAT_REQUEST) {
            printf("frame: type %u (%u bytes)\n", h.type, h.len);
        }
        free(pl);
    }
    printf("connection: %s\n", p->closed ? "closed" : "open");
    peer_close(p);
    return 0;
}

/* ---- forge ------------------------------------------------------------------------ */

static bool forge_ack(peer *p, char **a, int *sent)
{
    Fl__Pb__StateFile f = FL__PB__STATE_FILE__INIT, *fp = &f;
    Fl__Pb__KeyedStateHandle k = FL__PB__KEYED_STATE_HANDLE__INIT, *kp = &k;
    Fl__Pb__OperatorSubtaskState st = FL__PB__OPERATOR_SUBTASK_STATE__INIT, *stp = &st;
    Fl__Pb__AcknowledgeCheckpoint m = FL__PB__ACKNOWLEDGE_CHECKPOINT__INIT;
    f.path = a[5];
    f.size = 1;
    k.backend = "hashmap";
    k.kg_first = 0;
    k.kg_last = 127;
    k.n_files = 1;
    k.files = &fp;
    st.uid = a[4];
    st.subtask = atoi(a[3]);
    st.n_keyed = 1;
    st.keyed = &kp;
    m.job_id = a[0];
    m.attempt = atoi(a[1]);
    m.vertex = atoi(a[2]);
    m.subtask = atoi(a[3]);
    m.n_operators = 1;
    m.operators = &stp;
    int64_t from = atoll(a[6]), to = atoll(a[7]);
    int64_t end = now_ms() + atoi(a[8]);
    while (now_ms() < end && !p->closed) {
        for (int64_t id = from; id <= to && !p->closed; id++) {
            m.checkpoint_id = id;
            if (send_msg(p, FL_RPC_ACKNOWLEDGE_CHECKPOINT, 0, 0, &m.base))
                (*sent)++;
        }
        fill(p, 1); /* notices a close */
    }
    return !p->closed;
}

static int cmd_forge(int argc, char **argv)
{
    if (argc < 3)
        die("%s", "forge HOST PORT KIND ARGS...");
    peer *p = peer_open(argv[0], atoi(argv[1]));
    const char *kind = argv[2];
    char **a = argv + 3;
    int n = argc - 3, sent = 0;
    if (!p->closed && register_id && !do_register(p, register_id, 1, 3000))
        printf("note: forging without a registration\n");
    if (p->closed) {
        /* nothing to send on */
    } else if (!strcmp(kind, "state") && n == 5) {
        Fl__Pb__TaskStateUpdate u = FL__PB__TASK_STATE_UPDATE__INIT;
        u.job_id = a[0];
        u.attempt = atoi(a[1]);
        u.vertex = atoi(a[2]);
        u.subtask = atoi(a[3]);
        u.state = atoi(a[4]);
        u.error = "forged by flint-abuse";
        sent += send_msg(p, FL_RPC_TASK_STATE_UPDATE, 0, 0, &u.base);
    } else if (!strcmp(kind, "ack") && n == 9) {
        forge_ack(p, a, &sent);
    } else if (!strcmp(kind, "cancel") && n == 2) {
        Fl__Pb__CancelJobTasks c = FL__PB__CANCEL_JOB_TASKS__INIT;
        c.job_id = a[0];
        c.attempt = atoi(a[1]);
        sent += send_msg(p, FL_RPC_CANCEL_JOB_TASKS, 0, 0, &c.base);
    } else if (!strcmp(kind, "trigger") && n == 5) {
        Fl__Pb__TriggerCheckpoint t = FL__PB__TRIGGER_CHECKPOINT__INIT;
        int32_t v = atoi(a[3]), s = atoi(a[4]);
        t.job_id = a[0];
        t.attempt = atoi(a[1]);
        t.checkpoint_id = atoll(a[2]);
        t.timestamp = fl_now_ms();
        t.dir = "/tmp/flint-abuse-checkpoint";
        t.shared_dir = "/tmp/flint-abuse-shared";
        t.n_vertex = t.n_subtask = 1;
        t.vertex = &v;
        t.subtask = &s;
        t.exactly_once = true;
        sent += send_msg(p, FL_RPC_TRIGGER_CHECKPOINT, 0, 0, &t.base);
    } else if (!strcmp(kind, "blob") && n == 0) {
        Fl__Pb__BlobRequest b = FL__PB__BLOB_REQUEST__INIT;
        uint8_t sha[32] = {0};
        b.sha256.data = sha;
        b.sha256.len = 32;
        sent += send_msg(p, FL_RPC_BLOB_REQUEST, 0, 99, &b.base);
        fl_frame_hdr h;
        uint8_t *pl = NULL;
        int rc = next_frame(p, 2000, &h, &pl);
        if (rc == 1 && h.type == FL_RPC_BLOB_RESPONSE)
            printf("blob: answered\n");
        else
            printf("blob: %s\n", rc < 0 ? "closed" : rc == 0 ? "no answer" : "other frame");
        free(pl);
    } else {
        die("unknown forge %s (or wrong argument count)", kind);
    }
    /* give the peer a moment to close on us */
    for (int64_t end = now_ms() + 1000; now_ms() < end && fill(p, 100);)
        evbuffer_drain(p->in, evbuffer_get_length(p->in));
    printf("sent: %d\n", sent);
    printf("connection: %s\n", p->closed ? "closed" : "open");
    peer_close(p);
    return 0;
}

/* ---- data port ---------------------------------------------------------------------- */

static int cmd_partition(char **argv)
{
    peer *p = peer_open(argv[0], atoi(argv[1]));
    const char *id = argv[2];
    uint8_t d[10 + 256];
    size_t idlen = strlen(id);
    if (idlen > 255)
        die("%s", "partition id too long");
    uint32_t sub = (uint32_t)atoi(argv[3]), credit = 2;
    for (int i = 0; i < 4; i++) {
        d[i] = (uint8_t)(sub >> (24 - 8 * i));
        d[4 + i] = (uint8_t)(credit >> (24 - 8 * i));
    }
    d[8] = (uint8_t)(idlen >> 8);
    d[9] = (uint8_t)idlen;
    memcpy(d + 10, id, idlen);
    uint8_t frame[FL_FRAME_HDR_LEN + sizeof d];
    fl_frame_hdr h = {.type = NET_PARTITION_REQUEST, .len = (uint32_t)(10 + idlen), .corr = 1};
    fl_frame_hdr_encode(&h, frame);
    memcpy(frame + FL_FRAME_HDR_LEN, d, 10 + idlen);
    write_all(p, frame, FL_FRAME_HDR_LEN + 10 + idlen);
    int64_t deadline = now_ms() + 3000;
    int frames = 0;
    for (;;) {
        uint8_t *pl = NULL;
        int64_t left = deadline - now_ms();
        int rc = left > 0 ? next_frame(p, (int)left, &h, &pl) : 0;
        if (rc <= 0)
            break;
        printf("frame: type %u (%u bytes)\n", h.type, h.len);
        frames++;
        free(pl);
    }
    printf("frames: %d\n", frames);
    printf("connection: %s\n", p->closed ? "closed" : "open");
    peer_close(p);
    return 0;
}

/* ---- flood ------------------------------------------------------------------------ */

/* One child: n connections from source address src, held hold_s seconds; writes
 * "opened closed1s closed" to out. */
static void flood_child(const char *host, int port, int n, int hold_s, const char *src, int out)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sockaddr_storage ss;
    int sslen;
    fl_err err;
    if (fl_resolve(host, port, &ss, &sslen, &err) < 0)
        die("%s", err.msg);
    struct pollfd *pf = fl_xcalloc((size_t)n, sizeof *pf);
    int64_t *closed_at = fl_xcalloc((size_t)n, sizeof *closed_at);
    int opened = 0;
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &me.sin_addr);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            break;
        struct linger lg = {1, 0}; /* RST at the end: no TIME_WAIT left behind */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        bind(fd, (struct sockaddr *)&me, sizeof me);
        if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sslen) < 0 && errno != EINPROGRESS) {
            close(fd);
            continue;
        }
        pf[opened].fd = fd;
        pf[opened].events = POLLOUT;
        opened++;
    }
    /* established: writable; then watched for the server closing them */
    int64_t t0 = now_ms(), end = t0 + (int64_t)hold_s * 1000;
    int established = 0, closed1 = 0, closed = 0;
    while (now_ms() < end) {
        int left = (int)(end - now_ms());
        if (poll(pf, (nfds_t)opened, left > 200 ? 200 : left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < opened; i++) {
            if (!pf[i].revents || pf[i].fd < 0)
                continue;
            if (pf[i].events == POLLOUT) {
                int e = 0;
                socklen_t len = sizeof e;
                getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &e, &len);
                if (e) {
                    close(pf[i].fd);
                    pf[i].fd = -1;
                    continue;
                }
                established++;
                pf[i].events = POLLIN;
                continue;
            }
            char buf[512];
            ssize_t r = recv(pf[i].fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                closed_at[i] = now_ms();
                closed++;
                closed1 += closed_at[i] - t0 <= 1500;
                close(pf[i].fd);
                pf[i].fd = -1;
            }
        }
    }
    for (int i = 0; i < opened; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    char line[128];
    int len = snprintf(line, sizeof line, "%d %d %d\n", established, closed1, closed);
    ssize_t w = write(out, line, (size_t)len);
    (void)w;
    free(pf);
    free(closed_at);
}

static int cmd_flood(char **argv)
{
    int n = atoi(argv[2]), hold = atoi(argv[3]);
    int per = 8000, kids = (n + per - 1) / per;
    int fds[2];
    if (pipe(fds) < 0)
        die("pipe: %s", strerror(errno));
    for (int k = 0; k < kids; k++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%d", 10 + k);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            flood_child(argv[0], atoi(argv[1]), k == kids - 1 ? n - per * k : per, hold, src,
                        fds[1]);
            _exit(0);
        }
    }
    close(fds[1]);
    int opened = 0, closed1 = 0, closed = 0;
    FILE *in = fdopen(fds[0], "r");
    int a, b, c;
    while (fscanf(in, "%d %d %d", &a, &b, &c) == 3) {
        opened += a;
        closed1 += b;
        closed += c;
    }
    fclose(in);
    while (wait(NULL) > 0)
        ;
    printf("opened: %d\nclosed-by-server-1s: %d\nclosed-by-server: %d\n", opened, closed1,
           closed);
    return 0;
}

/* ---- partial frames ----------------------------------------------------------------- */

static int cmd_partial(char **argv)
{
    int n = atoi(argv[2]), hold = atoi(argv[4]);
    uint32_t size = (uint32_t)atol(argv[3]);
    peer **ps = fl_xcalloc((size_t)n, sizeof *ps);
    uint8_t *chunk = fl_xcalloc(1, 1 << 16);
    long long total = 0;
    int registered = 0;
    for (int i = 0; i < n; i++) {
        ps[i] = peer_open(argv[0], atoi(argv[1]));
        peer *p = ps[i];
        if (register_prefix && !p->closed) {
            char id[128];
            snprintf(id, sizeof id, "%s-%d", register_prefix, i);
            registered += do_register(p, id, 1, 3000);
        }
        /* a frame of a routed type whose payload never completes */
        uint8_t hdr[FL_FRAME_HDR_LEN];
        fl_frame_hdr h = {.type = FL_RPC_HEARTBEAT_RESPONSE, .len = size};
        fl_frame_hdr_encode(&h, hdr);
        write_all(p, hdr, sizeof hdr);
        uint32_t left = size - 1;
        while (left && write_all(p, chunk, FL_MIN(left, 1u << 16))) {
            total += FL_MIN(left, 1u << 16);
            left -= FL_MIN(left, 1u << 16);
        }
    }
    printf("registered: %d\nsent-bytes: %lld\n", registered, total);
    fflush(stdout);
    int64_t end = now_ms() + (int64_t)hold * 1000;
    while (now_ms() < end) {
        for (int i = 0; i < n; i++)
            if (!ps[i]->closed && fill(ps[i], 0))
                evbuffer_drain(ps[i]->in, evbuffer_get_length(ps[i]->in));
        usleep(100 * 1000);
    }
    int closed = 0;
    for (int i = 0; i < n; i++) {
        if (!ps[i]->closed && fill(ps[i], 0))
            evbuffer_drain(ps[i]->in, evbuffer_get_length(ps[i]->in));
        closed += ps[i]->closed;
        peer_close(ps[i]);
    }
    printf("closed-by-server: %d\n", closed);
    free(ps);
    free(chunk);
    return 0;
}

/* ---- metadata ----------------------------------------------------------------------- */

/* _metadata as checkpoint_restore.c lays it out, written here from the format: magic
 * "FLCK", u16 version 1, u16 flags (1: savepoint), u32 CRC-32 of the protobuf that follows. */
static void write_metadata(const char *path, const Fl__Pb__CheckpointMetadata *m)
{
    size_t n = protobuf_c_message_get_packed_size(&m->base);
    uint8_t *buf = fl_xmalloc(12 + n);
    uint16_t version = 1, flags = m->savepoint ? 1 : 0;
    memcpy(buf, "FLCK", 4);
    memcpy(buf + 4, &version, 2);
    memcpy(buf + 6, &flags, 2);
    protobuf_c_message_pack(&m->base, buf + 12);
    uint32_t crc = fl_crc32(buf + 12, n);
    memcpy(buf + 8, &crc, 4);
    fl_err err;
    if (fl_write_file(path, buf, 12 + n, true, &err) < 0)
        die("%s", err.msg);
    free(buf);
}

static int cmd_metadata(char **argv)
{
    char path[4200], *data;
    size_t len;
    fl_err err;
    snprintf(path, sizeof path, "%s/_metadata", argv[0]);
    if (fl_read_file(path, &data, &len, &err) < 0 || len < 12 || memcmp(data, "FLCK", 4))
        die("cannot read %s as a Flint _metadata file", path);
    Fl__Pb__CheckpointMetadata *m =
        fl__pb__checkpoint_metadata__unpack(NULL, len - 12, (uint8_t *)data + 12);
    if (!m)
        die("%s", "undecodable _metadata");
    for (size_t o = 0; o < m->n_operators; o++)
        for (size_t s = 0; s < m->operators[o]->n_subtasks; s++) {
            Fl__Pb__OperatorSubtaskState *st = m->operators[o]->subtasks[s];
            if (st->n_keyed && st->keyed[0]->n_files) {
                printf("was: %s\n", st->keyed[0]->files[0]->path);
                char *was = st->keyed[0]->files[0]->path;
                st->keyed[0]->files[0]->path = argv[1];
                write_metadata(path, m);
                st->keyed[0]->files[0]->path = was;
                printf("now: %s\n", argv[1]);
                fl__pb__checkpoint_metadata__free_unpacked(m, NULL);
                free(data);
                return 0;
            }
        }
    die("%s", "no keyed state handle in the metadata");
    return 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (i + 1 >= argc)
            die("%s needs a value", argv[i]);
        if (!strcmp(argv[i], "--secret")) {
            char *data;
            size_t len;
            fl_err err;
            if (fl_read_file(argv[i + 1], &data, &len, &err) < 0 ||
                fl_secret_from_bytes(&secret, data, len, &err) < 0)
                die("%s", err.msg);
            free(data);
        } else if (!strcmp(argv[i], "--register")) {
            register_id = argv[i + 1];
        } else if (!strcmp(argv[i], "--register-prefix")) {
            register_prefix = argv[i + 1];
        } else {
            die("unknown option %s", argv[i]);
        }
    }
    if (i >= argc)
        die("%s", "usage: see tests/tools/abuse.c");
    const char *cmd = argv[i];
    char **a = argv + i + 1;
    int n = argc - i - 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "register") && n == 5)
        return cmd_register(a);
    if (!strcmp(cmd, "forge"))
        return cmd_forge(n, a);
    if (!strcmp(cmd, "partition") && n == 4)
        return cmd_partition(a);
    if (!strcmp(cmd, "flood") && n == 4)
        return cmd_flood(a);
    if (!strcmp(cmd, "partial") && n == 5)
        return cmd_partial(a);
    if (!strcmp(cmd, "metadata-set-path") && n == 2)
        return cmd_metadata(a);
    die("unknown command or wrong arguments: %s", cmd);
    return 2;
}
