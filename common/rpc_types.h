/* rpc_types.h -- the frame type of every RPC message, and its protobuf descriptor.
 *
 * X-macro table: FL_RPC_TYPE(id, NAME, descriptor). Ids are part of the wire protocol:
 * never reuse or renumber one. Ids >= 1000 are reserved for the data plane
 * (taskmanager/network), which has its own payloads and never reaches the RPC service.
 */
FL_RPC_TYPE(1, REGISTER_TASK_MANAGER, fl__pb__register_task_manager__descriptor)
FL_RPC_TYPE(2, REGISTRATION_RESPONSE, fl__pb__registration_response__descriptor)
FL_RPC_TYPE(3, HEARTBEAT_REQUEST, fl__pb__heartbeat_request__descriptor)
FL_RPC_TYPE(4, HEARTBEAT_RESPONSE, fl__pb__heartbeat_response__descriptor)
FL_RPC_TYPE(5, DISCONNECT, fl__pb__disconnect__descriptor)
FL_RPC_TYPE(6, ACK, fl__pb__ack__descriptor)
