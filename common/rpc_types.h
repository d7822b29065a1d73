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
FL_RPC_TYPE(7, SUBMIT_TASK, fl__pb__submit_task__descriptor)
FL_RPC_TYPE(8, CANCEL_JOB_TASKS, fl__pb__cancel_job_tasks__descriptor)
FL_RPC_TYPE(9, TASK_STATE_UPDATE, fl__pb__task_state_update__descriptor)
FL_RPC_TYPE(10, TASK_METRICS_REPORT, fl__pb__task_metrics_report__descriptor)
FL_RPC_TYPE(11, BLOB_REQUEST, fl__pb__blob_request__descriptor)
FL_RPC_TYPE(12, BLOB_RESPONSE, fl__pb__blob_response__descriptor)
FL_RPC_TYPE(13, TRIGGER_CHECKPOINT, fl__pb__trigger_checkpoint__descriptor)
FL_RPC_TYPE(14, ACKNOWLEDGE_CHECKPOINT, fl__pb__acknowledge_checkpoint__descriptor)
FL_RPC_TYPE(15, NOTIFY_CHECKPOINT, fl__pb__notify_checkpoint__descriptor)
/* issue 12: a TaskManager's log files, for the REST API (ids of the obs2 range) */
FL_RPC_TYPE(120, LOG_REQUEST, fl__pb__log_request__descriptor)
FL_RPC_TYPE(121, LOG_RESPONSE, fl__pb__log_response__descriptor)
