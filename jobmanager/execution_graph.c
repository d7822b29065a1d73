/* execution_graph.c -- see execution_graph.h. JobMaster thread only. */
#include "execution_graph.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fl_eg_init(fl_exec_graph *eg, Fl__Pb__JobGraph *g, fl_err *err)
{
    memset(eg, 0, sizeof *eg);
    eg->nv = (int)g->n_vertices;
    eg->v = fl_xcalloc((size_t)eg->nv + 1, sizeof *eg->v);
    for (int vi = 0; vi < eg->nv; vi++) {
        fl_vertex *vx = &eg->v[vi];
        vx->jv = g->vertices[vi];
        const char *grp = vx->jv->slot_sharing_group[0] ? vx->jv->slot_sharing_group : "default";
        int gi;
        if (strlen(grp) >= sizeof eg->groups[0]) { /* a shortened name is another group */
            fl_err_set(err, "the slot sharing group of vertex %d is longer than %zu bytes", vi,
                       sizeof eg->groups[0] - 1);
            return -1;
        }
        for (gi = 0; gi < eg->ngroups && strcmp(eg->groups[gi], grp); gi++)
            ;
        if (gi == eg->ngroups) {
            if (gi == FL_EG_MAX_GROUPS) {
                fl_err_set(err, "too many slot sharing groups (at most %d)", FL_EG_MAX_GROUPS);
                return -1;
            }
            snprintf(eg->groups[gi], sizeof eg->groups[gi], "%s", grp);
            eg->ngroups++;
        }
        vx->group = gi;
        if (vx->jv->parallelism > eg->group_size[gi])
            eg->group_size[gi] = vx->jv->parallelism;
        vx->x = fl_xcalloc((size_t)vx->jv->parallelism + 1, sizeof *vx->x);
        eg->ntasks += vx->jv->parallelism;
    }
    for (int gi = 0; gi < eg->ngroups; gi++) {
        eg->group_base[gi] = eg->nslots_needed;
        eg->nslots_needed += eg->group_size[gi];
    }
    fl_eg_reset(eg);
    return 0;
}

void fl_eg_destroy(fl_exec_graph *eg)
{
    for (int vi = 0; eg->v && vi < eg->nv; vi++)
        free(eg->v[vi].x);
    free(eg->v);
    memset(eg, 0, sizeof *eg);
}

void fl_eg_set_state(fl_exec_graph *eg, fl_exec *x, fl_task_state state)
{
    eg->nstate[x->state]--;
    eg->nstate[state]++;
    x->state = state;
}

void fl_eg_reset(fl_exec_graph *eg)
{
    for (int vi = 0; vi < eg->nv; vi++)
        for (int i = 0; i < eg->v[vi].jv->parallelism; i++) {
            fl_exec *x = &eg->v[vi].x[i];
            memset(x, 0, sizeof *x);
            x->state = FL_TASK_CREATED;
            x->slot = eg->group_base[eg->v[vi].group] + i;
        }
    memset(eg->nstate, 0, sizeof eg->nstate);
    eg->nstate[FL_TASK_CREATED] = eg->ntasks;
}

fl_exec *fl_eg_exec(fl_exec_graph *eg, int vi, int i)
{
    if (vi < 0 || vi >= eg->nv || i < 0 || i >= eg->v[vi].jv->parallelism)
        return NULL;
    return &eg->v[vi].x[i];
}

bool fl_eg_all_terminal(const fl_exec_graph *eg)
{
    return eg->nstate[FL_TASK_FINISHED] + eg->nstate[FL_TASK_CANCELED] +
               eg->nstate[FL_TASK_FAILED] == eg->ntasks;
}

bool fl_eg_all_running(const fl_exec_graph *eg)
{
    return eg->nstate[FL_TASK_RUNNING] + eg->nstate[FL_TASK_FINISHED] == eg->ntasks;
}

bool fl_eg_all_finished(const fl_exec_graph *eg)
{
    return eg->nstate[FL_TASK_FINISHED] == eg->ntasks;
}

int fl_eg_count(const fl_exec_graph *eg, fl_task_state state)
{
    return state >= 0 && state < FL_TASK_NSTATES ? eg->nstate[state] : 0;
}

int fl_eg_validate(const fl_exec_graph *eg, fl_err *err)
{
    int scan[FL_TASK_NSTATES] = {0}, n = 0;
    for (int vi = 0; vi < eg->nv; vi++) {
        const fl_vertex *vx = &eg->v[vi];
        if (vx->group < 0 || vx->group >= eg->ngroups) {
            fl_err_set(err, "vertex %d: sharing group %d of %d", vi, vx->group, eg->ngroups);
            return -1;
        }
        for (int i = 0; i < vx->jv->parallelism; i++, n++) {
            const fl_exec *x = &vx->x[i];
            if (x->state < 0 || x->state >= FL_TASK_NSTATES) {
                fl_err_set(err, "execution %d.%d: invalid state %d", vi, i, (int)x->state);
                return -1;
            }
            if (x->slot < 0 || x->slot >= eg->nslots_needed) {
                fl_err_set(err, "execution %d.%d: slot %d outside [0, %d)", vi, i, x->slot,
                           eg->nslots_needed);
                return -1;
            }
            scan[x->state]++;
        }
    }
    if (n != eg->ntasks) {
        fl_err_set(err, "%d executions, ntasks says %d", n, eg->ntasks);
        return -1;
    }
    for (int s = 0; s < FL_TASK_NSTATES; s++)
        if (scan[s] != eg->nstate[s]) {
            fl_err_set(err, "%d executions %s, the count says %d", scan[s],
                       fl_task_state_name((fl_task_state)s), eg->nstate[s]);
            return -1;
        }
    return 0;
}
