/* fs_s3.c -- S3 and S3-compatible object stores behind fs.h (s3://, s3a://, s3p://), over
 * libcurl with its built-in AWS Signature Version 4 (CURLOPT_AWS_SIGV4): every request is
 * signed with s3.access-key / s3.secret-key for s3.region, the payload's SHA-256 in
 * x-amz-content-sha256. Requests that fail with a 5xx, 429, a time-out or a broken
 * connection are retried with exponential backoff (s3.retry.max-attempts,
 * s3.retry.initial-backoff); 4xx are final. Each thread keeps one curl handle, so its
 * connection to the endpoint is reused from request to request.
 *
 * Objects larger than s3.upload.min.part.size go up as multipart uploads (a write stream
 * sends each full part as it fills); listings follow continuation tokens; deletes go 1000
 * keys per DeleteObjects request. The secret key lives only in this file's configuration
 * and in curl's request signing: no message, log line or REST body names it.
 */
#include "fs_s3_internal.h"
#include "log.h"
#include "sha256.h"
#include "util.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DELETE_BATCH 1000

/* Configuration: written once by fl_fs_s3_init before other threads use the layer. */
static struct {
    char scheme[8], host[256], base_path[256];
    char access[256], secret[256], region[64], sigv4[128];
    bool path_style;
    size_t part_size;
    uint64_t multipart_threshold;
    int attempts;
    long backoff_ms, connect_ms, request_ms;
} cfg = {"https", "", "", "", "", "us-east-1", "", false, 5u << 20, 128u << 20, 5, 100, 5000, 60000};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_key_t curl_key;

static void free_handle(void *h)
{
    curl_easy_cleanup(h);
}

static void curl_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&curl_key, free_handle);
}

/* This thread's handle: its connections stay open for the next request. */
static CURL *handle(void)
{
    pthread_once(&curl_once, curl_setup);
    CURL *c = pthread_getspecific(curl_key);
    if (!c) {
        c = curl_easy_init();
        pthread_setspecific(curl_key, c);
    }
    return c;
}

int fl_fs_s3_init(const fl_conf *conf, fl_err *err)
{
    pthread_once(&curl_once, curl_setup);
    const char *ep = fl_conf_get_str(conf, "s3.endpoint");
    const char *region = fl_conf_get_str(conf, "s3.region");
    snprintf(cfg.region, sizeof cfg.region, "%s", region && *region ? region : "us-east-1");
    if (ep && *ep) {
        const char *rest = ep;
        if (!strncmp(ep, "http://", 7) || !strncmp(ep, "https://", 8)) {
            snprintf(cfg.scheme, sizeof cfg.scheme, "%.*s", (int)(strchr(ep, ':') - ep), ep);
            rest = strchr(ep, ':') + 3;
        }
        size_t n = strcspn(rest, "/");
        if (n == 0 || n >= sizeof cfg.host) {
            fl_err_set(err, "s3.endpoint '%.200s' names no host", ep);
            return -1;
        }
        snprintf(cfg.host, sizeof cfg.host, "%.*s", (int)n, rest);
        snprintf(cfg.base_path, sizeof cfg.base_path, "%s", rest + n);
        size_t bl = strlen(cfg.base_path);
        while (bl && cfg.base_path[bl - 1] == '/')
            cfg.base_path[--bl] = '\0';
    } else {
        snprintf(cfg.host, sizeof cfg.host, "s3.%s.amazonaws.com", cfg.region);
    }
    const char *ak = fl_conf_get_str(conf, "s3.access-key");
    const char *sk = fl_conf_get_str(conf, "s3.secret-key");
    if (!ak || !*ak)
        ak = getenv("AWS_ACCESS_KEY_ID");
    if (!sk || !*sk)
        sk = getenv("AWS_SECRET_ACCESS_KEY");
    snprintf(cfg.access, sizeof cfg.access, "%s", ak ? ak : "");
    snprintf(cfg.secret, sizeof cfg.secret, "%s", sk ? sk : "");
    snprintf(cfg.sigv4, sizeof cfg.sigv4, "aws:amz:%s:s3", cfg.region);
    cfg.path_style = fl_conf_get_bool(conf, "s3.path.style.access");
    cfg.part_size = (size_t)fl_conf_get_bytes(conf, "s3.upload.min.part.size");
    cfg.multipart_threshold = (uint64_t)fl_conf_get_bytes(conf, "s3.multipart.threshold");
    cfg.attempts = (int)fl_conf_get_int(conf, "s3.retry.max-attempts");
    cfg.backoff_ms = (long)fl_conf_get_duration_ms(conf, "s3.retry.initial-backoff");
    cfg.connect_ms = (long)fl_conf_get_duration_ms(conf, "s3.connection.timeout");
    cfg.request_ms = (long)fl_conf_get_duration_ms(conf, "s3.request.timeout");
    return 0;
}

