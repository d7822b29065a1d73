/* streamgraph_internal.h -- the graph builder's helpers, shared by streamgraph.c (the
 * environment, sources, transformations, partitioning, sinks, operator settings, time and
 * several inputs) and streamgraph_window.c (windows); nothing outside them includes this.
 * Client process only, one thread.
 */
#ifndef FL_STREAMGRAPH_INTERNAL_H
#define FL_STREAMGRAPH_INTERNAL_H

#include "streamgraph.h"

/* Records the first error of the graph in env->error (later ones are dropped). */
void fl_sg_error(fl_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The symbol name of a function of the bundle, or "" with env->error set. */
void fl_sg_fn_name(fl_env *env, const void *fn, char *out, const char *what);
/* A copy of in (its inputs, pending partitioning) as a new handle. */
fl_stream *fl_sg_derive(fl_stream *in);
/* Adds an operator consuming every input of `in`, taking over their partitioning. */
fl_stream *fl_sg_add_op(fl_stream *in, Fl__Pb__OpKind kind, const char *name, const void *fn,
                        const char *what);

static inline sg_node *node_of(fl_stream *s)
{
    return &s->env->nodes[s->node];
}

#endif
