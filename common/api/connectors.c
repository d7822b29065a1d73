/* connectors.c -- the connector API of flint/connectors.h: the graph calls (a source or
 * sink node naming its definition by symbol, as functions are named) and the run-time
 * calls, forwarded to the table the task runtime installed (connectors.h). Graph calls:
 * client, one thread; run-time calls: task threads.
 */
#include "connectors.h"
#include "common/util.h"
#include "streamgraph_internal.h"

#include <stdio.h>
#include <stdlib.h>

static struct {
    bool installed;
    fl_api_conn_ops ops;
} rt;

void fl_api_install_conn(const fl_api_conn_ops *ops)
{
    rt.ops = *ops;
    rt.installed = true;
}

static void no_runtime(const char *fn) __attribute__((noreturn, cold));
static void no_runtime(const char *fn)
{
    fprintf(stderr, "flint: %s() was called outside a running connector; it belongs in the "
                    "functions Flint calls at run time, not in flint_main\n",
            fn);
    abort();
}

#define RT (FL_LIKELY(rt.installed) ? &rt.ops : (no_runtime(__func__), &rt.ops))

/* ---- graph ------------------------------------------------------------------------- */

fl_stream *fl_from_source(fl_env *env, const fl_source_def *def, const void *cfg, uint32_t len,
                          fl_watermark_strategy wm, const char *name)
{
    /* a parallel custom source, then made a connector source naming def */
    fl_stream *s = fl_add_source(env, NULL, true);
    sg_node *n = node_of(s);
    n->kind = FL__PB__OP_KIND__SRC_CONNECTOR;
    if (!def)
        fl_sg_error(env, "fl_from_source without a source definition");
    fl_sg_fn_name(env, def, n->fn, "source definition");
    snprintf(n->name, SG_NAME, "Source: %s", name ? name : def && def->name ? def->name : "?");
    if (len)
        fl_with_config_bytes(s, FL_CONNECTOR_CONFIG, cfg, len);
    if (wm.kind) {
        if (wm.kind < FL_WM_BOUNDED || wm.kind > FL_WM_PUNCTUATED ||
            (wm.kind == FL_WM_PUNCTUATED && !wm.punctuated))
            fl_sg_error(env, "%s: a watermark strategy of an unknown kind", n->name);
        char tsf[SG_NAME], pf[SG_NAME];
        fl_sg_fn_name(env, (const void *)wm.timestamp, tsf, "timestamp assigner");
        fl_sg_fn_name(env, (const void *)wm.punctuated, pf, "watermark generator");
        n->wm = fl_xcalloc(1, sizeof *n->wm);
        fl__pb__watermark_spec__init(n->wm);
        n->wm->kind = wm.kind;
        n->wm->out_of_orderness_ms = wm.out_of_orderness_ms;
        n->wm->timestamp_fn = fl_xstrdup(tsf);
        n->wm->punctuated_fn = fl_xstrdup(pf);
        n->wm->idle_timeout_ms = wm.idle_timeout_ms;
    }
    return s;
}

fl_stream *fl_sink_to(fl_stream *in, const fl_sink_def *def, const void *cfg, uint32_t len)
{
    char name[SG_NAME];
    snprintf(name, sizeof name, "Sink: %s", def && def->name ? def->name : "?");
    if (!def)
        fl_sg_error(in->env, "fl_sink_to without a sink definition");
    fl_stream *s = fl_sg_add_op(in, FL__PB__OP_KIND__SINK_CONNECTOR, name, def, "sink definition");
    if (len)
        fl_with_config_bytes(s, FL_CONNECTOR_CONFIG, cfg, len);
    return s;
}

/* ---- run time ---------------------------------------------------------------------- */

int fl_source_add_split(fl_ctx *ctx, const void *state, uint32_t len)
{
    return RT->add_split(ctx, state, len);
}

void fl_source_emit(fl_ctx *ctx, int split, const void *data, uint32_t len, int64_t ts)
{
    RT->emit(ctx, split, data, len, ts);
}

void fl_source_split_finished(fl_ctx *ctx, int split)
{
    RT->split_finished(ctx, split);
}

void fl_sink_add_committable(fl_ctx *ctx, const void *data, uint32_t len)
{
    RT->add_committable(ctx, data, len);
}

const char *fl_ctx_job_id(const fl_ctx *ctx)
{
    return RT->job_id(ctx);
}

int64_t fl_ctx_checkpoint_interval(const fl_ctx *ctx)
{
    return RT->checkpoint_interval(ctx);
}

void fl_source_set_position(fl_ctx *ctx, const void *pos, uint32_t len)
{
    RT->set_position(ctx, pos, len);
}

const void *fl_source_restored_position(fl_ctx *ctx, int index, uint32_t *len)
{
    return RT->restored_position(ctx, index, len);
}
