/* fs_s3_internal.h -- what the two halves of the S3 file system share: fs_s3.c (the
 * configuration, signed requests with retries, objects, listing, deleting) and
 * fs_s3_upload.c (multipart uploads: write streams, the recoverable writer, put_file).
 * Nobody outside common/fs_s3*.c includes this.
 */
#ifndef FL_FS_S3_INTERNAL_H
#define FL_FS_S3_INTERNAL_H

#include "bytes.h"
#include "fs_internal.h"

#include <time.h>

/* S3's bound on the parts of one upload. */
#define MAX_PARTS 10000

/* One request: what to send, and (filled by fl_s3_do) what came back. */
typedef struct s3_call {
    const char *method;        /* GET, PUT, POST, DELETE, HEAD */
    const char *bucket, *key;  /* key: "" for the bucket */
    const char *query;         /* canonical: names sorted, values encoded; NULL for none */
    const void *body;
    size_t body_len;
    bool md5;                  /* send Content-MD5 (DeleteObjects requires it) */
    int fd;                    /* >= 0: the response body goes here */
    /* out */
    fl_bytes resp;
    long status;
    char etag[72];
    uint64_t length;
    time_t mtime;              /* Last-Modified, -1 when none */
    int write_errno;
} s3_call;

/* A call of method on l's bucket, for key (NULL: l's own). */
void fl_s3_call_init(s3_call *c, const char *method, const fl_fs_loc *l, const char *key);
/* Runs c with retries. 0 when the answer is 2xx; 1 when it is 404 and missing_ok; -1 with
 * err otherwise. c->resp is the caller's to free. */
int fl_s3_do(s3_call *c, bool missing_ok, fl_err *err);
/* err from a finished request: S3's code and message. */
void fl_s3_error(const s3_call *c, fl_err *err);
/* RFC 3986 encoding as SigV4 wants it ('/' kept when keep_slash). */
void fl_s3_uri_encode(fl_bytes *out, const char *s, bool keep_slash);
void fl_s3_put_str(fl_bytes *b, const char *s);
/* The text of the next <tag>...</tag> at or after *pos (entities decoded). */
bool fl_s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag, char *out,
                    size_t outlen);
/* key with a '/' at its end ("" for the root); the caller frees it. */
char *fl_s3_dir_prefix(const char *key);
int fl_s3_put(const fl_fs_loc *l, const void *data, size_t len, fl_err *err);
/* s3.multipart.threshold: put_file sends a file at most this large in one PUT. */
uint64_t fl_s3_multipart_threshold(void);
int fl_s3_stat(const fl_fs_loc *l, bool *exists, uint64_t *size, int64_t *mtime_ns,
               fl_err *err);

/* fs_s3_upload.c: the stream and recoverable-writer operations of the table */
int fl_s3_out_open(fl_fs_out *o, fl_err *err);
int fl_s3_out_part(fl_fs_out *o, const void *data, size_t len, fl_err *err);
int fl_s3_out_close(fl_fs_out *o, fl_err *err);
int fl_s3_out_close_for_commit(fl_fs_out *o, char **committable, fl_err *err);
void fl_s3_out_abort(fl_fs_out *o);
int fl_s3_commit(const fl_fs_loc *l, const char *committable, fl_err *err);
int fl_s3_commit_abort(const fl_fs_loc *l, const char *committable, fl_err *err);
int fl_s3_abort_uploads(const fl_fs_loc *dir, const char *name_prefix, fl_fs_keep_fn keep,
                        void *arg, fl_err *err);
int fl_s3_put_file(const char *src, const fl_fs_loc *l, uint64_t *size, fl_err *err);

#endif
