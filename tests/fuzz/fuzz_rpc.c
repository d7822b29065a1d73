/* fuzz_rpc.c -- libFuzzer target: the RPC decoder. The input is a byte stream as a peer
 * would send it on an RPC port: frames are cut from it as common/rpc.c cuts them (frame.h)
 * and each payload is unpacked as the message its type names, as the daemons do. Nothing
 * may crash, leak or read out of bounds, whatever the bytes. */
#include "common/frame.h"
#include "common/rpc.h"

#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evbuffer *in = evbuffer_new();
    evbuffer_add(in, data, size);
    for (;;) {
        fl_frame_hdr h;
        fl_err err;
        int rc = fl_frame_next(in, 1 << 20, &h, &err);
        if (rc <= 0)
            break;
        uint8_t *payload = malloc(h.len + 1);
        evbuffer_remove(in, payload, h.len);
        const ProtobufCMessageDescriptor *d = fl_rpc_type_descriptor(h.type);
        if (d) {
            ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, h.len, payload);
            if (m)
                protobuf_c_message_free_unpacked(m, NULL);
        }
        free(payload);
    }
    evbuffer_free(in);
    return 0;
}
