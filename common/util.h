/* util.h -- small helpers every module shares: clocks, ids, strings, files. */
#ifndef FL_UTIL_H
#define FL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define FL_LIKELY(x) __builtin_expect(!!(x), 1)
#define FL_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Wall clock, milliseconds since the epoch (timestamps shown to users). */
int64_t fl_now_ms(void);
/* Monotonic clock, for timeouts and durations. */
int64_t fl_mono_ms(void);
int64_t fl_mono_ns(void);

/* n random bytes as 2n lowercase hex chars into out (size >= 2n+1). */
void fl_random_hex(char *out, size_t nbytes);

/* malloc that aborts on failure: out of memory is not a recoverable condition here. */
void *fl_xmalloc(size_t n);
void *fl_xcalloc(size_t n, size_t size);
void *fl_xrealloc(void *p, size_t n);
char *fl_xstrdup(const char *s);
char *fl_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Splits "host:port" (port required) into host (caller's buffer) and port. */
int fl_parse_host_port(const char *s, char *host, size_t hostlen, int *port, fl_err *err);

/* Reads a whole file; *out is the caller's to free (NUL-terminated, *len excludes it). */
int fl_read_file(const char *path, char **out, size_t *len, fl_err *err);

/* Writes len bytes to path and fsyncs; atomic: through path.tmp and rename (and fsync of
 * the directory), so that readers see the whole file or nothing. */
int fl_write_file(const char *path, const void *data, size_t len, bool atomic, fl_err *err);
/* mkdir -p. */
int fl_mkdirs(const char *dir, fl_err *err);
/* rm -rf (no-op when missing) that never follows a symlink: directories are opened with
 * O_NOFOLLOW from their parent and entries removed with unlinkat, so a symlink in the tree
 * (or path itself being one) is removed, never what it points to. */
int fl_remove_tree(const char *path);

/* CRC-32 (IEEE 802.3, as zlib's crc32), for checksummed files. */
uint32_t fl_crc32(const void *data, size_t len);

/* Local host name (the short one `hostname` prints). */
const char *fl_hostname(void);

#endif
