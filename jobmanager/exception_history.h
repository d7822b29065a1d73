/* exception_history.h -- a job's failures as Flink's exceptionHistory shows them (issue 12,
 * GET /jobs/:jobid/exceptions): every task failure and every job-wide failure (a slot
 * timeout, too many failed checkpoints), with when, which subtask, where, the exception's
 * name and its text. At most web.exception-history-size entries are kept, the oldest
 * dropped first. JobMaster thread; a failure, not a record, costs an entry.
 */
#ifndef FL_EXCEPTION_HISTORY_H
#define FL_EXCEPTION_HISTORY_H

#include <jansson.h>
#include <stdint.h>

typedef struct fl_exc_entry {
    int64_t ts;        /* wall-clock ms */
    char *name;        /* exceptionName: the cause's leading "XxxException:", or a kind */
    char *text;        /* the cause as reported (Flink's stacktrace) */
    char *task;        /* "vertex (i/p)", NULL for a job-wide failure */
    char *location;    /* "host:port" of the TaskManager, NULL for a job-wide failure */
    char *tm_id;
} fl_exc_entry;

typedef struct fl_exc_history {
    fl_exc_entry *e; /* a ring of cap */
    int cap, n, next;
    int64_t total;   /* recorded ever: more than n means truncated */
} fl_exc_history;

void fl_exc_history_init(fl_exc_history *h, int cap);
void fl_exc_history_destroy(fl_exc_history *h);
/* Records a failure (task, location, tm_id may be NULL). */
void fl_exc_history_add(fl_exc_history *h, int64_t ts, const char *cause, const char *task,
                        const char *location, const char *tm_id);
/* Flink's {"entries":[...newest first], "truncated":bool}. */
json_t *fl_exc_history_json(const fl_exc_history *h);

#endif
