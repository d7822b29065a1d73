/* streamgraph.h -- the StreamGraph a bundle's flint_main builds through the API calls of
 * include/flint/flint.h (implemented in streamgraph.c), and what the compiler reads.
 * Client process only, one thread. */
#ifndef FL_STREAMGRAPH_H
#define FL_STREAMGRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include <flint/flint.h>

#include "jobgraph.pb-c.h"

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
    int input_index;
} sg_edge;

typedef struct sg_node {
    int id;
    int kind;              /* Fl__Pb__OpKind */
    char name[SG_NAME];
    char uid[SG_NAME];
    char fn[SG_NAME], open_fn[SG_NAME], close_fn[SG_NAME];
    uint8_t *config;
    uint32_t config_len;
    uint8_t *params;
    uint32_t params_len;
    uint32_t field_offset, field_type;
    sg_key key;            /* keyed operators */
    int parallelism;       /* -1: not set */
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
    int max_parallelism;
    int64_t buffer_timeout_ms;
    bool chaining;
    bool executed;
    char job_name[SG_NAME];
    char error[512];          /* first error while building; the graph is invalid */
};

struct fl_stream {
    fl_env *env;
    int node;              /* the producing node */
    int partitioner;       /* pending partitioning for the next consumer, -1 default */
    sg_key key;
    char partition_fn[SG_NAME];
    bool keyed;
};

fl_env *fl_sg_env_new(int default_parallelism, int64_t buffer_timeout_ms);
void fl_sg_env_free(fl_env *env);

#endif
