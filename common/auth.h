/* auth.h -- the cluster secret (security.cluster.secret-file) and the handshake that every
 * connection between Flint daemons passes before anything else when it is set: the RPC
 * ports (common/rpc.c) and the data port (taskmanager/network/netenv.c). Beyond Flink,
 * which leaves this to TLS: a stranger on the network without the secret gets no frame of
 * Flint's through (no registration, no deployment, no bundle, no partition).
 *
 * The protocol, in frames of frame.h (types 900-902, correlation id 0), before any other:
 *
 *   acceptor  -> connector   AUTH_CHALLENGE  Ns (32 random bytes)
 *   connector -> acceptor    AUTH_RESPONSE   Nc (32 random bytes) | HMAC(K, "flint-auth-1 connector" Ns Nc)
 *   acceptor  -> connector   AUTH_OK         HMAC(K, "flint-auth-1 acceptor" Nc Ns)
 *
 * K is SHA-256 of a label and the secret file's bytes (HMAC-SHA256 through libcrypto,
 * sha256.h). Fresh nonces on both sides make a recorded exchange worthless; the role in the
 * label keeps one side's proof from serving as the other's. The acceptor reads no other
 * frame before the response checked out; the connector writes nothing before the challenge
 * came (its own frames may follow its response at once) and reads no other frame before
 * AUTH_OK checked out: both sides prove the secret. A mismatch closes the connection.
 *
 * fl_auth is the state machine of one connection; it runs on the thread that owns the
 * connection (the RPC or the network thread). Secrets are loaded once at start-up.
 */
#ifndef FL_AUTH_H
#define FL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "sha256.h"

struct evbuffer;

#define FL_AUTH_NONCE_LEN 32

enum {
    FL_AUTH_CHALLENGE = 900,
    FL_AUTH_RESPONSE = 901,
    FL_AUTH_OK = 902,
};

/* The cluster secret; set is false when security.cluster.secret-file is unset (no
 * handshake). A value type: copy it where it is needed. */
typedef struct fl_secret {
    bool set;
    uint8_t key[FL_SHA256_LEN];
} fl_secret;

/* Reads security.cluster.secret-file (unset: s->set = false, 0). The file must be a regular
 * file of 16 bytes to 64 KiB (trailing white space is ignored); one that others may read
 * draws a warning. -1 with err naming the file and the problem. */
int fl_secret_load(const fl_conf *conf, fl_secret *s, fl_err *err);
/* The same from the secret's bytes (tests, tools). */
int fl_secret_from_bytes(fl_secret *s, const void *data, size_t len, fl_err *err);

/* True for the frame types of this handshake. */
bool fl_auth_is_handshake_type(uint16_t type);

/* Where a handshake stands (private to auth.c). Transitions, in fl_auth_step unless noted:
 *   acceptor:  WAIT_RESPONSE (fl_auth_accept sent the challenge) -> DONE (a valid response)
 *   connector: WAIT_CHALLENGE (fl_auth_connect) -> WAIT_OK (the response sent)
 *              -> DONE (the acceptor's OK) */
typedef enum fl_auth_state {
    FL_AUTH_WAIT_CHALLENGE = 1,
    FL_AUTH_WAIT_RESPONSE,
    FL_AUTH_WAIT_OK,
    FL_AUTH_DONE,
} fl_auth_state;

typedef struct fl_auth {
    fl_secret secret;
    bool acceptor;
    fl_auth_state state;              /* private */
    uint8_t mine[FL_AUTH_NONCE_LEN];  /* this side's nonce */
    uint8_t theirs[FL_AUTH_NONCE_LEN];
} fl_auth;

/* Acceptor side: appends the challenge to out. */
void fl_auth_accept(fl_auth *a, const fl_secret *s, struct evbuffer *out);
/* Connector side: waits for the challenge (write nothing to this connection before it). */
void fl_auth_connect(fl_auth *a, const fl_secret *s);
bool fl_auth_done(const fl_auth *a);
/* Consumes the handshake frames at the front of in and answers on out (the connector's
 * response goes in FRONT of whatever is queued on out, none of which may have been sent).
 * Returns 1 once the handshake is complete (bytes after it in `in` are the connection's
 * own frames), 0 when it needs more bytes, -1 when the peer failed it (why says how). */
int fl_auth_step(fl_auth *a, struct evbuffer *in, struct evbuffer *out, char *why,
                 size_t whylen);

#endif
