/* fs_s3_upload.c -- multipart uploads of the S3 file system (fs_s3.c has the rest): a write
 * stream initiates an upload with its first full part and sends each part as it fills (a
 * stream that fits one part goes up in one PUT at close); close completes the upload, abort
 * aborts it. The recoverable writer (fs.h) stops before completing: its committable names
 * the upload and the parts' ETags, and a later process completes or aborts it.
 */
#include "fs_s3_internal.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


typedef struct s_out {
    char upload[300];
    char (*etags)[72];
    int nparts, cap;
} s_out;

int fl_s3_out_open(fl_fs_out *o, fl_err *err)
{
    o->impl = fl_xcalloc(1, sizeof(s_out)); /* the upload starts with the first full part */
    return 0;
}

static int initiate(fl_fs_out *o, s_out *so, fl_err *err)
{
    s3_call c;
    fl_s3_call_init(&c, "POST", &o->loc, NULL);
    c.query = "uploads=";
    int rc = fl_s3_do(&c, false, err);
    size_t pos = 0;
    if (rc == 0 && !fl_s3_xml_next((const char *)c.resp.p, c.resp.len, &pos, "UploadId", so->upload,
                             sizeof so->upload)) {
        fl_err_set(err, "S3 gave no upload id for %s", o->uri);
        rc = -1;
    }
    free(c.resp.p);
    return rc;
}

static int upload_part(fl_fs_out *o, s_out *so, const void *data, size_t len, fl_err *err)
{
    if (!so->upload[0] && initiate(o, so, err) < 0)
        return -1;
    if (so->nparts >= MAX_PARTS) {
        fl_err_set(err, "%s: more than %d parts of %zu bytes (raise s3.upload.min.part.size)",
                   o->uri, MAX_PARTS, o->part_size);
        return -1;
    }
    char q[400];
    fl_bytes enc = {0};
    fl_s3_uri_encode(&enc, so->upload, false);
    fl_bytes_put(&enc, "", 1);
    snprintf(q, sizeof q, "partNumber=%d&uploadId=%s", so->nparts + 1, (char *)enc.p);
    free(enc.p);
    s3_call c;
    fl_s3_call_init(&c, "PUT", &o->loc, NULL);
    c.query = q;
    c.body = data ? data : "";
    c.body_len = len;
    int rc = fl_s3_do(&c, false, err);
    if (rc == 0) {
        if (so->nparts == so->cap) {
            so->cap = so->cap ? so->cap * 2 : 16;
            so->etags = fl_xrealloc(so->etags, (size_t)so->cap * sizeof *so->etags);
        }
        snprintf(so->etags[so->nparts++], sizeof *so->etags, "%s", c.etag);
    }
    free(c.resp.p);
    return rc;
}

int fl_s3_out_part(fl_fs_out *o, const void *data, size_t len, fl_err *err)
{
    return upload_part(o, o->impl, data, len, err);
}

/* The query naming an upload. */
static void upload_query(const char *upload, char *q, size_t len)
{
    fl_bytes enc = {0};
    fl_s3_uri_encode(&enc, upload, false);
    fl_bytes_put(&enc, "", 1);
    snprintf(q, len, "uploadId=%s", (char *)enc.p);
    free(enc.p);
}

static int abort_upload(const fl_fs_loc *l, const char *upload, fl_err *err)
{
    char q[400];
    upload_query(upload, q, sizeof q);
    s3_call c;
    fl_s3_call_init(&c, "DELETE", l, NULL);
    c.query = q;
    int rc = fl_s3_do(&c, true, err);
    if (rc < 0 && (c.status == 405 || c.status == 501)) {
        /* a store without AbortMultipartUpload (s3rver): the upload stays invisible until
         * it expires, as nobody completes it */
        fl_debug("%s: the store cannot abort uploads (%s)", l->uri, err->msg);
        rc = 0;
    }
    free(c.resp.p);
    return rc < 0 ? -1 : 0;
}

void fl_s3_out_abort(fl_fs_out *o)
{
    s_out *so = o->impl;
    if (!so)
        return;
    fl_err err;
    if (so->upload[0] && abort_upload(&o->loc, so->upload, &err) < 0)
        fl_debug("abandoning the upload of %s: %s", o->uri, err.msg);
    free(so->etags);
    free(so);
    o->impl = NULL;
}

/* CompleteMultipartUpload of "upload" with the parts' etags; already completed (no such
 * upload, the object there) counts as done. */
