/* rpc_types.c -- the RPC message types (rpc_types.h): ids, names, protobuf descriptors. */
#include "rpc.h"
#include "util.h"

typedef struct type_info {
    uint16_t id;
    const char *name;
    const ProtobufCMessageDescriptor *desc;
} type_info;

static const type_info types[] = {
#define FL_RPC_TYPE(id, name, desc) {id, #name, &desc},
#include "rpc_types.h"
#undef FL_RPC_TYPE
};

const ProtobufCMessageDescriptor *fl_rpc_type_descriptor(uint16_t type)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(types); i++)
        if (types[i].id == type)
            return types[i].desc;
    return NULL;
}

const char *fl_rpc_type_name(uint16_t type)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(types); i++)
        if (types[i].id == type)
            return types[i].name;
    return "UNKNOWN";
}
