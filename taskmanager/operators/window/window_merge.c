/* window_merge.c -- merging (session) windows: the current key's set of windows (Flink's
 * MergingWindowSet, kept in "window-merging" with the state window whose namespace holds
 * each window's contents) and the merge itself: the trigger is told, the merged windows'
 * trigger state and clean-up timers go, and the smaller sessions' contents move into the
 * survivor's. window.c calls it for every element and timer of a session window operator.
 * Task thread only.
 */
#include "common/util.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- merging windows (Flink's MergingWindowSet) ------------------------------------ */

void fl_window_map_room(wop *w, uint32_t n)
{
    if (n <= w->mapcap)
        return;
    w->mapcap = n * 2 + 8;
    w->map = fl_xrealloc(w->map, w->mapcap * sizeof *w->map);
    w->map2 = fl_xrealloc(w->map2, w->mapcap * sizeof *w->map2);
    w->cand = fl_xrealloc(w->cand, w->mapcap * sizeof *w->cand);
    w->mw = fl_xrealloc(w->mw, w->mapcap * sizeof *w->mw);
    w->ms = fl_xrealloc(w->ms, w->mapcap * sizeof *w->ms);
}

void fl_window_map_load(fl_op *op, wop *w)
{
    const void *v;
    uint32_t len;
    w->nmap = 0;
    w->map_dirty = false;
    if (!op->ctx.kb->ops->get(w->mapping, NULL, 0, &v, &len))
        return;
    uint32_t n = len / (uint32_t)sizeof(merge_ent);
    fl_window_map_room(w, n + 1);
    memcpy(w->map, v, n * sizeof(merge_ent));
    w->nmap = n;
}

void fl_window_map_persist(fl_op *op, wop *w)
{
    fl_kbackend *kb = op->ctx.kb;
    if (!w->map_dirty)
        return;
    if (w->nmap)
        kb->ops->put(w->mapping, NULL, 0, w->map, w->nmap * (uint32_t)sizeof(merge_ent));
    else
        kb->ops->remove(w->mapping, NULL, 0);
    w->map_dirty = false;
}

/* retireWindow: win leaves the key's merging set (its contents are not touched). */
void fl_window_map_retire(wop *w, const fl_window *win)
{
    for (uint32_t i = 0; i < w->nmap; i++)
        if (same_window(&w->map[i].w, win)) {
            w->map[i] = w->map[--w->nmap];
            w->map_dirty = true;
            return;
        }
}

static int cand_cmp(const void *a, const void *b)
{
    const fl_window *x = &((const struct cand *)a)->w, *y = &((const struct cand *)b)->w;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The merge callback: n existing windows mw (state windows ms, ms[0] the survivor) become
 * cover. */
static void merge_windows(fl_op *op, wop *w, const fl_window *cover, int n)
{
    fl_trigger_ctx tc;
    if (w->event_time && cleanup_time(w, cover) <= op->watermark) {
        fl_op_fail(op, "%s: merging made window [%lld, %lld) end before the "
                       "current watermark %lld",
                   op->ctx.name, (long long)cover->start, (long long)cover->end,
                   (long long)op->watermark);
        return;
    }
    trigger_ctx_init(&tc, op, cover);
    fl_window_trigger_merge(op, w, &tc, w->mw, n);
    for (int i = 0; i < n; i++) {
        trigger_ctx_init(&tc, op, &w->mw[i]);
        fl_window_trigger_clear(op, w, &tc);
        cleanup_timer(op, w, &w->mw[i], tc.ns, false);
    }
    /* the state windows that are not the survivor's */
    fl_window target = w->ms[0];
    int k = 0;
    for (int i = 1; i < n; i++)
        if (!same_window(&w->ms[i], &target))
            w->ms[k++] = w->ms[i];
    fl_window_contents_merge(op, w, &target, w->ms, k);
}

/* MergingWindowSet.addWindow: adds nw to the key's set (w->map), merging what it
 * overlaps (windows that touch merge too: [a, b) and [b, c) intersect, as in Flink);
 * returns the window nw ended up in. */
fl_window fl_window_map_add(fl_op *op, wop *w, const fl_window *nw)
{
    const merge_ent *same = mergeset_find(w, nw);
    if (same)
        return same->w;
    uint32_t n = w->nmap + 1;
    fl_window_map_room(w, n);
    for (uint32_t i = 0; i < w->nmap; i++)
        w->cand[i] = (struct cand){w->map[i].w, (int)i};
    w->cand[w->nmap] = (struct cand){*nw, -1};
    qsort(w->cand, n, sizeof *w->cand, cand_cmp);
    fl_window result = *nw;
    w->nmap2 = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        fl_window cover = w->cand[i].w;
        while (j + 1 < n && cover.end >= w->cand[j + 1].w.start) {
            j++;
            if (w->cand[j].w.end > cover.end)
                cover.end = w->cand[j].w.end;
        }
        if (j == i) { /* alone: kept as it is, or the new window by itself */
            const struct cand *c = &w->cand[i];
            w->map2[w->nmap2++] = c->idx < 0 ? (merge_ent){*nw, *nw} : w->map[c->idx];
            i = j + 1;
            continue;
        }
        int k = 0;
        bool has_new = false;
        for (uint32_t x = i; x <= j; x++) {
            if (w->cand[x].idx < 0) {
                has_new = true;
                continue;
            }
            w->mw[k] = w->map[w->cand[x].idx].w;
            w->ms[k++] = w->map[w->cand[x].idx].state;
        }
        if (has_new)
            result = cover;
        w->map2[w->nmap2++] = (merge_ent){cover, w->ms[0]};
        /* one existing window that already covers the new one: nothing merges */
        if (!(k == 1 && same_window(&w->mw[0], &cover)))
            merge_windows(op, w, &cover, k);
        i = j + 1;
    }
    merge_ent *t = w->map;
    w->map = w->map2;
    w->map2 = t;
    w->nmap = w->nmap2;
    w->map_dirty = true;
    return result;
}

