/* rpc.h -- the RPC service of a daemon: request/response and one-way messages between
 * endpoints of different processes, as protobuf-c messages in frames (frame.h).
 *
 * One service per process, on its own thread ("rpc"), owns every RPC socket: it accepts,
 * connects, decodes frames and posts each message to the mailbox of the endpoint that was
 * routed its type (fl_rpc_route). Sending is allowed from any thread: the message is packed
 * on the caller's thread and handed to the service through its mailbox. Connections are
 * named by an id, never by a pointer, so a message to a connection that just closed is
 * simply dropped.
 *
 * A frame that is too large, has a bad magic byte, an unknown or unrouted type, or a
 * payload that does not decode closes that connection with one log line naming the peer
 * (rate-limited: a flood costs a few lines); every other connection is untouched. Requests
 * made with fl_rpc_call get their response (matched by correlation id and connection) or
 * an error when the deadline passes or the connection dies.
 *
 * Trust. A connection this service opened (fl_rpc_connect) is trusted from the start. An
 * accepted one is not: it may send only the types routed with fl_rpc_route_open (a
 * TaskManager's registration) until its owner admits it (fl_rpc_admit, once it knows who is
 * at the other end); any other message from it closes it, as does staying unadmitted beyond
 * rpc.server.handshake-timeout. Before admission its frames may not exceed
 * rpc.server.handshake.max-frame-size. With a cluster secret (fl_rpc_set_secret, auth.h)
 * every connection, accepted or opened, first passes the secret handshake; only then is it
 * reported up to its owner and are its frames read. The port's bounds (fl_rpc_set_limits,
 * connlimit.h) cap connections, partial-frame memory and stalled frames.
 */
#ifndef FL_RPC_H
#define FL_RPC_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "auth.h"
#include "config.h" /* FL_MAX_TM_SLOTS: slots one TaskManager may offer */
#include "connlimit.h"
#include "err.h"
#include "mailbox.h"
#include "proto/rpc.pb-c.h"

enum fl_rpc_type {
#define FL_RPC_TYPE(id, name, desc) FL_RPC_##name = id,
#include "rpc_types.h"
#undef FL_RPC_TYPE
};

/* The descriptor of a type, or NULL when the type is unknown. */
const ProtobufCMessageDescriptor *fl_rpc_type_descriptor(uint16_t type);
const char *fl_rpc_type_name(uint16_t type);

typedef uint64_t fl_conn_id;
typedef struct fl_rpc fl_rpc;

/* A received message. The handler it is delivered to owns it. */
typedef struct fl_rpc_msg {
    fl_conn_id conn;
    uint16_t type;
    uint8_t flags;
    uint64_t corr;
    ProtobufCMessage *pb;
    char peer[64]; /* "host:port" of the other side */
} fl_rpc_msg;

void fl_rpc_msg_free(fl_rpc_msg *msg);
/* The same, as an fl_free_fn (for mails that carry a message). */
void fl_rpc_msg_drop(void *msg);

/* Runs on the routed endpoint's thread; owns msg. */
typedef void (*fl_rpc_handler)(void *ctx, fl_rpc_msg *msg);
/* A connection came up (up) or went down (!up, why says how). Endpoint thread. */
typedef void (*fl_rpc_conn_fn)(void *ctx, fl_conn_id conn, const char *peer, bool up,
                               const char *why);
/* The answer to fl_rpc_call: reply, or NULL and error. Endpoint thread; owns reply. */
typedef void (*fl_rpc_reply_fn)(void *ctx, void *arg, fl_rpc_msg *reply, const char *error);

/* name: the thread name; max_frame: largest accepted frame payload (rpc.frame.max-size). */
fl_rpc *fl_rpc_new(const char *name, uint32_t max_frame);

/* Set-up, before fl_rpc_listen and fl_rpc_start: the port's bounds (default: none to speak
 * of) and the cluster secret (default: no handshake). */
void fl_rpc_set_limits(fl_rpc *rpc, const fl_connlimit_conf *limits);
void fl_rpc_set_secret(fl_rpc *rpc, const fl_secret *secret);
/* Internal TLS on every connection (tls.h; NULL: plain TCP). The context must outlive the
 * service; set before fl_rpc_start. */
struct fl_tls;
void fl_rpc_set_tls(fl_rpc *rpc, struct fl_tls *tls);
/* Set-up, before fl_rpc_start. */
int fl_rpc_listen(fl_rpc *rpc, const char *bind_host, int port, int *bound_port, fl_err *err);
/* Messages of type go to fn on ep: from connections this service opened and from admitted
 * ones (see "Trust" above). */
void fl_rpc_route(fl_rpc *rpc, uint16_t type, fl_endpoint *ep, fl_rpc_handler fn);
/* The same, and from accepted connections not admitted yet (registration). */
void fl_rpc_route_open(fl_rpc *rpc, uint16_t type, fl_endpoint *ep, fl_rpc_handler fn);
/* Watches incoming connections (accepted ones); outgoing ones report to their connector. */
void fl_rpc_watch(fl_rpc *rpc, fl_endpoint *ep, fl_rpc_conn_fn fn);
int fl_rpc_start(fl_rpc *rpc, fl_err *err);
/* Closes every connection and stops the thread; later sends are dropped. */
void fl_rpc_stop(fl_rpc *rpc);
/* Stops (if still running) and frees. NULL is a no-op. */
void fl_rpc_free(fl_rpc *rpc);

/* Any thread. Connects to host:port within timeout_ms; fn(up=true) on success, later
 * fn(up=false) when the connection closes, or fn(up=false) at once when connecting fails. */
void fl_rpc_connect(fl_rpc *rpc, const char *host, int port, int64_t timeout_ms, fl_endpoint *ep,
                    fl_rpc_conn_fn fn);
/* One-way message. 0, or -1 when the service is stopped. */
int fl_rpc_send(fl_rpc *rpc, fl_conn_id conn, uint16_t type, const ProtobufCMessage *msg);
/* The response to req. */
int fl_rpc_reply(fl_rpc *rpc, const fl_rpc_msg *req, uint16_t type, const ProtobufCMessage *msg);
/* Request with a deadline; fn runs on ep's thread exactly once. */
void fl_rpc_call(fl_rpc *rpc, fl_conn_id conn, uint16_t type, const ProtobufCMessage *msg,
                 int64_t timeout_ms, fl_endpoint *ep, fl_rpc_reply_fn fn, void *arg);
void fl_rpc_close(fl_rpc *rpc, fl_conn_id conn);
/* Any thread: the accepted connection conn is a known peer now (a registered TaskManager):
 * every routed type is delivered from it, no handshake deadline applies and frames up to
 * the service's max_frame are read. Takes effect before anything sent after this call. */
void fl_rpc_admit(fl_rpc *rpc, fl_conn_id conn);

#endif
