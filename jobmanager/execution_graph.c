/* execution_graph.c -- see execution_graph.h. JobMaster thread only. */
#include "execution_graph.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fl_eg_is_pointwise(int partitioner)
{
    return partitioner == FL__PB__PARTITIONER__PART_FORWARD ||
           partitioner == FL__PB__PARTITIONER__PART_RESCALE;
}

/* ---- pipelined regions ------------------------------------------------------------- */

typedef void (*link_fn)(void *ctx, fl_exec *a, fl_exec *b);

/* Calls fn for enough pairs of executions joined by a data edge that their transitive
 * closure is every such pair: O(P + C) per edge, an all-to-all edge of 10,000 x 10,000
 * included (each subtask of both sides paired with the producer 0). */
static void for_each_link(fl_exec_graph *eg, const Fl__Pb__JobGraph *g, link_fn fn, void *ctx)
{
    for (int vi = 0; vi < eg->nv; vi++) {
        const Fl__Pb__JobVertex *jv = eg->v[vi].jv;
        for (size_t k = 0; k < jv->n_inputs; k++) {
            int ui = jv->inputs[k]->source_vertex;
            if (ui < 0 || ui >= eg->nv)
                continue;
            const Fl__Pb__JobVertex *src = g->vertices[ui];
            int out = jv->inputs[k]->source_output;
            bool pw = out >= 0 && (size_t)out < src->n_outputs &&
                      fl_eg_is_pointwise(src->outputs[out]->partitioner);
            int P = src->parallelism, C = jv->parallelism;
            fl_exec *prod = eg->v[ui].x, *cons = eg->v[vi].x;
            if (!pw) {
                for (int j = 0; j < P; j++)
                    fn(ctx, &prod[0], &prod[j]);
                for (int i = 0; i < C; i++)
                    fn(ctx, &prod[0], &cons[i]);
            } else if (P >= C) {
                for (int j = 0; j < P; j++)
                    fn(ctx, &prod[j], &cons[fl_eg_pointwise_peer(j, P, C)]);
            } else {
                for (int i = 0; i < C; i++)
                    fn(ctx, &prod[fl_eg_pointwise_peer(i, C, P)], &cons[i]);
            }
        }
    }
}

/* Union-find over the flat indices of the executions (vertex by vertex, subtask by
 * subtask), while the regions are computed. */
typedef struct uf {
    fl_exec_graph *eg;
    int *parent;
    int *base;                  /* flat index of each vertex's subtask 0 */
} uf;

static int uf_root(uf *u, int k)
{
    int r = k;
    while (u->parent[r] != r)
        r = u->parent[r];
    while (u->parent[k] != r) { /* path compression */
        int next = u->parent[k];
        u->parent[k] = r;
        k = next;
    }
    return r;
}

static void uf_join(void *ctx, fl_exec *a, fl_exec *b)
{
    uf *u = ctx;
    int ra = uf_root(u, u->base[a->vertex] + a->subtask);
    int rb = uf_root(u, u->base[b->vertex] + b->subtask);
    if (ra < rb) /* the smaller flat index is the root: regions numbered in flat order */
        u->parent[rb] = ra;
    else if (rb < ra)
        u->parent[ra] = rb;
}

static void compute_regions(fl_exec_graph *eg, const Fl__Pb__JobGraph *g)
{
    size_t n = (size_t)eg->ntasks + 1;
    uf u = {eg, fl_xmalloc(n * sizeof(int)), fl_xcalloc((size_t)eg->nv + 1, sizeof(int))};
    for (int vi = 0, k = 0; vi < eg->nv; k += eg->v[vi].jv->parallelism, vi++)
        u.base[vi] = k;
    for (int k = 0; k < eg->ntasks; k++)
        u.parent[k] = k;
    for_each_link(eg, g, uf_join, &u);
    /* number the roots in flat order, count each region's executions */
    int *num = fl_xmalloc(n * sizeof *num), *count = fl_xcalloc(n, sizeof *count);
    eg->nregions = 0;
    for (int k = 0; k < eg->ntasks; k++)
        num[k] = uf_root(&u, k) == k ? eg->nregions++ : num[uf_root(&u, k)];
    for (int k = 0; k < eg->ntasks; k++)
        count[num[k]]++;
    eg->members = fl_xcalloc(n, sizeof *eg->members);
    eg->regions = fl_xcalloc((size_t)eg->nregions + 1, sizeof *eg->regions);
    for (int r = 0, at = 0; r < eg->nregions; at += count[r], r++)
        eg->regions[r].x = eg->members + at;
    for (int vi = 0, k = 0; vi < eg->nv; vi++) /* flat order: (vertex, subtask) order */
        for (int i = 0; i < eg->v[vi].jv->parallelism; i++, k++) {
            fl_region *rg = &eg->regions[num[k]];
            eg->v[vi].x[i].region = num[k];
            rg->x[rg->n++] = &eg->v[vi].x[i];
        }
    free(u.parent);
    free(u.base);
    free(num);
    free(count);
}

