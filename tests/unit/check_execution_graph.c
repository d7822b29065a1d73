/* check_execution_graph.c -- unit tests of jobmanager/execution_graph.c: the pipelined
 * regions that region failover restarts (two independent pipelines, forward-only jobs where
 * each subtask chain is a region, all-to-all joining everything, rescale in both
 * directions), random graphs against a reference that enumerates every producer/consumer
 * pair of every edge and floods the pairs (breadth-first search), a region's restart
 * touching no other region, and the graph's invariant checker (fl_eg_validate) after
 * every transition.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "jobmanager/execution_graph.h"
#include "testgraph.h"
#include "testutil.h"

static void eg_of(fl_exec_graph *eg, graph *gr)
{
    fl_err err;
    ck_assert_msg(fl_eg_init(eg, &gr->g, &err) == 0, "%s", err.msg);
    ck_assert_msg(fl_eg_validate(eg, &err) == 0, "%s", err.msg);
}

/* The region of subtask i of vertex vi. */
static int region(fl_exec_graph *eg, int vi, int i)
{
    return fl_eg_exec(eg, vi, i)->region;
}

/* ---- the reference: every pair of every edge, flooded ---------------------------------- */

static bool linked(int part, int P, int C, int j, int i)
{
    bool pw = part == FL__PB__PARTITIONER__PART_FORWARD ||
              part == FL__PB__PARTITIONER__PART_RESCALE;
    if (!pw)
        return true;
    /* the gate rule: consumer i reads producer j */
    return P >= C ? (long long)j * C / P == i : (long long)i * P / C == j;
}

/* comp[flat index] = the smallest flat index reachable from it. */
static void reference(graph *gr, int *comp, int n)
{
    int base[TG_MAXV], nv = (int)gr->g.n_vertices, *queue = malloc(sizeof(int) * (size_t)n);
    for (int vi = 0, k = 0; vi < nv; k += gr->v[vi].parallelism, vi++)
        base[vi] = k;
    for (int k = 0; k < n; k++)
        comp[k] = -1;
    for (int start = 0; start < n; start++) {
        if (comp[start] >= 0)
            continue;
        int head = 0, tail = 0;
        queue[tail++] = start;
        comp[start] = start;
        while (head < tail) {
            int k = queue[head++], vk = 0;
            while (vk + 1 < nv && base[vk + 1] <= k)
                vk++;
            int sk = k - base[vk];
            for (int vi = 0; vi < nv; vi++)
                for (size_t e = 0; e < gr->v[vi].n_inputs; e++) {
                    int ui = gr->v[vi].inputs[e]->source_vertex;
                    int part = gr->v[ui].outputs[gr->v[vi].inputs[e]->source_output]->partitioner;
                    int P = gr->v[ui].parallelism, C = gr->v[vi].parallelism;
                    if (ui == vk) /* k produces for vi */
                        for (int i = 0; i < C; i++)
                            if (linked(part, P, C, sk, i) && comp[base[vi] + i] < 0) {
                                comp[base[vi] + i] = start;
                                queue[tail++] = base[vi] + i;
                            }
                    if (vi == vk) /* k consumes from ui */
                        for (int j = 0; j < P; j++)
                            if (linked(part, P, C, j, sk) && comp[base[ui] + j] < 0) {
                                comp[base[ui] + j] = start;
                                queue[tail++] = base[ui] + j;
                            }
                }
        }
    }
    free(queue);
}

