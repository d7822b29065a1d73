/* bytes.h -- a growable byte buffer (snapshots, recorded channel state). One owner. */
#ifndef FL_BYTES_H
#define FL_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl_bytes {
    uint8_t *p;
    size_t len, cap;
} fl_bytes;

/* Makes room for n more bytes. */
void fl_bytes_reserve(fl_bytes *b, size_t n);
void fl_bytes_put(fl_bytes *b, const void *data, size_t n);
static inline void fl_bytes_u32(fl_bytes *b, uint32_t v)
{
    fl_bytes_put(b, &v, 4);
}
void fl_bytes_free(fl_bytes *b);

#endif
