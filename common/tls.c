/* tls.c -- see tls.h. */
#include "tls.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct fl_tls {
    SSL_CTX *ctx;
    enum fl_tls_kind kind;
};

int fl_openssl_fail(fl_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    unsigned long e;
    size_t n = strlen(err->msg);
    while ((e = ERR_get_error()) && n + 8 < sizeof err->msg) {
        char r[256];
        ERR_error_string_n(e, r, sizeof r);
        n += (size_t)snprintf(err->msg + n, sizeof err->msg - n, "%s%s", n ? ": " : "", r);
    }
    ERR_clear_error();
    return -1;
}

/* The file a key names must be there and readable: a clear message before OpenSSL's. */
static const char *need_file(const fl_conf *conf, const char *key, fl_err *err)
{
    const char *path = fl_conf_get_str(conf, key);
    if (!path || !*path) {
        fl_err_set(err, "%s is not set (a PEM file)", key);
        return NULL;
    }
    if (access(path, R_OK) < 0) {
        fl_err_set(err, "cannot read %s %s: %s", key, path, strerror(errno));
        return NULL;
    }
    return path;
}

int fl_tls_new(const fl_conf *conf, enum fl_tls_kind kind, fl_tls **out, fl_err *err)
{
    *out = NULL;
    bool internal = kind == FL_TLS_INTERNAL;
    if (!fl_conf_get_bool(conf, internal ? "security.ssl.internal.enabled"
                                         : "security.ssl.rest.enabled"))
        return 0;
    const char *pre = internal ? "security.ssl.internal." : "security.ssl.rest.";
    bool client_auth = internal || fl_conf_get_bool(conf, "security.ssl.rest.authentication-enabled");
    /* what each side presents and trusts */
    bool own_cert = kind != FL_TLS_REST_CLIENT || client_auth;
    bool trusts = kind != FL_TLS_REST_SERVER || client_auth;
    char key[128], cert[128], trust[128];
    snprintf(key, sizeof key, "%skey", pre);
    snprintf(cert, sizeof cert, "%scert", pre);
    snprintf(trust, sizeof trust, "%strust-certificates", pre);
    const char *keyf = NULL, *certf = NULL, *trustf = NULL;
    if (own_cert && (!(keyf = need_file(conf, key, err)) || !(certf = need_file(conf, cert, err))))
        return -1;
    if (trusts && !(trustf = need_file(conf, trust, err)))
        return -1;

    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx)
        return fl_openssl_fail(err, "SSL_CTX_new");
    const char *proto = fl_conf_get_str(conf, "security.ssl.protocol");
    int min = proto && !strcmp(proto, "TLSv1.3") ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    const char *algos = fl_conf_get_str(conf, "security.ssl.algorithms");
    if (algos && *algos && SSL_CTX_set_cipher_list(ctx, algos) != 1) {
        fl_openssl_fail(err, "security.ssl.algorithms '%s' names no cipher suite OpenSSL has", algos);
        goto fail;
    }
    if (own_cert) {
        if (SSL_CTX_use_certificate_chain_file(ctx, certf) != 1) {
            fl_openssl_fail(err, "%s %s is not a PEM certificate", cert, certf);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, keyf, SSL_FILETYPE_PEM) != 1) {
            fl_openssl_fail(err, "%s %s is not a PEM private key", key, keyf);
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            fl_openssl_fail(err, "%s %s does not belong to %s %s", key, keyf, cert, certf);
            goto fail;
        }
    }
    if (trusts) {
        if (SSL_CTX_load_verify_locations(ctx, trustf, NULL) != 1) {
            fl_openssl_fail(err, "%s %s holds no PEM certificate", trust, trustf);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    fl_tls *t = fl_xcalloc(1, sizeof *t);
    t->ctx = ctx;
    t->kind = kind;
    *out = t;
    return 0;
fail:
    SSL_CTX_free(ctx);
    return -1;
}

void fl_tls_free(fl_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

static struct bufferevent *new_bev(fl_tls *t, struct event_base *base, evutil_socket_t fd,
                                   enum bufferevent_ssl_state state)
{
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl)
        return NULL;
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, fd, ssl, state, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* a peer that closes without close_notify is a closed connection, not an error */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

struct bufferevent *fl_tls_accept_bev(fl_tls *t, struct event_base *base, evutil_socket_t fd)
{
    return new_bev(t, base, fd, BUFFEREVENT_SSL_ACCEPTING);
}

struct bufferevent *fl_tls_connect_bev(fl_tls *t, struct event_base *base)
{
    return new_bev(t, base, -1, BUFFEREVENT_SSL_CONNECTING);
}

const char *fl_tls_error(struct bufferevent *bev, char *buf, size_t len)
{
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (!ssl)
        return NULL;
    size_t n = 0;
    buf[0] = '\0';
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK)
        n += (size_t)snprintf(buf, len, "certificate: %s", X509_verify_cert_error_string(vr));
    unsigned long e;
    while ((e = bufferevent_get_openssl_error(bev)) && n + 8 < len) {
        if (!ERR_GET_LIB(e))
            continue; /* a system error already told */
        const char *r = ERR_reason_error_string(e);
        n += (size_t)snprintf(buf + n, len - n, "%sTLS: %s", n ? "; " : "", r ? r : "?");
    }
    return n ? buf : NULL;
}
