/* workdir.h -- a process's own working directories, and the removal of those whose process
 * is gone.
 *
 * A TaskManager keeps per-process directories (its bundle cache, one RocksDB instance per
 * keyed operator instance) under shared parents (/tmp, io.tmp.dirs). One that dies by
 * kill -9 cannot remove them. So each holds a lock file that its process keeps locked
 * (flock) while it lives; a starting TaskManager removes every directory of a prefix whose
 * lock it can take (the owner is gone: the kernel dropped its lock), and leaves those that
 * are locked. A directory without a lock file is either being created right now (left
 * alone while younger than a minute) or a leftover of an older Flint (removed). Any thread.
 */
#ifndef FL_WORKDIR_H
#define FL_WORKDIR_H

#include <stddef.h>

#include "err.h"

/* Creates parent/<prefix>XXXXXX (mkdtemp) with a locked lock file in it. The path goes to
 * out; returns the lock's descriptor (keep it open while the directory is in use; close it
 * after removing the directory), or -1 with err. */
int fl_workdir_new(const char *parent, const char *prefix, char *out, size_t outlen, fl_err *err);

/* Removes every parent/<prefix>* directory whose owner is gone; returns how many. Logs each
 * removal. */
int fl_workdir_reap(const char *parent, const char *prefix);

#endif