size_t fl_fs_s3_part_size(void)
{
    return cfg.part_size;
}

uint64_t fl_s3_multipart_threshold(void)
{
    return cfg.multipart_threshold;
}

/* ---- requests ---------------------------------------------------------------------- */


/* RFC 3986 encoding as SigV4 wants it: unreserved characters stay, '/' too when keep_slash. */
void fl_s3_uri_encode(fl_bytes *out, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
            fl_bytes_put(out, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            fl_bytes_put(out, e, 3);
        }
    }
}

void fl_s3_put_str(fl_bytes *b, const char *s)
{
    fl_bytes_put(b, s, strlen(s));
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    s3_call *c = arg;
    size_t len = size * n;
    if (c->fd >= 0 && c->status / 100 == 2) {
        for (size_t w = 0; w < len;) {
            ssize_t k = write(c->fd, p + w, len - w);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                c->write_errno = k < 0 ? errno : ENOSPC;
                return 0; /* aborts the transfer */
            }
            w += (size_t)k;
        }
        return len;
    }
    if (c->resp.len + len > (64u << 20)) /* a listing page or an error: never this big */
        return 0;
    fl_bytes_put(&c->resp, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    s3_call *c = arg;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(p, "HTTP/", 5)) {
        /* a new response (after a redirect or 100-continue): its status, fresh headers */
        long st = 0;
        const char *sp = memchr(p, ' ', len);
        if (sp)
            st = strtol(sp + 1, NULL, 10);
        c->status = st;
        c->etag[0] = '\0';
        c->resp.len = 0;
    } else if (len > 5 && !strncasecmp(p, "ETag:", 5)) {
        size_t i = 5;
        while (i < len && (p[i] == ' ' || p[i] == '"'))
            i++;
        size_t j = i;
        while (j < len && p[j] != '"' && p[j] != '\r' && p[j] != '\n')
            j++;
        snprintf(c->etag, sizeof c->etag, "%.*s", (int)(j - i), p + i);
    } else if (len > 15 && !strncasecmp(p, "Content-Length:", 15)) {
        c->length = strtoull(p + 15, NULL, 10);
    } else if (len > 14 && !strncasecmp(p, "Last-Modified:", 14)) {
        char date[64];
        snprintf(date, sizeof date, "%.*s", (int)FL_MIN(len - 14, sizeof date - 1), p + 14);
        c->mtime = curl_getdate(date, NULL);
    }
    return len;
}

/* The text of <tag>...</tag> at or after *pos in xml (entities decoded) into out; false
 * when there is none before end. *pos moves past it. */
