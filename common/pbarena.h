/* pbarena.h -- an arena for building protobuf-c messages by hand: every sub-message and
 * string comes from it and all of it is freed at once after packing. */
#ifndef FL_PBARENA_H
#define FL_PBARENA_H

#include <stddef.h>

typedef struct fl_arena {
    void **p;
    size_t n, cap;
} fl_arena;

/* Zeroed memory that lives until fl_arena_free. */
void *fl_arena_alloc(fl_arena *a, size_t size);
char *fl_arena_str(fl_arena *a, const char *s);
void fl_arena_free(fl_arena *a);

#endif
