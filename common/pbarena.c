/* pbarena.c -- see pbarena.h. */
#include "pbarena.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void *fl_arena_alloc(fl_arena *a, size_t size)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->p = fl_xrealloc(a->p, a->cap * sizeof *a->p);
    }
    return a->p[a->n++] = fl_xcalloc(1, size);
}

char *fl_arena_str(fl_arena *a, const char *s)
{
    char *d = fl_arena_alloc(a, strlen(s) + 1);
    strcpy(d, s);
    return d;
}

void fl_arena_free(fl_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i]);
    free(a->p);
    a->p = NULL;
    a->n = a->cap = 0;
}