/* The regions of eg equal the reference's components: same region iff same component. */
static void check_against_reference(graph *gr, fl_exec_graph *eg)
{
    int n = eg->ntasks, *comp = malloc(sizeof(int) * (size_t)n);
    int *rg = malloc(sizeof(int) * (size_t)n);
    reference(gr, comp, n);
    int k = 0, ncomp = 0;
    for (int vi = 0; vi < eg->nv; vi++)
        for (int i = 0; i < eg->v[vi].jv->parallelism; i++, k++)
            rg[k] = region(eg, vi, i);
    for (k = 0; k < n; k++) {
        ncomp += comp[k] == k;
        for (int m = k + 1; m < n; m++)
            ck_assert_msg((comp[k] == comp[m]) == (rg[k] == rg[m]),
                          "executions %d and %d: reference %s, regions %d and %d", k, m,
                          comp[k] == comp[m] ? "joined" : "apart", rg[k], rg[m]);
    }
    ck_assert_int_eq(eg->nregions, ncomp);
    free(comp);
    free(rg);
}

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(two_independent_pipelines)
{
    graph gr;
    graph_init(&gr);
    int a = vertex(&gr, 2), b = vertex(&gr, 3), c = vertex(&gr, 1), d = vertex(&gr, 1);
    edge(&gr, a, b, FL__PB__PARTITIONER__PART_HASH);
    edge(&gr, c, d, FL__PB__PARTITIONER__PART_FORWARD);
    fl_exec_graph eg;
    eg_of(&eg, &gr);
    ck_assert_int_eq(eg.nregions, 2);
    ck_assert_int_eq(eg.regions[0].n, 5);
    ck_assert_int_eq(eg.regions[1].n, 2);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(region(&eg, b, i), region(&eg, a, 0));
    ck_assert_int_eq(region(&eg, c, 0), region(&eg, d, 0));
    ck_assert_int_ne(region(&eg, c, 0), region(&eg, a, 0));
    check_against_reference(&gr, &eg);
    fl_eg_destroy(&eg);
}
END_TEST

START_TEST(forward_only_one_region_per_subtask_chain)
{
    graph gr;
    graph_init(&gr);
    int src = vertex(&gr, 4), map = vertex(&gr, 4), sink = vertex(&gr, 4);
    edge(&gr, src, map, FL__PB__PARTITIONER__PART_FORWARD);
    edge(&gr, map, sink, FL__PB__PARTITIONER__PART_FORWARD);
    fl_exec_graph eg;
    eg_of(&eg, &gr);
    ck_assert_int_eq(eg.nregions, 4);
    for (int r = 0; r < 4; r++) {
        ck_assert_int_eq(eg.regions[r].n, 3);
        for (int k = 0; k < 3; k++) /* (vertex, subtask) order */
            ck_assert(eg.regions[r].x[k] == fl_eg_exec(&eg, k, r));
    }
    check_against_reference(&gr, &eg);
    fl_eg_destroy(&eg);
}
END_TEST

START_TEST(all_to_all_joins_everything)
{
    graph gr;
    graph_init(&gr);
    int src = vertex(&gr, 4), map = vertex(&gr, 4), sink = vertex(&gr, 2);
    edge(&gr, src, map, FL__PB__PARTITIONER__PART_FORWARD);
    edge(&gr, map, sink, FL__PB__PARTITIONER__PART_REBALANCE);
    fl_exec_graph eg;
    eg_of(&eg, &gr);
    ck_assert_int_eq(eg.nregions, 1);
    ck_assert_int_eq(eg.regions[0].n, 10);
    fl_eg_destroy(&eg);
}
END_TEST

START_TEST(rescale_both_ways)
{
    graph gr;
    graph_init(&gr);
    int a = vertex(&gr, 4), b = vertex(&gr, 2), c = vertex(&gr, 2), d = vertex(&gr, 6);
    edge(&gr, a, b, FL__PB__PARTITIONER__PART_RESCALE); /* 4 -> 2 */
    edge(&gr, c, d, FL__PB__PARTITIONER__PART_RESCALE); /* 2 -> 6 */
    fl_exec_graph eg;
    eg_of(&eg, &gr);
    ck_assert_int_eq(eg.nregions, 4);
    ck_assert_int_eq(region(&eg, a, 0), region(&eg, b, 0));
    ck_assert_int_eq(region(&eg, a, 1), region(&eg, b, 0));
    ck_assert_int_eq(region(&eg, a, 2), region(&eg, b, 1));
    ck_assert_int_ne(region(&eg, b, 0), region(&eg, b, 1));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(region(&eg, d, i), region(&eg, c, 0));
        ck_assert_int_eq(region(&eg, d, 3 + i), region(&eg, c, 1));
    }
    check_against_reference(&gr, &eg);
    fl_eg_destroy(&eg);
}
END_TEST