bool fl_s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag, char *out,
                     size_t outlen)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *s = memmem(xml + *pos, len - *pos, open, strlen(open));
    if (!s)
        return false;
    s += strlen(open);
    const char *e = memmem(s, (size_t)(xml + len - s), close, strlen(close));
    if (!e)
        return false;
    *pos = (size_t)(e - xml) + strlen(close);
    size_t o = 0;
    for (const char *p = s; p < e && o + 1 < outlen; p++) {
        static const struct { const char *ent; char c; } ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        char ch = *p;
        if (ch == '&')
            for (size_t k = 0; k < FL_ARRAY_LEN(ents); k++) {
                size_t n = strlen(ents[k].ent);
                if ((size_t)(e - p) >= n && !strncmp(p, ents[k].ent, n)) {
                    ch = ents[k].c;
                    p += n - 1;
                    break;
                }
            }
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

static void xml_escape(fl_bytes *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fl_s3_put_str(b, "&amp;"); break;
        case '<': fl_s3_put_str(b, "&lt;"); break;
        case '>': fl_s3_put_str(b, "&gt;"); break;
        case '"': fl_s3_put_str(b, "&quot;"); break;
        case '\'': fl_s3_put_str(b, "&apos;"); break;
        default: fl_bytes_put(b, s, 1);
        }
    }
}

/* "s3://bucket/key" for messages. */
static void where(const s3_call *c, char *out, size_t len)
{
    snprintf(out, len, "s3://%s/%.600s", c->bucket, c->key);
}

/* The failure of a finished request, with S3's code and message. */
void fl_s3_error(const s3_call *c, fl_err *err)
{
    char code[128] = "", msg[300] = "", w[700];
    size_t pos = 0;
    where(c, w, sizeof w);
    if (c->resp.len) {
        fl_s3_xml_next((const char *)c->resp.p, c->resp.len, &pos, "Code", code, sizeof code);
        pos = 0;
        fl_s3_xml_next((const char *)c->resp.p, c->resp.len, &pos, "Message", msg, sizeof msg);
    }
    fl_err_set(err, "S3 %s %s: HTTP %ld%s%s%s%s", c->method, w, c->status, code[0] ? " " : "",
               code, msg[0] ? ": " : "", msg);
}

static bool retryable(CURLcode rc, long status)
{
    if (rc != CURLE_OK)
        return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
               rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
               rc == CURLE_PARTIAL_FILE || rc == CURLE_COULDNT_RESOLVE_HOST ||
               rc == CURLE_SSL_CONNECT_ERROR;
    return status >= 500 || status == 429;
}

/* One attempt. */
static CURLcode perform(s3_call *c, char *curl_msg)
{
    CURL *h = handle();
    curl_easy_reset(h); /* options only: the connection cache stays */
    fl_bytes url = {0};
    fl_s3_put_str(&url, cfg.scheme);
    fl_s3_put_str(&url, "://");
    if (!cfg.path_style) {
        fl_s3_put_str(&url, c->bucket);
        fl_s3_put_str(&url, ".");
    }
    fl_s3_put_str(&url, cfg.host);
    fl_s3_put_str(&url, cfg.base_path);
    fl_s3_put_str(&url, "/");
    if (cfg.path_style) {
        fl_s3_put_str(&url, c->bucket);
        if (*c->key)
            fl_s3_put_str(&url, "/");
    }
    fl_s3_uri_encode(&url, c->key, true);
    if (c->query) {
        fl_s3_put_str(&url, "?");
        fl_s3_put_str(&url, c->query);
    }
    fl_bytes_put(&url, "", 1);

    uint8_t digest[FL_SHA256_LEN];
    char hex[65], hdr[160];
    fl_sha256(c->body ? c->body : "", c->body ? c->body_len : 0, digest);
    fl_sha256_hex(digest, hex);
    snprintf(hdr, sizeof hdr, "x-amz-content-sha256: %s", hex);
    struct curl_slist *hs = curl_slist_append(NULL, hdr);
    /* an explicit type: curl signs one even for a body it would send without */
    hs = curl_slist_append(hs, "Content-Type: application/octet-stream");
    hs = curl_slist_append(hs, "Expect:");
    if (c->md5) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        unsigned char b64[64];
        EVP_Digest(c->body, c->body_len, md, &mdlen, EVP_md5(), NULL);
        EVP_EncodeBlock(b64, md, (int)mdlen);
        snprintf(hdr, sizeof hdr, "Content-MD5: %s", b64);
        hs = curl_slist_append(hs, hdr);
    }
    curl_easy_setopt(h, CURLOPT_URL, (char *)url.p);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, cfg.sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, cfg.access);
    curl_easy_setopt(h, CURLOPT_PASSWORD, cfg.secret);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cfg.connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg.request_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
    if (!strcmp(c->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
        if (c->body || !strcmp(c->method, "PUT") || !strcmp(c->method, "POST")) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? (const char *)c->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(c->body ? c->body_len : 0));
        }
    }
    curl_msg[0] = '\0';
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hs);
    free(url.p);
    return rc;
}

