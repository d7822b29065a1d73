/* operators.h -- the operator kinds, each a const table of the operator contract
 * (chain/operator.h). The task's one switch over the kinds of a deployment descriptor
 * (taskmanager/task/assemble.c) picks the table; nothing else names them. The window
 * operator, a folder of its own, has its table in window/window.h.
 */
#ifndef FL_OPERATORS_H
#define FL_OPERATORS_H

#include "taskmanager/chain/operator.h"

/* basic.c: record by record */
extern const fl_op_ops fl_map_ops;           /* map, flat map, process without a key */
extern const fl_op_ops fl_keyed_process_ops; /* map, flat map, process on a keyed stream */
extern const fl_op_ops fl_filter_ops;
extern const fl_op_ops fl_reduce_ops;
extern const fl_op_ops fl_sum_ops;
extern const fl_op_ops fl_min_ops;
extern const fl_op_ops fl_max_ops;
extern const fl_op_ops fl_min_by_ops;
extern const fl_op_ops fl_max_by_ops;

/* multi.c: two inputs */
extern const fl_op_ops fl_co_process_ops;    /* CoMap, CoFlatMap, CoProcess */
extern const fl_op_ops fl_broadcast_process_ops;
extern const fl_op_ops fl_interval_join_ops;

/* sources.c */
extern const fl_op_ops fl_elements_source_ops;
extern const fl_op_ops fl_text_file_source_ops; /* in connector_source.c */
extern const fl_op_ops fl_socket_source_ops;
extern const fl_op_ops fl_sequence_source_ops;
extern const fl_op_ops fl_custom_source_ops;
/* the run-time half of fl_source_set_position / fl_source_restored_position */
void fl_custom_source_set_position(fl_ctx *ctx, const void *pos, uint32_t len);
const void *fl_custom_source_restored_position(fl_ctx *ctx, int index, uint32_t *len);

/* sinks.c */
extern const fl_op_ops fl_print_sink_ops;
extern const fl_op_ops fl_file_sink_ops;         /* in connector_sink.c */
extern const fl_op_ops fl_discard_sink_ops;
extern const fl_op_ops fl_custom_sink_ops;

/* connector_source.c, connector_sink.c: connectors of flint/connectors.h, and the run-time
 * half of that API (installed by the task runtime) */
extern const fl_op_ops fl_connector_source_ops;
extern const fl_op_ops fl_connector_sink_ops;
extern const struct fl_api_conn_ops fl_connector_api;
void fl_connector_sink_add_committable(fl_ctx *ctx, const void *data, uint32_t len);
/* The built-in connectors behind fl_read_text_file (sources.c) and fl_write_file
 * (sinks.c): the file source and the file sink are written against flint/connectors.h,
 * as every connector is, and run by the connector operators. */
struct fl_source_def;
struct fl_sink_def;
extern const struct fl_source_def fl_file_source_def;
extern const struct fl_sink_def fl_file_sink_def;

/* assigner.c: timestamps and watermarks */
extern const fl_op_ops fl_assigner_ops;

#endif