static int complete(const fl_fs_loc *l, const char *upload, char (*etags)[72], int n,
                    fl_err *err)
{
    fl_bytes b = {0};
    fl_s3_put_str(&b, "<CompleteMultipartUpload>");
    for (int i = 0; i < n; i++) {
        char part[160];
        snprintf(part, sizeof part, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
                 i + 1, etags[i]);
        fl_s3_put_str(&b, part);
    }
    fl_s3_put_str(&b, "</CompleteMultipartUpload>");
    char q[400];
    upload_query(upload, q, sizeof q);
    s3_call c;
    fl_s3_call_init(&c, "POST", l, NULL);
    c.query = q;
    c.body = b.p;
    c.body_len = b.len;
    int rc = fl_s3_do(&c, true, err);
    /* S3 may answer 200 with an error in the body */
    if (rc == 0 && c.resp.len && memmem(c.resp.p, c.resp.len, "<Error>", 7)) {
        fl_s3_error(&c, err);
        rc = -1;
    }
    if (rc != 0) {
        bool exists = false;
        fl_err e2;
        if (fl_s3_stat(l, &exists, NULL, NULL, &e2) == 0 && exists)
            rc = 0; /* committed before */
        else if (rc == 1)
            fl_err_set(err, "S3 knows no upload %.100s of %s (aborted or expired)", upload,
                       l->uri);
    }
    free(c.resp.p);
    free(b.p);
    return rc < 0 || rc == 1 ? -1 : 0;
}

static void out_done(fl_fs_out *o)
{
    s_out *so = o->impl;
    free(so->etags);
    free(so);
    o->impl = NULL;
}

int fl_s3_out_close(fl_fs_out *o, fl_err *err)
{
    s_out *so = o->impl;
    int rc;
    if (!so->upload[0]) {
        rc = fl_s3_put(&o->loc, o->buf, o->len, err); /* it fit one part: one PUT */
    } else {
        rc = (o->len ? upload_part(o, so, o->buf, o->len, err) : 0);
        if (rc == 0)
            rc = complete(&o->loc, so->upload, so->etags, so->nparts, err);
        if (rc < 0) {
            fl_s3_out_abort(o);
            return -1;
        }
    }
    out_done(o);
    return rc;
}

/* The committable: "<upload id> <etag>,<etag>,..." (S3 needs every part's ETag to complete;
 * not every S3-compatible store can list them again). */
int fl_s3_out_close_for_commit(fl_fs_out *o, char **committable, fl_err *err)
{
    s_out *so = o->impl;
    if ((o->len || !so->nparts) && upload_part(o, so, o->buf, o->len, err) < 0) {
        fl_s3_out_abort(o);
        return -1;
    }
    fl_bytes b = {0};
    fl_s3_put_str(&b, so->upload);
    for (int i = 0; i < so->nparts; i++) {
        fl_s3_put_str(&b, i ? "," : " ");
        fl_s3_put_str(&b, so->etags[i]);
    }
    fl_bytes_put(&b, "", 1);
    *committable = (char *)b.p;
    out_done(o);
    return 0;
}

/* Splits a committable into the upload id and the etags (*n of them, *etags the caller's). */
static int parse_committable(const char *cm, char *upload, size_t ulen, char (**etags)[72],
                             int *n, fl_err *err)
{
    const char *sp = strchr(cm, ' ');
    if (!sp || (size_t)(sp - cm) >= ulen || sp == cm) {
        fl_err_set(err, "'%.100s' is not an S3 committable", cm);
        return -1;
    }
    snprintf(upload, ulen, "%.*s", (int)(sp - cm), cm);
    *n = 0;
    *etags = NULL;
    for (const char *p = sp + 1; *p;) {
        size_t k = strcspn(p, ",");
        if (k == 0 || k >= 72 || *n >= MAX_PARTS) {
            free(*etags);
            fl_err_set(err, "'%.100s' is not an S3 committable", cm);
            return -1;
        }
        *etags = fl_xrealloc(*etags, (size_t)(*n + 1) * sizeof **etags);
        snprintf((*etags)[(*n)++], 72, "%.*s", (int)k, p);
        p += k + (p[k] == ',');
    }
    return 0;
}

int fl_s3_commit(const fl_fs_loc *l, const char *committable, fl_err *err)
{
    char upload[300];
    char (*etags)[72];
    int n;
    if (parse_committable(committable, upload, sizeof upload, &etags, &n, err) < 0)
        return -1;
    int rc = complete(l, upload, etags, n, err);
    free(etags);
    return rc;
}

int fl_s3_commit_abort(const fl_fs_loc *l, const char *committable, fl_err *err)
{
    char upload[300];
    char (*etags)[72];
    int n;
    if (parse_committable(committable, upload, sizeof upload, &etags, &n, err) < 0)
        return -1;
    free(etags);
    return abort_upload(l, upload, err);
}

