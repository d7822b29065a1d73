/* path.h -- paths that messages and metadata name, confined to the directory they belong to.
 *
 * A state handle (checkpoint.proto StateFile.path) names a file relative to its checkpoint's
 * directory (chk-N/ or a savepoint), or "../shared/NAME" for a file of incremental
 * checkpoints in the job's shared/ directory. Whatever an acknowledgement or a _metadata file
 * says, the JobManager reads or deletes a file only when its name passes fl_path_is_handle
 * (no "..", no absolute path), its resolved location (every symlink followed, as realpath
 * does) lies inside the directory it must be in (fl_path_check_inside), and deletion never
 * follows a symlink (fl_path_unlink_below walks with O_NOFOLLOW; fl_remove_tree in util.h
 * likewise). The TaskManager applies the same name check before it reads a handle.
 *
 * Pure functions and file-system calls; any thread.
 */
#ifndef FL_PATH_H
#define FL_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Longest checkpoint or savepoint directory Flint accepts: a checkpoint barrier carries two
 * of them (the checkpoint's and the shared one) in one event of the data plane. */
#define FL_CKPT_DIR_MAX 480
/* Longest state handle path. */
#define FL_HANDLE_PATH_MAX 512
/* The prefix of handles of shared (incremental) files. */
#define FL_HANDLE_SHARED "../shared/"

/* True when rel is a state handle path: relative, made of plain names (no empty, "." or ".."
 * component), optionally after "../shared/", shorter than FL_HANDLE_PATH_MAX. */
bool fl_path_is_handle(const char *rel);

/* 0 when path -- with every symlink resolved, of its directories and of the file itself
 * when it exists -- lies strictly inside root (also resolved); -1 with err otherwise (or
 * when root cannot be resolved). */
int fl_path_check_inside(const char *root, const char *path, fl_err *err);

/* 0 when path (absolute) is root or lies below it once the part of it that exists is
 * resolved (every symlink followed) and the rest is made of plain names (no "." or ".."),
 * and is a directory where it exists: where a request may have a savepoint written. -1 with
 * err otherwise. */
int fl_path_check_below(const char *root, const char *path, fl_err *err);

/* Removes root/rel (rel made of plain names) without following any symlink below root:
 * each directory is opened with O_NOFOLLOW from the one before, the last name is unlinked
 * itself (a symlink, never its target). A missing file is success. */
int fl_path_unlink_below(const char *root, const char *rel, fl_err *err);

#endif
