/* job_state.h -- task and job life-cycle states (Flink's ExecutionState and JobStatus),
 * shared by the JobMaster, the TaskExecutor and the REST API. */
#ifndef FL_JOB_STATE_H
#define FL_JOB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Task: DEPLOYING -> INITIALIZING -> RUNNING -> FINISHED | CANCELED | FAILED. */
typedef enum fl_task_state {
    FL_TASK_CREATED = 0,
    FL_TASK_SCHEDULED,
    FL_TASK_DEPLOYING,
    FL_TASK_INITIALIZING,
    FL_TASK_RUNNING,
    FL_TASK_FINISHED,
    FL_TASK_CANCELING,
    FL_TASK_CANCELED,
    FL_TASK_FAILED,
    FL_TASK_NSTATES
} fl_task_state;

/* Job: CREATED -> RUNNING -> FINISHED | FAILING -> RESTARTING -> RUNNING | CANCELLING ->
 * CANCELED | FAILED. */
typedef enum fl_job_state {
    FL_JOB_CREATED = 0,
    FL_JOB_RUNNING,
    FL_JOB_FAILING,
    FL_JOB_RESTARTING,
    FL_JOB_CANCELLING,
    FL_JOB_FINISHED,
    FL_JOB_CANCELED,
    FL_JOB_FAILED,
} fl_job_state;

static inline const char *fl_task_state_name(fl_task_state s)
{
    static const char *names[] = {"CREATED",  "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING",
                                  "FINISHED", "CANCELING", "CANCELED",  "FAILED"};
    return s >= 0 && s < FL_TASK_NSTATES ? names[s] : "UNKNOWN";
}

static inline bool fl_task_state_is_terminal(fl_task_state s)
{
    return s == FL_TASK_FINISHED || s == FL_TASK_CANCELED || s == FL_TASK_FAILED;
}

static inline const char *fl_job_state_name(fl_job_state s)
{
    static const char *names[] = {"CREATED",    "RUNNING",  "FAILING",  "RESTARTING",
                                  "CANCELLING", "FINISHED", "CANCELED", "FAILED"};
    return s >= 0 && s <= FL_JOB_FAILED ? names[s] : "UNKNOWN";
}

/* The id of the result partition that subtask `subtask` of vertex `vertex` writes for its
 * output `output` in attempt `attempt` of job `job` (registered by the producer, requested
 * by its consumers: both compute it). */
static inline void fl_partition_id(char *out, size_t len, const char *job, int attempt,
                                   int vertex, int subtask, int output)
{
    snprintf(out, len, "%s/%d/%d/%d/%d", job, attempt, vertex, subtask, output);
}

static inline bool fl_job_state_is_terminal(fl_job_state s)
{
    return s == FL_JOB_FINISHED || s == FL_JOB_CANCELED || s == FL_JOB_FAILED;
}

#endif
