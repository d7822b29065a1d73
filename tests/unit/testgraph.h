/* testgraph.h -- job graphs built in memory for the unit tests of the JobMaster
 * (check_execution_graph.c, check_scheduler.c): vertices of a parallelism, edges with a
 * partitioner, everything in one struct on the caller's stack. Header-only (static).
 */
#ifndef FL_TESTGRAPH_H
#define FL_TESTGRAPH_H

#include <string.h>

#include "proto/jobgraph.pb-c.h"

#define TG_MAXV 8

typedef struct graph {
    Fl__Pb__JobGraph g;
    Fl__Pb__JobVertex v[TG_MAXV], *vp[TG_MAXV];
    Fl__Pb__VertexInput in[TG_MAXV][4], *inp[TG_MAXV][4];
    Fl__Pb__VertexOutput out[TG_MAXV][4], *outp[TG_MAXV][4];
} graph;

static inline void graph_init(graph *gr)
{
    memset(gr, 0, sizeof *gr);
    fl__pb__job_graph__init(&gr->g);
    gr->g.name = "test";
    gr->g.job_id = "00000000000000000000000000000000";
    gr->g.vertices = gr->vp;
}

static inline int vertex(graph *gr, int parallelism)
{
    int vi = (int)gr->g.n_vertices++;
    Fl__Pb__JobVertex *v = &gr->v[vi];
    fl__pb__job_vertex__init(v);
    v->id = vi;
    v->name = "v";
    v->parallelism = parallelism;
    v->max_parallelism = 128;
    v->inputs = gr->inp[vi];
    v->outputs = gr->outp[vi];
    gr->vp[vi] = v;
    return vi;
}

static inline void edge(graph *gr, int from, int to, Fl__Pb__Partitioner part)
{
    Fl__Pb__JobVertex *src = &gr->v[from], *dst = &gr->v[to];
    Fl__Pb__VertexOutput *o = &gr->out[from][src->n_outputs];
    fl__pb__vertex_output__init(o);
    o->target_vertex = to;
    o->partitioner = part;
    gr->outp[from][src->n_outputs] = o;
    Fl__Pb__VertexInput *in = &gr->in[to][dst->n_inputs];
    fl__pb__vertex_input__init(in);
    in->source_vertex = from;
    in->source_output = (int)src->n_outputs++;
    in->input_index = (int)dst->n_inputs ? 1 : 0;
    gr->inp[to][dst->n_inputs++] = in;
}

#endif