/* Runs c with retries. 0 when the answer is 2xx; 1 when it is 404 and missing_ok; -1 with
 * err otherwise. */
int fl_s3_do(s3_call *c, bool missing_ok, fl_err *err)
{
    char curl_msg[CURL_ERROR_SIZE];
    long wait = cfg.backoff_ms;
    off_t fd_start = c->fd >= 0 ? lseek(c->fd, 0, SEEK_CUR) : 0;
    for (int attempt = 1;; attempt++) {
        c->status = 0;
        c->resp.len = 0;
        c->etag[0] = '\0';
        c->length = 0;
        c->mtime = -1;
        c->write_errno = 0;
        if (c->fd >= 0 && (ftruncate(c->fd, fd_start) < 0 ||
                           lseek(c->fd, fd_start, SEEK_SET) < 0)) {
            fl_err_set(err, "cannot rewind a download: %s", strerror(errno));
            return -1;
        }
        CURLcode rc = perform(c, curl_msg);
        if (c->write_errno) {
            fl_err_set(err, "cannot write what S3 sends: %s", strerror(c->write_errno));
            return -1;
        }
        if (rc == CURLE_OK && c->status / 100 == 2)
            return 0;
        if (rc == CURLE_OK && c->status == 404 && missing_ok)
            return 1;
        if (attempt >= cfg.attempts || !retryable(rc, c->status)) {
            if (rc != CURLE_OK) {
                char w[700];
                where(c, w, sizeof w);
                fl_err_set(err, "S3 %s %s: %s (%s://%s, %d attempts)", c->method, w,
                           curl_msg[0] ? curl_msg : curl_easy_strerror(rc), cfg.scheme,
                           cfg.host, attempt);
            } else {
                fl_s3_error(c, err);
            }
            return -1;
        }
        fl_debug("S3 %s s3://%s/%.300s: %s; retrying in %ld ms", c->method, c->bucket, c->key,
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "server error", wait);
        usleep((useconds_t)(wait + (long)(random() % (wait / 4 + 1))) * 1000);
        wait = FL_MIN(wait * 2, 5000);
    }
}

void fl_s3_call_init(s3_call *c, const char *method, const fl_fs_loc *l, const char *key)
{
    memset(c, 0, sizeof *c);
    c->method = method;
    c->bucket = l->bucket;
    c->key = key ? key : l->path;
    c->fd = -1;
}

/* ---- whole objects ----------------------------------------------------------------- */

int fl_s3_put(const fl_fs_loc *l, const void *data, size_t len, fl_err *err)
{
    s3_call c;
    fl_s3_call_init(&c, "PUT", l, NULL);
    c.body = data ? data : "";
    c.body_len = len;
    int rc = fl_s3_do(&c, false, err);
    free(c.resp.p);
    return rc;
}

static int s_get(const fl_fs_loc *l, char **out, size_t *len, fl_err *err)
{
    s3_call c;
    fl_s3_call_init(&c, "GET", l, NULL);
    int rc = fl_s3_do(&c, true, err);
    if (rc == 1) {
        fl_err_set(err, "%s does not exist", l->uri);
        rc = -1;
    }
    if (rc < 0) {
        free(c.resp.p);
        return -1;
    }
    fl_bytes_put(&c.resp, "", 1);
    *out = (char *)c.resp.p;
    if (len)
        *len = c.resp.len - 1;
    return 0;
}

