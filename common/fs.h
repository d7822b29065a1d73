/* fs.h -- the file-system layer, as Flink's FileSystem. Every module that writes durable
 * data writes it through here, for file:// and s3:// alike: checkpoint and savepoint
 * storage (the JobManager's _metadata, deletions and listings; the TaskManagers' hashmap
 * snapshot files through a write stream, RocksDB's files full and incremental through
 * put_file), high-availability.storageDir (jobmanager/ha/: job graphs, bundles, job
 * results), and the file sink's part files (taskmanager/operators/sinks.c: write streams
 * published by the recoverable writer below). What else writes files with open() is not
 * durable data: the JobManager's blob store (jobmanager/dispatcher_jobs.c, below
 * blob.storage.directory) and the TaskManagers' bundle cache (task_executor.c) are
 * working copies of bundles (persisted only in high-availability.storageDir, when HA is
 * on), and logs, pid and lock files, crash reports and the client's bundle signatures
 * are no cluster state.
 * A location is a URI; its scheme picks the file system:
 *
 *   file:///abs/path, file:/abs/path, /abs/path   the local file system (fs_local.c)
 *   s3://bucket/key, s3a://..., s3p://...         S3 and S3-compatible stores (fs_s3.c)
 *
 * Any other scheme is refused with Flink's message (fl_fs_check). Object stores have no
 * rename and no directories: fl_fs_put makes an object appear whole or not at all (local:
 * temporary file, fsync, rename; S3: one PUT, or a multipart upload completed at the end),
 * fl_fs_mkdirs does nothing on S3, and a "directory" is a key prefix ending in '/'. So a
 * checkpoint is complete exactly when its _metadata exists.
 *
 * Configured once per process from the daemon's configuration (fl_fs_init: the s3.* keys);
 * every call may then run on any thread. Each thread keeps its own HTTP connection to the
 * S3 endpoint (reused across requests). Calls block: they belong on I/O threads, or on a
 * control thread at checkpoint time, never per record.
 */
#ifndef FL_FS_H
#define FL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* Longest URI the layer takes (bucket, key and scheme). */
#define FL_FS_URI_MAX 1024

/* Reads the s3.* keys (endpoint, credentials, region, path style, part size, retries).
 * Call once at start, before any other thread uses the layer. */
int fl_fs_init(const fl_conf *conf, fl_err *err);

/* True when uri names an object store (s3://, s3a://, s3p://). */
bool fl_fs_is_remote(const char *uri);
/* 0 when a file system serves uri's scheme (none = a local path); -1 with Flink's message
 * ("Could not find a file system implementation for scheme 'x'...") otherwise. */
int fl_fs_check(const char *uri, fl_err *err);
/* The local path of a file:// or plain uri ("file:///a" and "file:/a" are "/a"); uri
 * itself for remote ones. */
const char *fl_fs_local_path(const char *uri);
/* Where a location points, for users: "file:/abs" or the S3 URI as given. */
void fl_fs_display(const char *uri, char *out, size_t len);
/* 0 when child lies below root (root itself included when or_equal): for local paths every
 * symlink resolved (fl_path_check_below / fl_path_check_inside), for object stores the same
 * bucket and a key below root's made of plain names (no empty, "." or ".." part). */
int fl_fs_check_below(const char *root, const char *child, bool or_equal, fl_err *err);

/* Whole objects. fl_fs_put: readers see all of data or nothing (local: tmp, fsync,
 * rename, fsync of the directory). fl_fs_get: *out is the caller's (NUL-terminated, *len
 * without it). */
int fl_fs_put(const char *uri, const void *data, size_t len, fl_err *err);
int fl_fs_get(const char *uri, char **out, size_t *len, fl_err *err);
/* Uploads the local file src to uri (multipart above s3.upload.min.part.size); *size gets
 * its bytes. Downloads uri into the local file dst (created or truncated, fsynced). */
