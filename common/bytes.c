/* bytes.c -- see bytes.h. */
#include "bytes.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void fl_bytes_reserve(fl_bytes *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    b->p = fl_xrealloc(b->p, cap);
    b->cap = cap;
}

void fl_bytes_put(fl_bytes *b, const void *data, size_t n)
{
    fl_bytes_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

void fl_bytes_free(fl_bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