int fl_s3_stat(const fl_fs_loc *l, bool *exists, uint64_t *size, int64_t *mtime_ns,
               fl_err *err)
{
    s3_call c;
    fl_s3_call_init(&c, "HEAD", l, NULL);
    int rc = fl_s3_do(&c, true, err);
    free(c.resp.p);
    if (rc < 0)
        return -1;
    *exists = rc == 0;
    if (size)
        *size = c.length;
    if (*exists && mtime_ns) {
        if (c.mtime < 0) {
            fl_err_set(err, "%s: the store sent no Last-Modified", l->uri);
            return -1;
        }
        *mtime_ns = (int64_t)c.mtime * 1000000000;
    }
    return 0;
}

static int s_get_file(const fl_fs_loc *l, const char *dst, fl_err *err)
{
    s3_call c;
    fl_s3_call_init(&c, "GET", l, NULL);
    c.fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (c.fd < 0) {
        fl_err_set(err, "cannot create %s: %s", dst, strerror(errno));
        return -1;
    }
    int rc = fl_s3_do(&c, true, err);
    if (rc == 1) {
        fl_err_set(err, "%s does not exist", l->uri);
        rc = -1;
    }
    if (rc == 0 && fsync(c.fd) < 0) {
        fl_err_set(err, "cannot sync %s: %s", dst, strerror(errno));
        rc = -1;
    }
    close(c.fd);
    free(c.resp.p);
    return rc;
}

/* ---- listing and deleting ---------------------------------------------------------- */

/* key with a '/' at its end (the prefix of a "directory"), "" for the root. */
char *fl_s3_dir_prefix(const char *key)
{
    size_t n = strlen(key);
    return n && key[n - 1] != '/' ? fl_xasprintf("%s/", key) : fl_xstrdup(key);
}

static int s_list(const fl_fs_loc *l, bool recursive, fl_fs_list_fn fn, void *arg, fl_err *err)
{
    char *prefix = fl_s3_dir_prefix(l->path);
    size_t plen = strlen(prefix);
    char token[1100] = "";
    int rc = 0;
    for (bool more = true; more && rc == 0;) {
        fl_bytes q = {0};
        if (token[0]) {
            fl_s3_put_str(&q, "continuation-token=");
            fl_s3_uri_encode(&q, token, false);
            fl_s3_put_str(&q, "&");
        }
        if (!recursive)
            fl_s3_put_str(&q, "delimiter=%2F&");
        fl_s3_put_str(&q, "list-type=2&prefix=");
        fl_s3_uri_encode(&q, prefix, false);
        fl_bytes_put(&q, "", 1);
        s3_call c;
        fl_s3_call_init(&c, "GET", l, "");
        c.query = (const char *)q.p;
        if (fl_s3_do(&c, false, err) < 0) {
            rc = -1;
        } else {
            const char *xml = (const char *)c.resp.p;
            size_t len = c.resp.len, pos = 0;
            char name[1100], size[32], trunc[16] = "";
            /* <Contents><Key>k</Key>...<Size>n</Size></Contents>: Key then Size in each */
            while (rc == 0 && fl_s3_xml_next(xml, len, &pos, "Key", name, sizeof name)) {
                size_t spos = pos;
                uint64_t sz = fl_s3_xml_next(xml, len, &spos, "Size", size, sizeof size)
                                  ? strtoull(size, NULL, 10) : 0;
                if (strlen(name) > plen && fn(arg, name + plen, false, sz))
                    rc = 1;
            }
            for (pos = 0; rc == 0 && fl_s3_xml_next(xml, len, &pos, "Prefix", name, sizeof name);) {
                size_t n = strlen(name);
                if (n <= plen || name[n - 1] != '/')
                    continue; /* the request's own <Prefix> */
                name[n - 1] = '\0';
                if (fn(arg, name + plen, true, 0))
                    rc = 1;
            }
            pos = 0;
            fl_s3_xml_next(xml, len, &pos, "IsTruncated", trunc, sizeof trunc);
            more = !strcmp(trunc, "true");
            pos = 0;
            if (more && !fl_s3_xml_next(xml, len, &pos, "NextContinuationToken", token, sizeof token)) {
                fl_err_set(err, "S3 listing of %s: truncated without a continuation token",
                           l->uri);
                rc = -1;
            }
        }
        free(c.resp.p);
        free(q.p);
    }
    free(prefix);
    return rc < 0 ? -1 : 0;
}

