/* err.h -- the caller-owned error struct every fallible Flint call fills in.
 *
 * Convention (STYLE.md): action functions return 0 or a negative status and, on failure,
 * write one human-readable line into the fl_err the caller passed (which may be NULL).
 * Constructors return NULL instead of a status.
 */
#ifndef FL_ERR_H
#define FL_ERR_H

#include <stdarg.h>

typedef struct fl_err {
    char msg[512];
} fl_err;

void fl_err_set(fl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_err_setv(fl_err *err, const char *fmt, va_list ap);
/* Prefix an existing message: "context: old message". */
void fl_err_prefix(fl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
