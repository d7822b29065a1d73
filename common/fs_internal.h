/* fs_internal.h -- the file systems behind fs.h, each a const table (fs_local.c, fs_s3.c);
 * fs.c parses the URI, picks the table and never names an implementation's internals.
 * Nobody outside common/fs*.c includes this.
 */
#ifndef FL_FS_INTERNAL_H
#define FL_FS_INTERNAL_H

#include "fs.h"

/* A parsed location: the local path, or the bucket and key (no leading '/'). */
typedef struct fl_fs_loc {
    bool remote;
    char bucket[64];
    const char *path;          /* local path, or the key ("" for the bucket's root) */
    const char *uri;           /* as given */
} fl_fs_loc;

typedef struct fl_fs_ops {
    int (*put)(const fl_fs_loc *l, const void *data, size_t len, fl_err *err);
    int (*get)(const fl_fs_loc *l, char **out, size_t *len, fl_err *err);
    int (*put_file)(const char *src, const fl_fs_loc *l, uint64_t *size, fl_err *err);
    int (*get_file)(const fl_fs_loc *l, const char *dst, fl_err *err);
    /* size and mtime_ns (ns of the wall clock) may be NULL */
    int (*stat)(const fl_fs_loc *l, bool *exists, uint64_t *size, int64_t *mtime_ns,
                fl_err *err);
    int (*list)(const fl_fs_loc *l, bool recursive, fl_fs_list_fn fn, void *arg, fl_err *err);
    int (*delete_many)(const fl_fs_loc *dir, const char *const *names, size_t n, fl_err *err);
    int (*delete_tree)(const fl_fs_loc *l, fl_err *err);
    int (*mkdirs)(const fl_fs_loc *l, fl_err *err);
    int (*sync_dir)(const fl_fs_loc *l, fl_err *err);
    /* streams: the implementation's state hangs off o->impl; out_part takes a full part,
     * the closes take the rest (o->buf, o->len, maybe empty) and free o->impl, also on
     * failure (then nothing is left behind) */
    int (*out_open)(fl_fs_out *o, fl_err *err);
    int (*out_part)(fl_fs_out *o, const void *data, size_t len, fl_err *err);
    int (*out_close)(fl_fs_out *o, fl_err *err);
    int (*out_close_for_commit)(fl_fs_out *o, char **committable, fl_err *err);
    void (*out_abort)(fl_fs_out *o);
    int (*commit)(const fl_fs_loc *l, const char *committable, fl_err *err);
    int (*commit_abort)(const fl_fs_loc *l, const char *committable, fl_err *err);
    int (*abort_uploads)(const fl_fs_loc *dir, const char *prefix, fl_fs_keep_fn keep,
                         void *arg, fl_err *err);
} fl_fs_ops;

/* A write stream: fs.c buffers up to part_size bytes and hands full parts to out_part. */
struct fl_fs_out {
    const fl_fs_ops *ops;
    fl_fs_loc loc;
    char uri[FL_FS_URI_MAX + 8];
    uint8_t *buf;
    size_t len, part_size;
    uint64_t size;             /* bytes written so far */
    int nparts;                /* parts handed to out_part */
    void *impl;
};

extern const fl_fs_ops fl_fs_local_ops;
extern const fl_fs_ops fl_fs_s3_ops;

/* fs_s3.c: the s3.* configuration (fs.c's fl_fs_init calls it). */
int fl_fs_s3_init(const fl_conf *conf, fl_err *err);
/* The part size of write streams on S3 (s3.upload.min.part.size). */
size_t fl_fs_s3_part_size(void);

#endif