int fl_eg_init(fl_exec_graph *eg, Fl__Pb__JobGraph *g, fl_err *err)
{
    memset(eg, 0, sizeof *eg);
    eg->g = g;
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
        size_t nop = (size_t)vx->jv->parallelism * vx->jv->n_chain;
        vx->ops = fl_xcalloc(nop + 1, sizeof *vx->ops);
        eg->ntasks += vx->jv->parallelism;
    }
    for (int gi = 0; gi < eg->ngroups; gi++) {
        eg->group_base[gi] = eg->nslots_needed;
        eg->nslots_needed += eg->group_size[gi];
    }
    for (int vi = 0; vi < eg->nv; vi++)
        for (int i = 0; i < eg->v[vi].jv->parallelism; i++) {
            eg->v[vi].x[i].vertex = vi;
            eg->v[vi].x[i].subtask = i;
        }
    compute_regions(eg, g);
    fl_eg_reset(eg, 0);
    return 0;
}

void fl_eg_destroy(fl_exec_graph *eg)
{
    for (int vi = 0; eg->v && vi < eg->nv; vi++) {
        free(eg->v[vi].x);
        free(eg->v[vi].ops);
    }
    free(eg->v);
    free(eg->regions);
    free(eg->members);
    memset(eg, 0, sizeof *eg);
}

void fl_eg_set_state(fl_exec_graph *eg, fl_exec *x, fl_task_state state)
{
    eg->nstate[x->state]--;
    eg->nstate[state]++;
    x->state = state;
}

/* x CREATED at attempt in its own slot; where it is in the graph stays. */
static void reset_exec(fl_exec_graph *eg, fl_exec *x, int attempt)
{
    int vi = x->vertex, i = x->subtask, region = x->region;
    memset(x, 0, sizeof *x);
    const fl_vertex *vx = &eg->v[vi];
    size_t nc = vx->jv->n_chain;
    memset(&vx->ops[(size_t)i * nc], 0, nc * sizeof *vx->ops); /* a new attempt counts from 0 */
    x->state = FL_TASK_CREATED;
    x->slot = eg->group_base[eg->v[vi].group] + i;
    x->attempt = attempt;
    x->vertex = vi, x->subtask = i, x->region = region;
}

void fl_eg_reset(fl_exec_graph *eg, int attempt)
{
    for (int vi = 0; vi < eg->nv; vi++)
        for (int i = 0; i < eg->v[vi].jv->parallelism; i++)
            reset_exec(eg, &eg->v[vi].x[i], attempt);
    memset(eg->nstate, 0, sizeof eg->nstate);
    eg->nstate[FL_TASK_CREATED] = eg->ntasks;
}

void fl_eg_reset_region(fl_exec_graph *eg, int r, int attempt)
{
    fl_region *rg = &eg->regions[r];
    for (int k = 0; k < rg->n; k++) {
        eg->nstate[rg->x[k]->state]--;
        eg->nstate[FL_TASK_CREATED]++;
        reset_exec(eg, rg->x[k], attempt);
    }
}

bool fl_eg_region_terminal(const fl_exec_graph *eg, int r)
{
    const fl_region *rg = &eg->regions[r];
    for (int k = 0; k < rg->n; k++)
        if (!fl_task_state_is_terminal(rg->x[k]->state))
            return false;
    return true;
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

typedef struct check_links {
    int bad;
    const fl_exec *a, *b;
} check_links;

static void check_link(void *ctx, fl_exec *a, fl_exec *b)
{
    check_links *cl = ctx;
    if (a->region != b->region && !cl->bad++)
        cl->a = a, cl->b = b;
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
    int inregions = 0;
    for (int r = 0; r < eg->nregions; r++) {
        const fl_region *rg = &eg->regions[r];
        for (int k = 0; k < rg->n; k++, inregions++)
            if (rg->x[k]->region != r || rg->x[k]->attempt != rg->x[0]->attempt) {
                fl_err_set(err, "execution %d.%d in region %d: it names region %d, attempt "
                           "%d where the region's first has %d", rg->x[k]->vertex,
                           rg->x[k]->subtask, r, rg->x[k]->region, rg->x[k]->attempt,
                           rg->x[0]->attempt);
                return -1;
            }
    }
    if (inregions != eg->ntasks) {
        fl_err_set(err, "%d executions in regions, ntasks says %d", inregions, eg->ntasks);
        return -1;
    }
    check_links cl = {0, NULL, NULL};
    for_each_link((fl_exec_graph *)eg, eg->g, check_link, &cl);
    if (cl.bad) {
        fl_err_set(err, "a data edge joins %d.%d (region %d) and %d.%d (region %d)",
                   cl.a->vertex, cl.a->subtask, cl.a->region, cl.b->vertex, cl.b->subtask,
                   cl.b->region);
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
