/* frame.c -- see frame.h. */
#include "frame.h"

#include <string.h>

#include <event2/buffer.h>

void fl_frame_hdr_encode(const fl_frame_hdr *h, uint8_t out[FL_FRAME_HDR_LEN])
{
    out[0] = FL_FRAME_MAGIC;
    out[1] = h->flags;
    out[2] = (uint8_t)(h->type >> 8);
    out[3] = (uint8_t)h->type;
    for (int i = 0; i < 4; i++)
        out[4 + i] = (uint8_t)(h->len >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        out[8 + i] = (uint8_t)(h->corr >> (56 - 8 * i));
}

int fl_frame_hdr_decode(const uint8_t in[FL_FRAME_HDR_LEN], uint32_t max_len, fl_frame_hdr *h,
                        fl_err *err)
{
    if (in[0] != FL_FRAME_MAGIC) {
        fl_err_set(err, "not a Flint frame (first byte 0x%02x, expected 0x%02x)", in[0],
                   FL_FRAME_MAGIC);
        return -1;
    }
    h->flags = in[1];
    h->type = (uint16_t)(in[2] << 8 | in[3]);
    h->len = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
    h->corr = 0;
    for (int i = 0; i < 8; i++)
        h->corr = h->corr << 8 | in[8 + i];
    if (h->len > max_len) {
        fl_err_set(err, "frame of %u bytes exceeds the maximum of %u bytes (rpc.frame.max-size)",
                   h->len, max_len);
        return -1;
    }
    return 0;
}

int fl_frame_next(struct evbuffer *in, uint32_t max_len, fl_frame_hdr *h, fl_err *err)
{
    uint8_t raw[FL_FRAME_HDR_LEN];
    size_t avail = evbuffer_get_length(in);
    if (avail < FL_FRAME_HDR_LEN) {
        /* Reject garbage as soon as its first byte is here, not after 16 of them. */
        if (avail > 0 && evbuffer_copyout(in, raw, 1) == 1 && raw[0] != FL_FRAME_MAGIC) {
            fl_err_set(err, "not a Flint frame (first byte 0x%02x, expected 0x%02x)", raw[0],
                       FL_FRAME_MAGIC);
            return -1;
        }
        return 0;
    }
    if (evbuffer_copyout(in, raw, sizeof raw) != (ssize_t)sizeof raw)
        return 0;
    if (fl_frame_hdr_decode(raw, max_len, h, err) < 0)
        return -1;
    if (avail - FL_FRAME_HDR_LEN < h->len)
        return 0;
    evbuffer_drain(in, FL_FRAME_HDR_LEN);
    return 1;
}

int fl_frame_append(struct evbuffer *out, const fl_frame_hdr *h, const void *payload)
{
    uint8_t raw[FL_FRAME_HDR_LEN];
    fl_frame_hdr_encode(h, raw);
    if (evbuffer_add(out, raw, sizeof raw) < 0)
        return -1;
    if (h->len && evbuffer_add(out, payload, h->len) < 0)
        return -1;
    return 0;
}
