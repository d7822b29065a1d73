/* view.c -- the failure slot of view.h. Task thread. */
#include "view.h"

#include <stdarg.h>
#include <stdio.h>

void fl_failv(fl_failure *f, const char *fmt, va_list ap)
{
    if (f->failed)
        return;
    vsnprintf(f->error, sizeof f->error, fmt, ap);
    f->failed = true;
}

void fl_fail(fl_failure *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fl_failv(f, fmt, ap);
    va_end(ap);
}
