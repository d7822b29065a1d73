/* conn_buf.h -- the one growable buffer of the connectors' sinks (a batch, a checkpoint's
 * records): doubling, so a record costs no allocation once the buffer has grown. Header
 * only: connectors/ links into bundles and takes nothing of common/.
 */
#ifndef FL_CONNECTORS_CONN_BUF_H
#define FL_CONNECTORS_CONN_BUF_H

#include <stdlib.h>

/* Makes *buf (capacity *cap) hold at least need bytes, keeping its contents. */
static inline void fl_conn_reserve(void *buf, size_t *cap, size_t need)
{
    void **b = buf;
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 1 << 16;
    while (c < need)
        c *= 2;
    void *nb = realloc(*b, c);
    if (!nb)
        abort();
    *b = nb;
    *cap = c;
}

#endif
