/* logfiles.h -- a daemon's log directory, as the REST API lists and reads it (issue 12:
 * GET /jobmanager/logs and /taskmanagers/:tmid/logs, Flink's endpoints).
 *
 * The log directory is the one of the daemon's own log file (FLINT_LOG_FILE, set by
 * bin/flint-daemon.sh, as Flink takes it from its log.file property); without one (a
 * daemon logging to the console) there is none and the list is empty. Only regular files
 * directly in it are listed or read: a name is one path segment of printable characters
 * without '/', '\\' or '%', not starting with '.', so "..", an encoded "%2e%2e" or an
 * absolute path name nothing; files are opened relative to the directory with O_NOFOLLOW,
 * so a symlink (pointing out or not) is refused too.
 *
 * A file is read from its end: at most max bytes, the last ones (a log only grows at its
 * end, and the newest lines are the ones looked for); the caller says how many bytes came
 * before. Any thread; a read is one pread of at most max bytes.
 */
#ifndef FL_LOGFILES_H
#define FL_LOGFILES_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FL_LOGFILE_NAME_MAX 255
/* Files listed at most (a directory of more is listed in part, newest names first is not
 * promised: readdir order). */
#define FL_LOGFILES_MAX 1024

typedef struct fl_logfile {
    char name[FL_LOGFILE_NAME_MAX + 1];
    uint64_t size;
} fl_logfile;

/* The log directory of this process, or "" when it logs to the console. */
const char *fl_logfiles_dir(void);

/* Lists the regular files of the log directory into *out (malloc'd, sorted by name; the
 * caller frees it). Returns how many (0 without a directory). */
int fl_logfiles_list(fl_logfile **out);

/* Reads the last max bytes of the log file name: 0 with *data (malloc'd, *len bytes),
 * *offset (bytes of the file before them) and *size (the file's size), or an HTTP status
 * (400: not a plain name, 404: no such regular file) with err. */
int fl_logfiles_read(const char *name, size_t max, uint8_t **data, size_t *len,
                     uint64_t *offset, uint64_t *size, fl_err *err);

#endif
