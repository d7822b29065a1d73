/* setup.c -- an operator's life cycle in its chain: prepared from its spec (the user's
 * functions resolved by name, the key selector, the timer service), opened and closed
 * (the user's open and close functions), released. What differs per kind happens in the
 * kind's own init and release (fl_op_ops); the task decides the kind, hands in the state
 * backends and wires the outputs between prepare and open. Task thread only.
 */
#include "operator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A function of the bundle by the spec's name into *fn (none named: NULL); -1 when named
 * but missing. */
static int resolve(const fl_task_view *v, const char *name, void **fn, const char *what,
                   const char *op_name, fl_err *err)
{
    *fn = NULL;
    if (!name || !name[0])
        return 0;
    if (!(*fn = fl_bundle_sym(v->bundle, name))) {
        fl_err_set(err, "%s '%s'%s%s not found in the bundle", what, name,
                   op_name ? " of " : "", op_name ? op_name : "");
        return -1;
    }
    return 0;
}

int fl_op_prepare(fl_op *op, const fl_op_ops *ops, const Fl__Pb__OperatorSpec *spec,
                  const fl_task_view *view, int index, fl_err *err)
{
    void *p;
    memset(op, 0, sizeof *op);
    op->ops = ops;
    op->spec = spec;
    op->view = view;
    op->index = index;
    op->ctx.op = op;
    op->ctx.cfg = spec->config.data;
    op->ctx.cfg_len = (uint32_t)spec->config.len;
    snprintf(op->ctx.name, sizeof op->ctx.name, "%s (%d/%d)", spec->name, view->subtask + 1,
             view->parallelism);
    op->out.ts = FL_NO_TIMESTAMP;
    op->ctx.ts = FL_NO_TIMESTAMP;
    op->watermark = op->input_wm[0] = op->input_wm[1] = FL_NO_WATERMARK;
    op->capture.capture = true;
    if (resolve(view, spec->fn, &op->fn, "function", spec->name, err) < 0 ||
        resolve(view, spec->open_fn, &p, "open function", NULL, err) < 0)
        return -1;
    op->open_fn = (fl_open_fn)p;
    if (resolve(view, spec->close_fn, &p, "close function", NULL, err) < 0)
        return -1;
    op->close_fn = (fl_close_fn)p;
    if (resolve(view, spec->timer_fn, &p, "timer function", NULL, err) < 0)
        return -1;
    if ((op->timer_fn = (fl_on_timer_fn)p))
        op->timers = fl_timers_new();
    if (resolve(view, spec->fn2, &op->fn2, "function", spec->name, err) < 0)
        return -1;
    if (fl_op_is_keyed(op) && fl_keysel_init(&op->key, spec->key, view->bundle, err) < 0)
        return -1;
    return 0;
}

void fl_op_open(fl_op *op)
{
    op->opened = true; /* close follows even when open fails the task, as in Flink */
    if (op->open_fn)
        op->open_fn(&op->ctx);
}

void fl_op_close(fl_op *op)
{
    if (!op->opened)
        return;
    op->opened = false;
    if (op->close_fn)
        op->close_fn(&op->ctx);
}

void fl_op_release(fl_op *op)
{
    if (op->ops && op->ops->release)
        op->ops->release(op);
    op->state = NULL;
    fl_op_free_states(op);
    fl_kbackend_free(op->ctx.kb);
    fl_kbackend_free(op->bcast_kb);
    fl_timers_free(op->timers);
    fl_out_release(&op->out);
    fl_out_release(&op->capture);
    for (int k = 0; k < op->nsides; k++)
        fl_out_release(&op->sides[k].out);
    free(op->sides);
    op->ctx.kb = op->bcast_kb = NULL;
    op->timers = NULL;
    op->sides = NULL;
    op->nsides = 0;
    op->handles = NULL;
    op->nhandles = 0;
    op->ttls = NULL;
    op->nttls = 0;
}
