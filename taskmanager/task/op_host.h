/* op_host.h -- what a task does for each operator of its chain, open to one operator
 * alone: build it from its spec (the one switch over operator kinds, the state backends it
 * gets, its init), and take, write and restore its part of a checkpoint. The task calls
 * these for every operator (assemble.c, snapshot.c); the operator test harness
 * (tests/harness/) hosts a single operator with them, as Flink's operator test harnesses
 * do. Task thread, but for fl_op_snap_write (the snapshot I/O thread).
 */
#ifndef FL_TASK_OP_HOST_H
#define FL_TASK_OP_HOST_H

#include <stdint.h>

#include "common/err.h"
#include "taskmanager/chain/operator.h"
#include "taskmanager/state/keyed.h"

#include "proto/checkpoint.pb-c.h"

/* Makes op the operator of spec at position index of a chain whose task view is view: its
 * kind's table (the switch), fl_op_prepare, a keyed state backend (state.backend.type of
 * view->conf; a RocksDB one under tmp_dir) when it is keyed, a broadcast one when its kind
 * has broadcast state, then the kind's init. -1 with err; fl_op_release frees what was
 * made either way. */
int fl_op_assemble(fl_op *op, const Fl__Pb__OperatorSpec *spec, const fl_task_view *view,
                   int index, const char *tmp_dir, fl_err *err);

/* One operator's part of a checkpoint, from the task thread to the I/O thread. */
typedef struct fl_op_snap fl_op_snap;

/* Part 1 (task thread, short): captures op's keyed and broadcast state, timers and
 * operator state as of now, files named by sc->prefix. The result is the caller's
 * (fl_op_snap_free); NULL with err. */
fl_op_snap *fl_op_snapshot(fl_op *op, const fl_snapshot_ctx *sc, fl_err *err);
/* Part 2 (any one thread): writes the files and fills st with the handles (st points into
 * s: valid until fl_op_snap_free); adds the bytes written to *size. -1 with err. */
int fl_op_snap_write(fl_op_snap *s, Fl__Pb__OperatorSubtaskState *st, uint64_t *size,
                     fl_err *err);
void fl_op_snap_free(fl_op_snap *s); /* NULL is a no-op */

/* Restores op, before it is opened, from its state st in the checkpoint checkpoint_id
 * whose directory is checkpoint_dir (st as the JobMaster assigns it to this subtask: the
 * key groups' handles, its share of the operator state, the timers). -1 with err. */
int fl_op_restore(fl_op *op, const Fl__Pb__OperatorSubtaskState *st,
                  const char *checkpoint_dir, int64_t checkpoint_id, fl_err *err);

/* Installs the runtime's half of the bundle API in common/api (once per process; before
 * the first operator runs a user function). */
void fl_task_install_api(void);

#endif
