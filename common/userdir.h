/* userdir.h -- the private local directories the daemons choose by default.
 *
 * A default that sits at a predictable name in a shared directory (/tmp/flint-checkpoints)
 * lets another local user create it first, or plant a symlink there, and so read or
 * redirect what Flint writes. Flint's defaults live instead in one directory of the user,
 * ${TMPDIR:-/tmp}/flint-<user>/, created 0700; a directory is used only when it is a real
 * directory (not a symlink), owned by the effective user and writable by no one else, and
 * refused with a message saying which of these fails otherwise. bin/config.sh applies the
 * same rule to FLINT_PID_DIR.
 *
 * Used at start-up (JobManager: blob store, default checkpoint directory); any thread.
 */
#ifndef FL_USERDIR_H
#define FL_USERDIR_H

#include <stddef.h>

#include "err.h"

/* Makes sure dir is such a directory: creates it (mode 0700; mkdir never follows a symlink
 * and fails on anything already there) or checks the existing one through an O_NOFOLLOW
 * descriptor. what names it in the message ("blob.storage.directory"). 0, or -1 with err. */
int fl_private_dir(const char *dir, const char *what, fl_err *err);

/* ${TMPDIR:-/tmp}/flint-<user>, and below it sub when sub is not NULL, each made sure of
 * with fl_private_dir; the path in out. 0, or -1 with err. */
int fl_user_dir(const char *sub, char *out, size_t len, fl_err *err);

#endif
