/* restart.h -- restart strategies (Flink's): none, fixed-delay, exponential-delay,
 * failure-rate, configured by the restart-strategy.* keys. Without a type configured the
 * default is none, or exponential-delay when checkpointing is on. One JobMaster thread. */
#ifndef FL_RESTART_H
#define FL_RESTART_H

#include <stdint.h>

#include "common/config.h"

typedef struct fl_restart fl_restart;

fl_restart *fl_restart_new(const fl_conf *job_conf);
void fl_restart_free(fl_restart *r);
/* A failure happened at now_ms: the delay (ms) before restarting, or -1 when the strategy
 * gives up and the job fails. running_since_ms: when the job last started running. */
int64_t fl_restart_next(fl_restart *r, int64_t now_ms, int64_t running_since_ms);
/* e.g. "fixed-delay (3 attempts, 1000 ms delay)" */
const char *fl_restart_describe(const fl_restart *r);

#endif
