/* output.c -- wiring an operator's outputs and side outputs (output.h); the per-record
 * emit itself is fl_out_emit in operator.h. Wiring happens before the first record; task
 * thread.
 */
#include "operator.h"

#include <stdlib.h>
#include <string.h>

void fl_out_connect_op(fl_out *out, fl_op *op)
{
    out->chained = fl_xrealloc(out->chained, (size_t)(out->nchained + 1) * sizeof *out->chained);
    out->chained[out->nchained++] = op;
}

void fl_out_connect_writer(fl_out *out, fl_writer *w)
{
    out->writers = fl_xrealloc(out->writers, (size_t)(out->nwriters + 1) * sizeof *out->writers);
    out->writers[out->nwriters++] = w;
}

void fl_out_release(fl_out *out)
{
    free(out->chained);
    free(out->writers);
    free(out->cap);
    out->chained = NULL;
    out->writers = NULL;
    out->cap = NULL;
    out->nchained = out->nwriters = 0;
}

fl_out *fl_op_add_side(fl_op *op, const char *tag)
{
    op->sides = fl_xrealloc(op->sides, (size_t)(op->nsides + 1) * sizeof *op->sides);
    fl_side *side = &op->sides[op->nsides++];
    memset(side, 0, sizeof *side);
    side->tag = tag;
    return &side->out;
}

void fl_op_emit_side(fl_op *op, const char *tag, const void *data, uint32_t len, int64_t ts)
{
    for (int i = 0; i < op->nsides; i++)
        if (strcmp(op->sides[i].tag, tag) == 0) {
            fl_out_emit(&op->sides[i].out, data, len, ts);
            return;
        }
}
