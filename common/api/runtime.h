/* runtime.h -- how the run-time calls of the bundle API reach a task runtime.
 *
 * common/api/ implements every function include/flint/ declares, in one place that both
 * the client and the TaskManager link (a bundle loads in either). The graph calls build
 * the StreamGraph here (streamgraph.c). The run-time calls -- collectors, the runtime
 * context, keyed state, timers, the trigger context -- only mean something inside a
 * running task: runtime.c forwards each to the tables below, which the task runtime
 * (taskmanager/task/api.c) installs once, before its first task starts. So nothing here
 * calls up into the runtime by name, and the client, which has no runtime, links the same
 * code: a run-time call made there (from flint_main, say) stops the process with a message
 * saying so.
 *
 * Each table is filled by the part of the runtime that owns what it reaches (like
 * fl_kbackend_ops, one const table per implementation): the operator chain
 * (taskmanager/chain/) the context, time and state tables, the window operator
 * (taskmanager/operators/window/) the trigger table. Entries mirror the public functions
 * of the same name (failv takes the va_list of fl_ctx_fail); none may be NULL.
 */
#ifndef FL_API_RUNTIME_H
#define FL_API_RUNTIME_H

#include <stdarg.h>

#include <flint/flint.h>

/* flint.h's run-time calls (collectors and the runtime context), streams.h's
 * fl_ctx_input and window.h's fl_ctx_window. */
typedef struct fl_api_ctx_ops {
    void (*emit)(fl_out *out, const void *data, uint32_t len);
    void (*emit_ts)(fl_out *out, const void *data, uint32_t len, int64_t ts);
    int (*subtask)(const fl_ctx *ctx);
    int (*parallelism)(const fl_ctx *ctx);
    int (*max_parallelism)(const fl_ctx *ctx);
    int (*attempt)(const fl_ctx *ctx);
    const char *(*task_name)(const fl_ctx *ctx);
    const void *(*config)(const fl_ctx *ctx, uint32_t *len);
    void (*set_user)(fl_ctx *ctx, void *user);
    void *(*user)(const fl_ctx *ctx);
    void (*failv)(fl_ctx *ctx, const char *fmt, va_list ap);
    const void *(*key)(const fl_ctx *ctx, uint32_t *len);
    int (*input)(const fl_ctx *ctx);
    const fl_window *(*window)(const fl_ctx *ctx);
} fl_api_ctx_ops;

/* time.h: timestamps, watermarks, timers, side outputs. */
typedef struct fl_api_time_ops {
    int64_t (*timestamp)(const fl_ctx *ctx);
    int64_t (*current_watermark)(const fl_ctx *ctx);
    int64_t (*current_processing_time)(const fl_ctx *ctx);
    int (*time_domain)(const fl_ctx *ctx);
    void (*register_event_timer)(fl_ctx *ctx, int64_t ts);
    void (*register_processing_timer)(fl_ctx *ctx, int64_t ts);
    void (*delete_event_timer)(fl_ctx *ctx, int64_t ts);
    void (*delete_processing_timer)(fl_ctx *ctx, int64_t ts);
    void (*output)(fl_ctx *ctx, const char *tag, const void *data, uint32_t len, int64_t ts);
} fl_api_time_ops;

/* flint.h's value state, state.h, streams.h's broadcast state. */
typedef struct fl_api_state_ops {
    /* the context a state handle fails, and the state's name (for messages) */
    fl_ctx *(*owner)(const void *s, const char **name);
    fl_value_state *(*value_state)(fl_ctx *ctx, const char *name);
    bool (*value_get)(fl_value_state *s, const void **data, uint32_t *len);
    void (*value_put)(fl_value_state *s, const void *data, uint32_t len);
    void (*value_clear)(fl_value_state *s);
    fl_list_state *(*list_state)(fl_ctx *ctx, const char *name);
    void (*list_add)(fl_list_state *s, const void *data, uint32_t len);
    bool (*list_get)(fl_list_state *s, fl_iter *it);
    void (*list_update)(fl_list_state *s, const fl_rec *elems, uint32_t n);
    void (*list_update_fixed)(fl_list_state *s, const void *elems, uint32_t size, uint32_t n);
    void (*list_clear)(fl_list_state *s);
    fl_map_state *(*map_state)(fl_ctx *ctx, const char *name);
    fl_map_state *(*broadcast_state)(fl_ctx *ctx, const char *name);
    bool (*map_get)(fl_map_state *s, const void *key, uint32_t klen, const void **val,
                    uint32_t *vlen);
    void (*map_put)(fl_map_state *s, const void *key, uint32_t klen, const void *val,
                    uint32_t vlen);
    void (*map_remove)(fl_map_state *s, const void *key, uint32_t klen);
    uint32_t (*map_size)(fl_map_state *s);
    void (*map_iterate)(fl_map_state *s, fl_map_iter *it);
    bool (*map_next)(fl_map_iter *it);
    void (*map_iter_remove)(fl_map_iter *it);
    void (*map_clear)(fl_map_state *s);
    fl_reducing_state *(*reducing_state)(fl_ctx *ctx, const char *name, fl_reduce_fn fn);
    void (*reducing_add)(fl_reducing_state *s, const void *data, uint32_t len);
    bool (*reducing_get)(fl_reducing_state *s, fl_rec *value);
    void (*reducing_clear)(fl_reducing_state *s);
    fl_aggregating_state *(*aggregating_state)(fl_ctx *ctx, const char *name,
                                               const fl_aggregate *agg);
    void (*aggregating_add)(fl_aggregating_state *s, const fl_rec *in);
    bool (*aggregating_get)(fl_aggregating_state *s, void *out, uint32_t cap, uint32_t *len);
    void (*aggregating_clear)(fl_aggregating_state *s);
    void (*state_ttl)(fl_ctx *ctx, const char *name, int64_t ttl_ms);
} fl_api_state_ops;

/* window.h: the trigger context of custom triggers. */
typedef struct fl_api_trigger_ops {
    void (*register_event_timer)(fl_trigger_ctx *t, int64_t time);
    void (*register_processing_timer)(fl_trigger_ctx *t, int64_t time);
    void (*delete_event_timer)(fl_trigger_ctx *t, int64_t time);
    void (*delete_processing_timer)(fl_trigger_ctx *t, int64_t time);
    int64_t (*current_watermark)(const fl_trigger_ctx *t);
    bool (*state_get)(fl_trigger_ctx *t, const char *name, void *val, uint32_t len);
    void (*state_put)(fl_trigger_ctx *t, const char *name, const void *val, uint32_t len);
    void (*state_clear)(fl_trigger_ctx *t, const char *name);
} fl_api_trigger_ops;

typedef struct fl_api_runtime {
    const fl_api_ctx_ops *ctx;
    const fl_api_time_ops *time;
    const fl_api_state_ops *state;
    const fl_api_trigger_ops *trigger;
} fl_api_runtime;

/* Installs the runtime's tables (copied). Once per process, before any thread makes a
 * run-time call: the task runtime calls it before it starts its first task thread. */
void fl_api_install(const fl_api_runtime *rt);

#endif
