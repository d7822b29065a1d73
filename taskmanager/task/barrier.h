/* barrier.h -- barrier alignment: what a task with inputs does with the checkpoint
 * barriers that arrive on its input channels (DESIGN.md §6; the protocol, its invariants
 * and transitions are in README.md here). The aligner knows channels by (gate, channel)
 * and decides; the task acts through fl_aligner_ops (block a channel, take the snapshot,
 * start or finish an unaligned checkpoint, decline), so the aligner runs the same under a
 * task and under its unit test. Task thread only.
 */
#ifndef FL_TASK_BARRIER_H
#define FL_TASK_BARRIER_H

#include <stdbool.h>
#include <stdint.h>

#include "task.h"

/* What alignment knows of one input channel for the checkpoint under way. Transitions,
 * with the function that performs each:
 *   WAITING   -> BLOCKED    its barrier came, exactly once: the channel is held
 *                           (fl_aligner_on_barrier)
 *   WAITING   -> ARRIVED    its barrier came, at least once (fl_aligner_on_barrier)
 *   WAITING   -> RECORDING  an unaligned checkpoint started before its barrier came: what
 *                           the channel delivers until then is channel state (start_unaligned)
 *   BLOCKED   -> ARRIVED    the alignment turned unaligned: the channel goes on (start_unaligned)
 *   RECORDING -> ARRIVED    its barrier came (fl_aligner_on_barrier)
 *   BLOCKED, ARRIVED -> WAITING   the checkpoint was taken or given up (release)
 *   any       -> FINISHED   END_OF_PARTITION (fl_aligner_on_end): a channel that ended
 *                           counts as arrived; FINISHED is final.
 */
typedef enum fl_align_chan {
    FL_ALIGN_WAITING = 0,
    FL_ALIGN_BLOCKED,
    FL_ALIGN_ARRIVED,
    FL_ALIGN_RECORDING,
    FL_ALIGN_FINISHED,
} fl_align_chan;

/* What the task does for the aligner; arg is fl_aligner.arg. */
typedef struct fl_aligner_ops {
    void (*block)(void *arg, int gate, int channel);
    void (*unblock)(void *arg, int gate, int channel);
    /* Every barrier of r is in (aligned): snapshot, then forward the barrier. */
    void (*checkpoint)(void *arg, const fl_ckpt_request *r);
    /* Snapshot now and send the barrier ahead of the output's queued data (r->unaligned);
     * an older unaligned checkpoint still recording is given up. false: declined. */
    bool (*start_unaligned)(void *arg, const fl_ckpt_request *r);
    /* Every channel delivered the unaligned checkpoint's barrier: its channel state is
     * complete. */
    void (*finish_unaligned)(void *arg);
    /* Checkpoint id is given up by this task. */
    void (*decline)(void *arg, int64_t id, const char *why);
} fl_aligner_ops;

typedef struct fl_aligner {
    const fl_aligner_ops *ops;
    void *arg;
    const char *name;         /* the task's, for the log */
    int ngates;
    int *nchannels;           /* per gate */
    fl_align_chan **chan;     /* per gate, per channel */
    int64_t id;               /* checkpoint being aligned (or recorded, unaligned); 0: none */
    fl_ckpt_request req;      /* ... its request, from its first barrier */
    int received, total;      /* aligned: channels arrived / open when it began */
    int64_t start_ns;         /* when the alignment began (0: taken by the snapshot) */
    int64_t unaligned_id;     /* an unaligned checkpoint recording channel state; 0: none */
    int recording;            /* ... channels still RECORDING */
    int64_t last;             /* the newest checkpoint taken part in, or given up */
    int64_t timeout_ms;       /* aligned-checkpoint-timeout (0: never turn unaligned) */
} fl_aligner;

/* ngates gates of nchannels[g] channels each, all WAITING (copied). */
void fl_aligner_init(fl_aligner *a, const fl_aligner_ops *ops, void *arg, const char *name,
                     int ngates, const int *nchannels, int64_t timeout_ms);
void fl_aligner_free(fl_aligner *a);

/* A barrier arrived on (gate, channel). -1 when its payload is corrupt. */
int fl_aligner_on_barrier(fl_aligner *a, int gate, int channel, const uint8_t *payload,
                          uint32_t len);
/* The channel delivered END_OF_PARTITION. */
void fl_aligner_on_end(fl_aligner *a, int gate, int channel);
/* A checkpoint triggered at this task (a source; no barrier came): taken at once. */
void fl_aligner_trigger(fl_aligner *a, const fl_ckpt_request *r);
/* An alignment older than timeout_ms at now_ns turns unaligned. */
void fl_aligner_check_timeout(fl_aligner *a, int64_t now_ns);

/* A record read from (gate, channel) belongs to the channel state of the unaligned
 * checkpoint under way. */
static inline bool fl_aligner_is_recording(const fl_aligner *a, int gate, int channel)
{
    return a->recording && a->chan[gate][channel] == FL_ALIGN_RECORDING;
}

/* The barrier of r in the network stream: i64 id, i64 ts, u8 flags (1 savepoint, 2 exactly
 * once, 4 unaligned), u16 len + dir, u16 len + shared dir. The length, or 0 when the two
 * directories do not fit cap bytes (the JobManager keeps them within FL_CKPT_DIR_MAX each:
 * this is the last line). */
uint32_t fl_barrier_encode(const fl_ckpt_request *r, uint8_t *out, size_t cap);
/* false when p does not hold a barrier. */
bool fl_barrier_decode(const uint8_t *p, uint32_t len, fl_ckpt_request *r);

#endif
