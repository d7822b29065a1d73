/* streamgraph.h -- the StreamGraph a bundle's flint_main builds through the API calls of
 * include/flint/flint.h (implemented in streamgraph.c and streamgraph_window.c), and what
 * the client's compiler (client/compiler.c) reads. Linked into the TaskManager too, where
 * a bundle's references to the graph calls resolve but are never made. Client process
 * only, one thread. */
#ifndef FL_STREAMGRAPH_H
#define FL_STREAMGRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include <flint/flint.h>

#include "common/plan.h"

#include "proto/jobgraph.pb-c.h"

#define SG_NAME 256

typedef struct sg_key {
    char fn[SG_NAME];
    uint32_t offset, len;
} sg_key;

typedef struct sg_edge {
    int from;              /* node id */
    int partitioner;       /* Fl__Pb__Partitioner, or -1 for the default */
    sg_key key;
    char partition_fn[SG_NAME];
    char side_tag[SG_NAME]; /* the records the producer sends to this side output */
    int input_index;       /* 0, or 1 for the second input of two-input operators */
} sg_edge;

typedef struct sg_window {
    enum fl_assigner_kind assigner;
    int64_t size, slide, offset, gap, lateness;
    char late_tag[SG_NAME];
    enum fl_window_trigger_kind trigger;
    int64_t trigger_count;
    bool purge_on_fire;
    char trig_element[SG_NAME], trig_event[SG_NAME], trig_proc[SG_NAME], trig_clear[SG_NAME];
    int64_t evictor_count;
    bool all;
} sg_window;

typedef struct sg_node {
    int id;
    Fl__Pb__OpKind kind;
    char name[SG_NAME];
    char uid[SG_NAME];
    char fn[SG_NAME], open_fn[SG_NAME], close_fn[SG_NAME];
    uint8_t *config;
    uint32_t config_len;
    uint8_t *params;
    uint32_t params_len;
    uint32_t field_offset, field_type;
    sg_key key;            /* keyed operators */
    sg_key key2;           /* keyed two-input operators: the second input's key */
    bool keyed;
    char fn2[SG_NAME], timer_fn[SG_NAME];
    Fl__Pb__WatermarkSpec *wm;    /* assigner (strings owned: freed with the env) */
    sg_window *win;               /* window operator */
    enum fl_window_function_kind win_function;
    char win_reduce[SG_NAME], win_process[SG_NAME];
    uint32_t agg_acc_size, agg_result_max;
    char agg_fns[4][SG_NAME];     /* create, add, result, merge */
    char bcast_state[SG_NAME];
    int64_t lower_ms, upper_ms;
    int parallelism;       /* -1: not set */
    int max_parallelism;   /* -1: not set */
    bool non_parallel;     /* sources that always run with parallelism 1 */
    bool chaining_disabled, new_chain;
    char slot_group[SG_NAME];
    sg_edge *inputs;
    int ninputs;
} sg_node;

struct fl_env {
    sg_node *nodes;
    int n, cap;
    fl_stream **streams;   /* handles handed out, freed with the env */
    int nstreams, capstreams;
    int default_parallelism;  /* parallelism.default or flint run -p */
    int job_parallelism;      /* fl_env_set_parallelism, -1 when not set */
    int max_parallelism;      /* job level: fl_env_set_max_parallelism or
                                 pipeline.max-parallelism; -1 when not set */
    int64_t buffer_timeout_ms;
    bool chaining;
    bool executed;
    char job_name[SG_NAME];
    char error[512];          /* first error while building; the graph is invalid */
};

#define SG_MAX_INPUTS 16

/* One input of the operator a stream handle will feed. */
typedef struct sg_src {
    int node;
    int partitioner;       /* pending partitioning, -1 for the default */
    sg_key key;
    char partition_fn[SG_NAME];
    char side_tag[SG_NAME];
    bool keyed;
    int input_index;
    char bcast_state[SG_NAME];  /* a broadcast-state stream */
} sg_src;

struct fl_stream {
    fl_env *env;
    int node;              /* the node operator settings apply to */
    int nsrc;              /* union: several; connect: two (input_index 0 and 1) */
    sg_src src[SG_MAX_INPUTS];
    bool connected;
    sg_window *win;        /* a windowed stream waiting for its window function */
};

fl_env *fl_sg_env_new(int default_parallelism, int64_t buffer_timeout_ms);
void fl_sg_env_free(fl_env *env);

#endif
