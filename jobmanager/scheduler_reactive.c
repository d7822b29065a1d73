/* scheduler_reactive.c -- Flink's reactive mode (scheduler-mode: reactive) and adaptive
 * scheduler (jobmanager.scheduler: adaptive) on the scheduler's rescale path: the Dispatcher tells every JobMaster the cluster's slot count
 * whenever it changes (a TaskManager registered or was lost), and the job rescales to use
 * all of them. Fewer slots rescale at once: the lost TaskManager's slots will not come back,
 * and waiting for them would only end in slot.request.timeout. More slots wait for
 * jobmanager.adaptive-scheduler.resource-stabilization-timeout without a further change, so
 * TaskManagers that start together cause one rescale, not one each. The rescale itself is
 * fl_sched_rescale_for: the tasks stop and the job restores its latest completed checkpoint
 * at the new parallelism (a lost TaskManager's failure restarts at it instead). A job with
 * unaligned checkpoints is not rescaled (their in-flight data restores only at the same
 * parallelism): it says so once and keeps its parallelism. The adaptive scheduler does the
 * same within the parallelism the job declared: it starts at it, waits resource-wait-timeout
 * for the slots it needs and then runs with what there is, and scales back up as slots
 * come. JobMaster thread only.
 */
#include "common/log.h"
#include "common/util.h"
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

/* The most vertex vi may run at: its max parallelism, or less when capped. */
static int most_of(const fl_exec_graph *eg, const int *cap, int vi)
{
    int m = eg->v[vi].jv->max_parallelism;
    return cap && cap[vi] < m ? cap[vi] : m;
}

/* Slots that parallelism p needs: per sharing group its largest vertex at min(p, most). */
static int slots_needed(const fl_exec_graph *eg, const int *cap, int p)
{
    int size[FL_EG_MAX_GROUPS] = {0}, n = 0;
    for (int vi = 0; vi < eg->nv; vi++) {
        int q = FL_MIN(p, most_of(eg, cap, vi));
        if (q > size[eg->v[vi].group])
            size[eg->v[vi].group] = q;
    }
    for (int g = 0; g < eg->ngroups; g++)
        n += size[g];
    return n;
}

int fl_sched_reactive_target(const fl_exec_graph *eg, int slots, const int *cap, int *par)
{
    int most = 1;
    for (int vi = 0; vi < eg->nv; vi++)
        most = FL_MAX(most, most_of(eg, cap, vi));
    if (eg->nv == 0 || slots_needed(eg, cap, 1) > slots)
        return -1;
    int lo = 1, hi = FL_MIN(slots, most); /* slots_needed grows with p: the largest fitting */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (slots_needed(eg, cap, mid) <= slots)
            lo = mid;
        else
            hi = mid - 1;
    }
    for (int vi = 0; vi < eg->nv; vi++)
        par[vi] = FL_MAX(1, FL_MIN(lo, most_of(eg, cap, vi)));
    /* a forward edge joins subtask i to subtask i: both ends at the smaller parallelism;
     * each pass settles at least one more vertex, so nv passes are enough */
    for (bool changed = true; changed;) {
        changed = false;
        for (int vi = 0; vi < eg->nv; vi++) {
            const Fl__Pb__JobVertex *jv = eg->v[vi].jv;
            for (size_t k = 0; k < jv->n_inputs; k++) {
                int src = jv->inputs[k]->source_vertex;
                if (src < 0 || src >= eg->nv)
                    continue;
                const Fl__Pb__JobVertex *sv = eg->v[src].jv;
                int o = jv->inputs[k]->source_output;
                if (o < 0 || (size_t)o >= sv->n_outputs ||
                    sv->outputs[o]->partitioner != FL__PB__PARTITIONER__PART_FORWARD ||
                    par[src] == par[vi])
                    continue;
                par[src] = par[vi] = FL_MIN(par[src], par[vi]);
                changed = true;
            }
        }
    }
    return 0;
}

/* The parallelism the job has now, or is about to have (a rescale under way). */
static const int *current(const fl_sched *s, int *buf)
{
    if (s->rescale_to)
        return s->rescale_to;
    for (int vi = 0; vi < s->eg.nv; vi++)
        buf[vi] = s->g->vertices[vi]->parallelism;
    return buf;
}

static bool can_rescale(fl_sched *s)
{
    if (!fl_conf_get_bool(s->conf, "execution.checkpointing.unaligned.enabled"))
        return true;
    if (!s->reactive_refused)
        fl_warn("Job %s (%s): reactive mode does not rescale it: it uses unaligned "
                "checkpoints, whose in-flight data can be restored only at the same "
                "parallelism.", s->job_name, s->job_id);
    s->reactive_refused = true;
    return false;
}

