/* frame.h -- the one framing layer of Flint: every byte between two Flint processes, RPC or
 * data, travels in frames of this shape (all integers big-endian):
 *
 *   0      1      2          4              8                      16
 *   +------+------+----------+--------------+----------------------+--------------+
 *   | 0xF1 | flags| type u16 | length u32   | correlation id u64   | payload ...  |
 *   +------+------+----------+--------------+----------------------+--------------+
 *
 * length counts the payload only. The magic byte catches garbage at once; a length above
 * the receiver's maximum (rpc.frame.max-size) is refused before anything is allocated.
 * What the payload is depends on type: a protobuf message (RPC, common/rpc_types.h) or a
 * network buffer (taskmanager/network). Pure functions; any thread.
 */
#ifndef FL_FRAME_H
#define FL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct evbuffer;

#define FL_FRAME_MAGIC 0xF1
#define FL_FRAME_HDR_LEN 16

enum {
    FL_FRAME_F_RESPONSE = 1 << 0, /* answers the request with the same correlation id */
    FL_FRAME_F_ERROR = 1 << 1,    /* the response is an error (payload: fl.pb.Ack) */
};

typedef struct fl_frame_hdr {
    uint8_t flags;
    uint16_t type;
    uint32_t len;
    uint64_t corr;
} fl_frame_hdr;

void fl_frame_hdr_encode(const fl_frame_hdr *h, uint8_t out[FL_FRAME_HDR_LEN]);
/* 0 on success; -1 with err on bad magic or length > max_len. Does not judge the type. */
int fl_frame_hdr_decode(const uint8_t in[FL_FRAME_HDR_LEN], uint32_t max_len, fl_frame_hdr *h,
                        fl_err *err);

/* Looks at the front of in. Returns 1 when a whole frame is there: the header is drained,
 * *h filled, and exactly h->len payload bytes are next in `in` for the caller to consume.
 * Returns 0 when more bytes are needed (nothing drained), -1 on a bad header (err set). */
int fl_frame_next(struct evbuffer *in, uint32_t max_len, fl_frame_hdr *h, fl_err *err);

/* Appends a header and payload (which may be NULL when h->len is 0). */
int fl_frame_append(struct evbuffer *out, const fl_frame_hdr *h, const void *payload);

#endif