int fl_fs_put_file(const char *src, const char *uri, uint64_t *size, fl_err *err);
int fl_fs_get_file(const char *uri, const char *dst, fl_err *err);
/* *exists, and *size when it exists (size may be NULL). An error only when the store
 * cannot be asked. */
int fl_fs_stat(const char *uri, bool *exists, uint64_t *size, fl_err *err);
/* *exists, and *mtime_ns when it exists: when the object was last written (wall clock, ns;
 * S3: the store's Last-Modified, whole seconds). */
int fl_fs_mtime(const char *uri, bool *exists, int64_t *mtime_ns, fl_err *err);

/* Lists below the "directory" uri: every object under it (recursive: name relative to uri,
 * with '/' inside), or the entries of that level (names without '/'; is_dir for a
 * subdirectory or common prefix). Paginated on S3: any number of entries. fn returning
 * non-zero stops the listing (not an error). */
typedef int (*fl_fs_list_fn)(void *arg, const char *name, bool is_dir, uint64_t size);
int fl_fs_list(const char *uri, bool recursive, fl_fs_list_fn fn, void *arg, fl_err *err);

/* Deletes one object (missing is success). */
int fl_fs_delete(const char *uri, fl_err *err);
/* Deletes the n objects dir/names[i] (S3: batched, 1000 per request). */
int fl_fs_delete_many(const char *dir, const char *const *names, size_t n, fl_err *err);
/* Deletes everything below the directory uri and the directory (missing is success);
 * local: never follows a symlink (fl_remove_tree). */
int fl_fs_delete_tree(const char *uri, fl_err *err);
/* mkdir -p locally; nothing on S3. */
int fl_fs_mkdirs(const char *uri, fl_err *err);
/* fsync of a local directory (its new entries durable); nothing on S3. */
int fl_fs_sync_dir(const char *uri, fl_err *err);

/* ---- streams ---------------------------------------------------------------------------
 * A write stream to one object: bytes are buffered and sent in parts (S3: multipart upload
 * once a part is full; local: a hidden ".<name>.inprogress.<random>" beside it). The
 * object appears only at fl_fs_out_close, durable (local: fsync, rename, fsync of the
 * directory); fl_fs_out_abort leaves nothing. One thread at a time. */
typedef struct fl_fs_out fl_fs_out;
fl_fs_out *fl_fs_out_open(const char *uri, fl_err *err);
int fl_fs_out_write(fl_fs_out *o, const void *data, size_t len, fl_err *err);
/* Makes the object appear, frees o (also on failure). */
int fl_fs_out_close(fl_fs_out *o, fl_err *err);
void fl_fs_out_abort(fl_fs_out *o);
uint64_t fl_fs_out_size(const fl_fs_out *o);

/* ---- the recoverable writer (Flink's RecoverableWriter) ----------------------------------
 * For two-phase-commit sinks: fl_fs_out_close_for_commit uploads everything written and
 * returns what a later process needs to publish the object -- a committable, a string to
 * store in a checkpoint (*committable, the caller's to free) -- without publishing it. fl_fs_commit publishes it
 * (idempotent: committing twice, or after a crash between the two, succeeds);
 * fl_fs_commit_abort drops it. Local: the committable is the hidden file (fsynced),
 * published by rename. S3: "<upload id> <etag>,...", published by completing the
 * multipart upload. */
int fl_fs_out_close_for_commit(fl_fs_out *o, char **committable, fl_err *err);
int fl_fs_commit(const char *uri, const char *committable, fl_err *err);
int fl_fs_commit_abort(const char *uri, const char *committable, fl_err *err);
/* Aborts every upload in progress below the directory uri whose object name starts with
 * name_prefix and whose committable keep() does not want (S3: ListMultipartUploads; local:
 * hidden temporary files). Returns how many were dropped, or -1. */
typedef bool (*fl_fs_keep_fn)(void *arg, const char *name, const char *committable);
int fl_fs_abort_uploads(const char *dir, const char *name_prefix, fl_fs_keep_fn keep,
                        void *arg, fl_err *err);

#endif