START_TEST(random_graphs_match_the_reference)
{
    static const Fl__Pb__Partitioner parts[] = {
        FL__PB__PARTITIONER__PART_FORWARD, FL__PB__PARTITIONER__PART_RESCALE,
        FL__PB__PARTITIONER__PART_HASH, FL__PB__PARTITIONER__PART_BROADCAST};
    srand(7);
    for (int round = 0; round < 300; round++) {
        graph gr;
        graph_init(&gr);
        int nv = 1 + rand() % 6;
        for (int vi = 0; vi < nv; vi++) {
            vertex(&gr, 1 + rand() % 7);
            for (int k = 0; k < 2 && vi > 0; k++)
                if (rand() % 3) {
                    int from = rand() % vi;
                    /* mostly pointwise: that is where regions stay apart */
                    int p = rand() % 10 < 8 ? rand() % 2 : 2 + rand() % 2;
                    if (gr.v[from].n_outputs < 4 && gr.v[vi].n_inputs < 2)
                        edge(&gr, from, vi, parts[p]);
                }
        }
        fl_exec_graph eg;
        eg_of(&eg, &gr);
        check_against_reference(&gr, &eg);
        fl_eg_destroy(&eg);
    }
}
END_TEST

START_TEST(a_region_restarts_alone)
{
    graph gr;
    graph_init(&gr);
    int src = vertex(&gr, 4), sink = vertex(&gr, 4);
    edge(&gr, src, sink, FL__PB__PARTITIONER__PART_FORWARD);
    fl_exec_graph eg;
    fl_err err;
    eg_of(&eg, &gr);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 4; i++) {
            fl_eg_set_state(&eg, fl_eg_exec(&eg, vi, i), FL_TASK_RUNNING);
            ck_assert_msg(fl_eg_validate(&eg, &err) == 0, "%s", err.msg);
        }
    ck_assert(fl_eg_all_running(&eg));
    int r = region(&eg, src, 2);
    fl_eg_set_state(&eg, fl_eg_exec(&eg, sink, 2), FL_TASK_FAILED);
    ck_assert(!fl_eg_region_terminal(&eg, r));
    fl_eg_set_state(&eg, fl_eg_exec(&eg, src, 2), FL_TASK_CANCELED);
    ck_assert(fl_eg_region_terminal(&eg, r));
    ck_assert_msg(fl_eg_validate(&eg, &err) == 0, "%s", err.msg);
    fl_eg_reset_region(&eg, r, 1);
    ck_assert_msg(fl_eg_validate(&eg, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(fl_eg_count(&eg, FL_TASK_CREATED), 2);
    ck_assert_int_eq(fl_eg_count(&eg, FL_TASK_RUNNING), 6);
    for (int vi = 0; vi < 2; vi++)
        for (int i = 0; i < 4; i++) {
            const fl_exec *x = fl_eg_exec(&eg, vi, i);
            ck_assert_int_eq(x->attempt, i == 2 ? 1 : 0);
            ck_assert_int_eq(x->vertex, vi);
            ck_assert_int_eq(x->subtask, i);
            ck_assert_int_eq(x->slot, i); /* the same slot again */
        }
    /* a broken invariant is named: an execution at another attempt than its region */
    fl_eg_exec(&eg, sink, 2)->attempt = 5;
    ck_assert_int_eq(fl_eg_validate(&eg, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "attempt"));
    fl_eg_destroy(&eg);
}
END_TEST

static Suite *eg_suite(void)
{
    Suite *s = suite_create("execution_graph");
    TCase *tc = tcase_create("regions");
    tcase_add_test(tc, two_independent_pipelines);
    tcase_add_test(tc, forward_only_one_region_per_subtask_chain);
    tcase_add_test(tc, all_to_all_joins_everything);
    tcase_add_test(tc, rescale_both_ways);
    tcase_add_test(tc, random_graphs_match_the_reference);
    tcase_add_test(tc, a_region_restarts_alone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(eg_suite());
}
