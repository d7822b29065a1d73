/* tls.h -- TLS for every Flint port, with OpenSSL through libevent's bufferevent_openssl
 * (Flink's security.ssl.*, with PEM files instead of Java key stores).
 *
 * Two contexts, as in Flink:
 *   internal  security.ssl.internal.enabled: the RPC ports and the data ports between the
 *             daemons, mutually authenticated (both sides present a certificate signed by
 *             the cluster's CA, security.ssl.internal.trust-certificates). No host name is
 *             checked: the cluster's CA is the trust anchor, as in Flink.
 *   rest      security.ssl.rest.enabled: the REST port; a client must present a certificate
 *             of the trusted CA only with security.ssl.rest.authentication-enabled. The CLI
 *             verifies the server against the same trust file.
 * Protocols: security.ssl.protocol (TLSv1.2 means 1.2 and later, TLSv1.3 only 1.3); cipher
 * suites of TLS 1.2: security.ssl.algorithms (an OpenSSL cipher list; default: forward-secret
 * AEAD suites only). A missing or unreadable key, certificate or trust file stops the daemon
 * at start with the file and OpenSSL's reason; a peer whose certificate does not verify is
 * refused at its handshake, with a log line naming it (fl_tls_error).
 *
 * Contexts are made once at start-up and only read afterwards (any thread). OpenSSL's error
 * queue is turned into Flint's fl_err here and nowhere else.
 */
#ifndef FL_TLS_H
#define FL_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "err.h"

typedef struct fl_tls fl_tls;

enum fl_tls_kind {
    FL_TLS_INTERNAL,    /* RPC and data ports: server and client, mutual */
    FL_TLS_REST_SERVER, /* the REST port */
    FL_TLS_REST_CLIENT, /* the CLI (and tests' tools) talking to it */
};

/* The context of kind, or *out = NULL (and 0) when its security.ssl.*.enabled is off.
 * -1 with err naming the key and file when the configuration cannot be used. */
int fl_tls_new(const fl_conf *conf, enum fl_tls_kind kind, fl_tls **out, fl_err *err);
void fl_tls_free(fl_tls *t); /* NULL is a no-op */

/* A bufferevent for an accepted socket (server side of the handshake), or for a connection
 * about to be made with bufferevent_socket_connect (fd -1: client side). NULL on failure.
 * The handshake runs with the first reads and writes; a failed one reports BEV_EVENT_ERROR,
 * and fl_tls_error says why. */
struct bufferevent *fl_tls_accept_bev(fl_tls *t, struct event_base *base, evutil_socket_t fd);
struct bufferevent *fl_tls_connect_bev(fl_tls *t, struct event_base *base);

/* Why a TLS bufferevent failed (OpenSSL's reasons), into buf; NULL when it was not TLS that
 * failed (then the socket error says it). */
/* OpenSSL's pending reasons appended to what the caller says, into err: the one place its
 * error queue becomes an fl_err (TLS here, signatures in bundle_sign.c). Returns -1. */
int fl_openssl_fail(fl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *fl_tls_error(struct bufferevent *bev, char *buf, size_t len);

#endif