/* Rescales to what the cluster's slots hold now, when that differs. */
static void follow(fl_sched *s, bool now)
{
    int nv = s->eg.nv;
    int *par = fl_xcalloc((size_t)nv + 1, sizeof *par);
    int *buf = fl_xcalloc((size_t)nv + 1, sizeof *buf);
    if (fl_sched_reactive_target(&s->eg, s->cluster_slots, s->declared, par) < 0)
        goto out; /* no slots at all: the job waits for them as it would anyway */
    const int *cur = current(s, buf);
    bool down = false, differ = false;
    for (int vi = 0; vi < nv; vi++) {
        differ |= par[vi] != cur[vi];
        down |= par[vi] < cur[vi];
    }
    if (!differ) {
        evtimer_del(s->reactive_timer); /* back where it is: nothing to wait for */
        fl_info("Job %s (%s): the cluster has %d slots; its parallelism stays.", s->job_name,
                s->job_id, s->cluster_slots);
        goto out;
    }
    if (s->declared && (s->state == FL_JOB_CREATED || (down && !now))) {
        /* adaptive: it starts at what it declared, and settles for less only after
         * waiting resource-wait-timeout for its slots (fl_sched_on_wait_timer) */
        evtimer_del(s->reactive_timer);
        goto out;
    }
    if (!can_rescale(s))
        goto out;
    if (!now && !down && s->state != FL_JOB_CREATED) {
        /* more slots: wait until the cluster stays as it is (re-armed on each change) */
        evtimer_del(s->reactive_timer);
        fl_sched_timer_in(s->reactive_timer,
                          fl_conf_get_duration_ms(
                              s->conf, "jobmanager.adaptive-scheduler.resource-stabilization-timeout"));
        goto out;
    }
    evtimer_del(s->reactive_timer);
    char why[160];
    snprintf(why, sizeof why, "%s: the cluster has %d slots",
             s->declared ? "adaptive scheduler" : "reactive mode", s->cluster_slots);
    fl_sched_rescale_for(s, par, why); /* it logs that it rescales, op_rescaled from what */
out:
    free(par);
    free(buf);
}

void fl_sched_cluster_slots(fl_sched *s, int slots)
{
    s->cluster_slots = slots;
    if (s->reactive && !fl_job_state_is_terminal(s->state) && s->state != FL_JOB_CANCELLING)
        follow(s, false);
}

/* Adaptive: the job waited resource-wait-timeout for its slots and they did not all come:
 * it runs with what the cluster has (if that is anything). */
void fl_sched_on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_sched *s = arg;
    if (s->state != FL_JOB_RUNNING || !s->waiting_slots)
        return;
    fl_info("Job %s (%s): its %d slots did not come within %lld ms "
            "(jobmanager.adaptive-scheduler.resource-wait-timeout); it runs with the %d there "
            "are.", s->job_name, s->job_id, s->eg.nslots_needed,
            (long long)fl_conf_get_duration_ms(
                s->conf, "jobmanager.adaptive-scheduler.resource-wait-timeout"),
            s->cluster_slots);
    follow(s, true);
}

void fl_sched_reactive_waiting(fl_sched *s, bool waiting)
{
    if (!s->declared)
        return;
    evtimer_del(s->wait_timer);
    if (waiting)
        fl_sched_timer_in(s->wait_timer,
                          fl_conf_get_duration_ms(
                              s->conf, "jobmanager.adaptive-scheduler.resource-wait-timeout"));
}

void fl_sched_reactive_init(fl_sched *s, struct event_base *base)
{
    s->reactive_timer = evtimer_new(base, fl_sched_on_reactive_timer, s);
    s->wait_timer = evtimer_new(base, fl_sched_on_wait_timer, s);
    s->cluster_slots = -1;
    const char *mode = fl_conf_get_str(s->conf, "scheduler-mode");
    const char *sched = fl_conf_get_str(s->conf, "jobmanager.scheduler");
    s->reactive = mode && !strcmp(mode, "reactive");
    if (!s->reactive && sched && !strcmp(sched, "adaptive")) {
        s->reactive = true;
        s->declared = fl_xcalloc((size_t)s->eg.nv + 1, sizeof *s->declared);
        for (int vi = 0; vi < s->eg.nv; vi++)
            s->declared[vi] = s->g->vertices[vi]->parallelism;
    }
}

void fl_sched_on_reactive_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_sched *s = arg;
    if (!fl_job_state_is_terminal(s->state) && s->state != FL_JOB_CANCELLING)
        follow(s, true);
}
