/* crash_ctx.c -- what a task's thread publishes for the crash handler (common/crash.h):
 * the task, the job, and the user functions of every operator of its chain by symbol, so
 * that a crash report names the operator whose function is on the stack. Published once
 * when the thread starts running the chain (nothing per record); the reporter, which runs
 * on the crash handler's own thread, fails the task with the crash's summary (posting the
 * FAILED report to the TaskExecutor itself, as task.c's report does) so that the
 * JobManager learns it before the TaskManager's connection closes. Task thread, but for
 * crash_report (the reporter thread).
 */
#include "common/crash.h"
#include "internal.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_fn(fl_task *t, const char *symbol, int op)
{
    if (!symbol || !*symbol)
        return;
    t->crash_fns = fl_xrealloc(t->crash_fns, (size_t)(t->crash.nfns + 1) * sizeof *t->crash_fns);
    t->crash_fns[t->crash.nfns++] = (fl_crash_fn){symbol, op};
}

static void add_key(fl_task *t, const Fl__Pb__KeySpec *k, int op)
{
    if (k)
        add_fn(t, k->fn, op);
}

/* The load address of the bundle, as dladdr reports it for its functions. */
static const void *bundle_base(const fl_bundle *b)
{
    Dl_info di;
    void *main = b && b->handle ? dlsym(b->handle, "flint_main") : NULL;
    if (main && dladdr(main, &di))
        return di.dli_fbase;
    struct link_map *lm = NULL;
    if (b && b->handle && dlinfo(b->handle, RTLD_DI_LINKMAP, &lm) == 0 && lm)
        return (const void *)lm->l_addr;
    return NULL;
}

/* Fails the task with the crash's summary (the reporter's thread): the TaskExecutor
 * relays it to the JobManager before the process dies. */
static void crash_report(void *cookie, const char *summary)
{
    fl_task *t = cookie;
    fl_task_report *r = fl_xcalloc(1, sizeof *r);
    r->task = t;
    r->state = FL_TASK_FAILED;
    r->crashed = true;
    snprintf(r->error, sizeof r->error, "%s", summary);
    fl_endpoint_post(t->env.owner, t->env.on_report, r, free);
}

void fl_task_crash_begin(fl_task *t)
{
    const Fl__Pb__TaskDeploymentDescriptor *d = t->tdd;
    const Fl__Pb__JobVertex *v = d->vertex;
    if (!fl_crash_installed())
        return; /* crash-reports.enabled: false */
    fl_crash_set_reporter(crash_report);
    fl_crash_thread_init();
    t->crash = (fl_crash_ctx){
        .job_id = d->job_id,
        .job_name = d->job_name,
        .task_name = t->name,
        .subtask = d->subtask,
        .parallelism = v->parallelism,
        .attempt = d->attempt,
        .bundle_name = d->bundle_name,
        .bundle_base = bundle_base(t->bundle),
        .op = -1,
        .cookie = t,
    };
    t->crash_ops = fl_xcalloc(v->n_chain + 1, sizeof *t->crash_ops);
    for (size_t i = 0; i < v->n_chain; i++) {
        const Fl__Pb__OperatorSpec *s = v->chain[i];
        int op = (int)i;
        t->crash_ops[i] = s->name;
        add_fn(t, s->fn, op);
        add_fn(t, s->fn2, op);
        add_fn(t, s->open_fn, op);
        add_fn(t, s->close_fn, op);
        add_fn(t, s->timer_fn, op);
        add_key(t, s->key, op);
        add_key(t, s->key2, op);
        if (s->watermarks) {
            add_fn(t, s->watermarks->timestamp_fn, op);
            add_fn(t, s->watermarks->punctuated_fn, op);
        }
        const Fl__Pb__WindowSpec *w = s->window;
        if (w) {
            add_fn(t, w->trigger_on_element, op);
            add_fn(t, w->trigger_on_event_time, op);
            add_fn(t, w->trigger_on_processing_time, op);
            add_fn(t, w->trigger_clear, op);
            add_fn(t, w->reduce_fn, op);
            add_fn(t, w->process_fn, op);
            if (w->aggregate) {
                add_fn(t, w->aggregate->create_fn, op);
                add_fn(t, w->aggregate->add_fn, op);
                add_fn(t, w->aggregate->result_fn, op);
                add_fn(t, w->aggregate->merge_fn, op);
            }
        }
    }
    /* a network output's key selector or partitioner runs for the operator feeding it */
    for (size_t k = 0; k < v->n_outputs; k++) {
        const Fl__Pb__VertexOutput *o = v->outputs[k];
        int op = o->from_op >= 0 && (size_t)o->from_op < v->n_chain ? o->from_op : 0;
        add_key(t, o->key, op);
        add_fn(t, o->partition_fn, op);
    }
    t->crash.op_names = t->crash_ops;
    t->crash.nops = (int)v->n_chain;
    t->crash.fns = t->crash_fns;
    fl_crash_set_context(&t->crash);
}

void fl_task_crash_end(fl_task *t)
{
    if (!t->crash_ops)
        return;
    fl_crash_set_context(NULL);
    fl_crash_thread_exit();
    free(t->crash_fns);
    free(t->crash_ops);
    t->crash_fns = NULL;
    t->crash_ops = NULL;
}
