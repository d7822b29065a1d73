/* connectors.h -- how the run-time calls of flint/connectors.h reach a task runtime: the
 * same pattern as runtime.h (one table the runtime installs, every public call forwarded
 * to it), kept apart so that the connector API is one file to read. The connector
 * operators (taskmanager/operators/connector_*.c) fill the table; the task runtime
 * (taskmanager/task/api.c) installs it once, before its first task starts.
 */
#ifndef FL_API_CONNECTORS_H
#define FL_API_CONNECTORS_H

#include <flint/connectors.h>

typedef struct fl_api_conn_ops {
    int (*add_split)(fl_ctx *ctx, const void *state, uint32_t len);
    void (*emit)(fl_ctx *ctx, int split, const void *data, uint32_t len, int64_t ts);
    void (*split_finished)(fl_ctx *ctx, int split);
    void (*add_committable)(fl_ctx *ctx, const void *data, uint32_t len);
    const char *(*job_id)(const fl_ctx *ctx);
    int64_t (*checkpoint_interval)(const fl_ctx *ctx);
    void (*set_position)(fl_ctx *ctx, const void *pos, uint32_t len);
    const void *(*restored_position)(fl_ctx *ctx, int index, uint32_t *len);
} fl_api_conn_ops;

/* Installs the table (copied). Once per process, before any task thread runs. */
void fl_api_install_conn(const fl_api_conn_ops *ops);

#endif
