/* window.h -- the window operator (Flink's WindowOperator, DESIGN.md §5), a kind of the
 * operator contract (chain/operator.h) in a folder of its own: fl_window_ops, picked by the
 * task's switch for OP_WINDOW. The trigger context of custom triggers is in
 * window_trigger.h. How windows keep their state is written at the top of window.c. Task
 * thread only.
 */
#ifndef FL_WINDOW_H
#define FL_WINDOW_H

#include "taskmanager/chain/operator.h"

extern const fl_op_ops fl_window_ops;

/* Inspection, for tests and invariant checks. */
/* Late elements the window operator op dropped (no side output for late data). */
uint64_t fl_window_op_dropped(const fl_op *op);
/* Whether key has any state left for window w in the window operator op (contents,
 * trigger state, merging-set entry). */
bool fl_window_op_has_state(fl_op *op, const void *key, uint32_t klen, const fl_window *w);

#endif