/* DeleteObjects for up to DELETE_BATCH keys (full keys). */
static int delete_batch(const fl_fs_loc *l, char *const *keys, size_t n, fl_err *err)
{
    fl_bytes b = {0};
    fl_s3_put_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        fl_s3_put_str(&b, "<Object><Key>");
        xml_escape(&b, keys[i]);
        fl_s3_put_str(&b, "</Key></Object>");
    }
    fl_s3_put_str(&b, "</Delete>");
    s3_call c;
    fl_s3_call_init(&c, "POST", l, "");
    c.query = "delete=";
    c.body = b.p;
    c.body_len = b.len;
    c.md5 = true;
    int rc = fl_s3_do(&c, false, err);
    if (rc == 0 && c.resp.len) {
        /* Quiet: only the keys that failed come back */
        char key[1100], msg[200] = "";
        size_t pos = 0;
        const char *xml = (const char *)c.resp.p;
        const char *e = memmem(xml, c.resp.len, "<Error>", 7);
        if (e) {
            pos = (size_t)(e - xml);
            fl_s3_xml_next(xml, c.resp.len, &pos, "Key", key, sizeof key);
            pos = (size_t)(e - xml);
            fl_s3_xml_next(xml, c.resp.len, &pos, "Message", msg, sizeof msg);
            fl_err_set(err, "S3 cannot delete s3://%s/%.500s: %s", l->bucket, key, msg);
            rc = -1;
        }
    }
    free(c.resp.p);
    free(b.p);
    return rc;
}

static int s_delete_many(const fl_fs_loc *dir, const char *const *names, size_t n,
                         fl_err *err)
{
    char *prefix = fl_s3_dir_prefix(dir->path);
    char **keys = fl_xcalloc(FL_MIN(n, (size_t)DELETE_BATCH) + 1, sizeof *keys);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t k = 0;
        for (; k < DELETE_BATCH && i < n; k++, i++)
            keys[k] = fl_xasprintf("%s%s", prefix, names[i]);
        rc = delete_batch(dir, keys, k, err);
        for (size_t j = 0; j < k; j++)
            free(keys[j]);
    }
    free(keys);
    free(prefix);
    return rc;
}

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static int collect(void *arg, const char *name, bool is_dir, uint64_t size)
{
    names *ns = arg;
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 64;
        ns->v = fl_xrealloc(ns->v, ns->cap * sizeof *ns->v);
    }
    ns->v[ns->n++] = fl_xstrdup(name);
    return 0;
}

static int s_delete_tree(const fl_fs_loc *l, fl_err *err)
{
    names ns = {0};
    int rc = s_list(l, true, collect, &ns, err);
    if (rc == 0 && ns.n)
        rc = s_delete_many(l, (const char *const *)ns.v, ns.n, err);
    for (size_t i = 0; i < ns.n; i++)
        free(ns.v[i]);
    free(ns.v);
    return rc;
}

static int s_nothing(const fl_fs_loc *l, fl_err *err)
{
    return 0; /* an object store has no directories to make or sync */
}

const fl_fs_ops fl_fs_s3_ops = {
    .put = fl_s3_put,
    .get = s_get,
    .put_file = fl_s3_put_file,
    .get_file = s_get_file,
    .stat = fl_s3_stat,
    .list = s_list,
    .delete_many = s_delete_many,
    .delete_tree = s_delete_tree,
    .mkdirs = s_nothing,
    .sync_dir = s_nothing,
    .out_open = fl_s3_out_open,
    .out_part = fl_s3_out_part,
    .out_close = fl_s3_out_close,
    .out_close_for_commit = fl_s3_out_close_for_commit,
    .out_abort = fl_s3_out_abort,
    .commit = fl_s3_commit,
    .commit_abort = fl_s3_commit_abort,
    .abort_uploads = fl_s3_abort_uploads,
};