/* ListMultipartUploads below dir (paginated); aborts those keep() does not want. Stores
 * without the call (s3rver) leave such uploads to their expiry: nothing of them is
 * visible, as no object appears before its upload completes. */
int fl_s3_abort_uploads(const fl_fs_loc *dir, const char *name_prefix, fl_fs_keep_fn keep,
                           void *arg, fl_err *err)
{
    char *prefix = fl_s3_dir_prefix(dir->path);
    char *full = fl_xasprintf("%s%s", prefix, name_prefix);
    char key_marker[1100] = "", id_marker[300] = "";
    int dropped = 0, rc = 0;
    for (bool more = true; more && rc == 0;) {
        fl_bytes q = {0};
        if (key_marker[0]) {
            fl_s3_put_str(&q, "key-marker=");
            fl_s3_uri_encode(&q, key_marker, false);
            fl_s3_put_str(&q, "&");
        }
        fl_s3_put_str(&q, "prefix=");
        fl_s3_uri_encode(&q, full, false);
        if (id_marker[0]) {
            fl_s3_put_str(&q, "&upload-id-marker=");
            fl_s3_uri_encode(&q, id_marker, false);
        }
        fl_s3_put_str(&q, "&uploads=");
        fl_bytes_put(&q, "", 1);
        s3_call c;
        fl_s3_call_init(&c, "GET", dir, "");
        c.query = (const char *)q.p;
        if (fl_s3_do(&c, false, err) < 0) {
            if (c.status == 501 || c.status == 405) {
                fl_debug("%s: the store cannot list uploads (%s)", dir->uri, err->msg);
                more = false;
            } else {
                rc = -1;
            }
        } else {
            const char *xml = (const char *)c.resp.p;
            size_t len = c.resp.len, pos = 0;
            const char *u;
            while ((u = memmem(xml + pos, len - pos, "<Upload>", 8))) {
                char key[1100], id[300];
                pos = (size_t)(u - xml);
                if (!fl_s3_xml_next(xml, len, &pos, "Key", key, sizeof key) ||
                    !fl_s3_xml_next(xml, len, &pos, "UploadId", id, sizeof id))
                    break;
                char cm[400];
                snprintf(cm, sizeof cm, "%s", id);
                fl_fs_loc l = *dir;
                l.path = key;
                if (strlen(key) > strlen(prefix) && keep && keep(arg, key + strlen(prefix), cm))
                    continue;
                if (abort_upload(&l, id, err) == 0)
                    dropped++;
            }
            char trunc[16] = "";
            pos = 0;
            fl_s3_xml_next(xml, len, &pos, "IsTruncated", trunc, sizeof trunc);
            more = !strcmp(trunc, "true");
            pos = 0;
            if (more && (!fl_s3_xml_next(xml, len, &pos, "NextKeyMarker", key_marker,
                                   sizeof key_marker) ||
                         (pos = 0, !fl_s3_xml_next(xml, len, &pos, "NextUploadIdMarker", id_marker,
                                             sizeof id_marker))))
                more = false;
        }
        free(c.resp.p);
        free(q.p);
    }
    free(full);
    free(prefix);
    return rc < 0 ? -1 : dropped;
}

/* put_file: a file of at most s3.multipart.threshold in one PUT from its mapping (no copy;
 * a multipart upload would cost a request per part and the store its reassembly), a
 * larger one streamed through a write stream (parts as they fill). */
int fl_s3_put_file(const char *src, const fl_fs_loc *l, uint64_t *size, fl_err *err)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fl_err_set(err, "cannot open %s: %s", src, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        fl_err_set(err, "cannot stat %s: %s", src, strerror(errno));
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size <= fl_s3_multipart_threshold()) {
        size_t n = (size_t)st.st_size;
        void *m = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
        close(fd);
        if (m == MAP_FAILED) {
            fl_err_set(err, "cannot map %s: %s", src, strerror(errno));
            return -1;
        }
        int rc = fl_s3_put(l, m ? m : "", n, err);
        if (m)
            munmap(m, n);
        if (rc == 0 && size)
            *size = n;
        return rc;
    }
    fl_fs_out *o = fl_fs_out_open(l->uri, err);
    if (!o) {
        close(fd);
        return -1;
    }
    size_t cap = 1u << 20;
    char *buf = fl_xmalloc(cap);
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fl_err_set(err, "cannot read %s: %s", src, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        if (fl_fs_out_write(o, buf, (size_t)n, err) < 0) {
            rc = -1;
            break;
        }
    }
    free(buf);
    close(fd);
    uint64_t total = fl_fs_out_size(o);
    if (rc < 0) {
        fl_fs_out_abort(o);
        return -1;
    }
    if (fl_fs_out_close(o, err) < 0)
        return -1;
    if (size)
        *size = total;
    return 0;
}

