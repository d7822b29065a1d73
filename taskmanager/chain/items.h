/* items.h -- operator state (Flink's ListState of operator state): a list of byte items
 * per operator instance, snapshotted with the checkpoint and dealt round robin over the
 * subtasks when a job is restored at another parallelism (a subtask keeps its own at the
 * same parallelism). Sources keep their positions in it, sinks their pending transactions,
 * the watermark assigner its position. The task thread fills the items; the snapshot I/O
 * thread reads and frees them.
 */
#ifndef FL_CHAIN_ITEMS_H
#define FL_CHAIN_ITEMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl_items {
    uint8_t **v;
    size_t *len;
    int n, cap;
} fl_items;

/* Appends a copy of len bytes. */
void fl_items_add(fl_items *it, const void *data, size_t len);
/* Frees every item; the list is empty and reusable after. */
void fl_items_clear(fl_items *it);

#endif
