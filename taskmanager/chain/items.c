/* items.c -- operator-state items (items.h). */
#include "items.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void fl_items_add(fl_items *it, const void *data, size_t len)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 8;
        it->v = fl_xrealloc(it->v, (size_t)it->cap * sizeof *it->v);
        it->len = fl_xrealloc(it->len, (size_t)it->cap * sizeof *it->len);
    }
    it->v[it->n] = fl_xmalloc(len ? len : 1);
    memcpy(it->v[it->n], data, len);
    it->len[it->n++] = len;
}

void fl_items_clear(fl_items *it)
{
    for (int i = 0; i < it->n; i++)
        free(it->v[i]);
    free(it->v);
    free(it->len);
    memset(it, 0, sizeof *it);
}
