/* auth.c -- see auth.h. Runs on the thread owning the connection; no shared state. */
#include "auth.h"
#include "frame.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#define SECRET_MIN 16
#define SECRET_MAX (64 * 1024)
#define LABEL_KEY "flint-cluster-secret-1"
#define LABEL_CONNECTOR "flint-auth-1 connector"
#define LABEL_ACCEPTOR "flint-auth-1 acceptor"

int fl_secret_from_bytes(fl_secret *s, const void *data, size_t len, fl_err *err)
{
    const uint8_t *p = data;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' ' ||
                   p[len - 1] == '\t'))
        len--;
    if (len < SECRET_MIN || len > SECRET_MAX) {
        fl_err_set(err, "the cluster secret must be %d bytes to %d KiB long, not %zu bytes",
                   SECRET_MIN, SECRET_MAX / 1024, len);
        return -1;
    }
    const void *parts[] = {LABEL_KEY, p};
    size_t lens[] = {sizeof LABEL_KEY, len};
    /* a key derived by HMAC under a fixed label: the file's bytes never sit in memory as
     * the key itself */
    fl_hmac_sha256((const uint8_t *)LABEL_KEY, sizeof LABEL_KEY, parts, lens, 2, s->key);
    s->set = true;
    return 0;
}

int fl_secret_load(const fl_conf *conf, fl_secret *s, fl_err *err)
{
    const char *path = fl_conf_get_str(conf, "security.cluster.secret-file");
    memset(s, 0, sizeof *s);
    if (!path || !*path)
        return 0;
    int rc = -1;
    uint8_t *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0) {
        fl_err_set(err, "cannot open security.cluster.secret-file %s: %s", path,
                   strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SECRET_MAX + 64) {
        fl_err_set(err, "security.cluster.secret-file %s is not a regular file of at most "
                        "%d KiB", path, SECRET_MAX / 1024);
        goto out_close;
    }
    if (st.st_mode & 077)
        fl_warn("security.cluster.secret-file %s can be read by others (mode %03o): "
                "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
    buf = fl_xmalloc((size_t)st.st_size + 1);
    ssize_t n = read(fd, buf, (size_t)st.st_size + 1);
    if (n < 0) {
        fl_err_set(err, "cannot read security.cluster.secret-file %s: %s", path,
                   strerror(errno));
        goto out_free;
    }
    if (fl_secret_from_bytes(s, buf, (size_t)n, err) < 0) {
        fl_err_prefix(err, "security.cluster.secret-file %s", path);
        goto out_free;
    }
    rc = 0;
out_free:
    memset(buf, 0, (size_t)st.st_size + 1);
    free(buf);
out_close:
    close(fd);
    return rc;
}

bool fl_auth_is_handshake_type(uint16_t type)
{
    return type >= FL_AUTH_CHALLENGE && type <= FL_AUTH_OK;
}

static void nonce(uint8_t out[FL_AUTH_NONCE_LEN])
{
    size_t got = 0;
    while (got < FL_AUTH_NONCE_LEN) {
        ssize_t n = getrandom(out + got, FL_AUTH_NONCE_LEN - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            abort(); /* no randomness: no safe nonce */
    }
}

/* HMAC(K, label first second). */
static void proof(const fl_auth *a, const char *label, const uint8_t *first,
                  const uint8_t *second, uint8_t out[FL_SHA256_LEN])
{
    const void *parts[] = {label, first, second};
    size_t lens[] = {strlen(label), FL_AUTH_NONCE_LEN, FL_AUTH_NONCE_LEN};
    fl_hmac_sha256(a->secret.key, sizeof a->secret.key, parts, lens, 3, out);
}

static void put_frame(struct evbuffer *out, uint16_t type, const uint8_t *payload, uint32_t len,
                      bool front)
{
    uint8_t buf[FL_FRAME_HDR_LEN + 2 * FL_SHA256_LEN];
    fl_frame_hdr h = {.type = type, .len = len};
    fl_frame_hdr_encode(&h, buf);
    memcpy(buf + FL_FRAME_HDR_LEN, payload, len);
    if (!front) {
        evbuffer_add(out, buf, FL_FRAME_HDR_LEN + len);
        return;
    }
    /* A socket bufferevent freezes its output's front (the prepend then fails): nothing of
     * it has been sent, so thaw it for this and freeze it again. */
    if (evbuffer_prepend(out, buf, FL_FRAME_HDR_LEN + len) < 0) {
        evbuffer_unfreeze(out, 1);
        evbuffer_prepend(out, buf, FL_FRAME_HDR_LEN + len);
        evbuffer_freeze(out, 1);
    }
}

void fl_auth_accept(fl_auth *a, const fl_secret *s, struct evbuffer *out)
{
    memset(a, 0, sizeof *a);
    a->secret = *s;
    a->acceptor = true;
    a->state = FL_AUTH_WAIT_RESPONSE;
    nonce(a->mine);
    put_frame(out, FL_AUTH_CHALLENGE, a->mine, FL_AUTH_NONCE_LEN, false);
}

void fl_auth_connect(fl_auth *a, const fl_secret *s)
{
    memset(a, 0, sizeof *a);
    a->secret = *s;
    a->state = FL_AUTH_WAIT_CHALLENGE;
    nonce(a->mine);
}

bool fl_auth_done(const fl_auth *a)
{
    return a->state == FL_AUTH_DONE;
}

static const char *expected_name(fl_auth_state state)
{
    return state == FL_AUTH_WAIT_CHALLENGE ? "an AUTH_CHALLENGE"
         : state == FL_AUTH_WAIT_RESPONSE  ? "an AUTH_RESPONSE"
                                     : "an AUTH_OK";
}

int fl_auth_step(fl_auth *a, struct evbuffer *in, struct evbuffer *out, char *why,
                 size_t whylen)
{
    while (a->state != FL_AUTH_DONE) {
        fl_frame_hdr h;
        fl_err err;
        uint8_t raw[FL_FRAME_HDR_LEN], p[2 * FL_SHA256_LEN], mac[FL_SHA256_LEN];
        size_t avail = evbuffer_get_length(in);
        if (avail && evbuffer_copyout(in, raw, 1) == 1 && raw[0] != FL_FRAME_MAGIC) {
            snprintf(why, whylen, "the peer did not prove the cluster secret "
                                  "(security.cluster.secret-file): not a Flint frame");
            return -1;
        }
        if (avail < FL_FRAME_HDR_LEN)
            return 0;
        evbuffer_copyout(in, raw, sizeof raw);
        if (fl_frame_hdr_decode(raw, UINT32_MAX, &h, &err) < 0) {
            snprintf(why, whylen, "cluster-secret handshake: %.400s", err.msg);
            return -1;
        }
        uint16_t want = a->state == FL_AUTH_WAIT_CHALLENGE ? FL_AUTH_CHALLENGE
                      : a->state == FL_AUTH_WAIT_RESPONSE  ? FL_AUTH_RESPONSE
                                                     : FL_AUTH_OK;
        uint32_t want_len = want == FL_AUTH_RESPONSE ? 2 * FL_SHA256_LEN : FL_SHA256_LEN;
        if (h.type != want || h.len != want_len) {
            snprintf(why, whylen, "the peer did not prove the cluster secret "
                                  "(security.cluster.secret-file): expected %s frame, got "
                                  "type %u of %u bytes", expected_name(a->state), h.type, h.len);
            return -1;
        }
        if (avail < FL_FRAME_HDR_LEN + h.len)
            return 0;
        evbuffer_drain(in, FL_FRAME_HDR_LEN);
        evbuffer_remove(in, p, h.len);
        switch (a->state) {
        case FL_AUTH_WAIT_CHALLENGE: {
            uint8_t resp[2 * FL_SHA256_LEN];
            memcpy(a->theirs, p, FL_AUTH_NONCE_LEN);
            memcpy(resp, a->mine, FL_AUTH_NONCE_LEN);
            proof(a, LABEL_CONNECTOR, a->theirs, a->mine, resp + FL_AUTH_NONCE_LEN);
            put_frame(out, FL_AUTH_RESPONSE, resp, sizeof resp, true);
            a->state = FL_AUTH_WAIT_OK;
            break;
        }
        case FL_AUTH_WAIT_RESPONSE:
            memcpy(a->theirs, p, FL_AUTH_NONCE_LEN);
            proof(a, LABEL_CONNECTOR, a->mine, a->theirs, mac);
            if (!fl_digest_equal(mac, p + FL_AUTH_NONCE_LEN, sizeof mac)) {
                snprintf(why, whylen, "the peer failed the cluster-secret handshake "
                                      "(wrong security.cluster.secret-file)");
                return -1;
            }
            proof(a, LABEL_ACCEPTOR, a->theirs, a->mine, mac);
            put_frame(out, FL_AUTH_OK, mac, sizeof mac, false);
            a->state = FL_AUTH_DONE;
            break;
        case FL_AUTH_WAIT_OK:
            proof(a, LABEL_ACCEPTOR, a->mine, a->theirs, mac);
            if (!fl_digest_equal(mac, p, sizeof mac)) {
                snprintf(why, whylen, "the peer failed the cluster-secret handshake "
                                      "(wrong security.cluster.secret-file)");
                return -1;
            }
            a->state = FL_AUTH_DONE;
            break;
        case FL_AUTH_DONE: /* the loop ends first */
            break;
        }
    }
    return 1;
}
