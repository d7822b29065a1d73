/* timers.h -- the timer service of a keyed operator (Flink's InternalTimerService).
 *
 * Timers are (time domain, timestamp, key, namespace); registering one that exists is a
 * no-op, deleting one that does not is a no-op. Event-time timers fire when the watermark
 * reaches them, processing-time timers when the wall clock does, earliest first. Each
 * timer remembers its key group, so timers are snapshotted and restored per key group
 * with the rest of the keyed state. One task thread.
 */
#ifndef FL_CHAIN_TIMERS_H
#define FL_CHAIN_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fl_timer_domain { FL_TIMER_EVENT = 0, FL_TIMER_PROCESSING = 1 } fl_timer_domain;

typedef struct fl_timer {
    fl_timer_domain domain;
    int64_t time;
    const uint8_t *key;
    uint32_t klen;
    const uint8_t *ns;
    uint32_t nslen;
    int kg;
} fl_timer;

typedef struct fl_timers fl_timers;

fl_timers *fl_timers_new(void);
void fl_timers_free(fl_timers *ts);
void fl_timers_register(fl_timers *ts, fl_timer_domain domain, int64_t time, const void *key,
                        uint32_t klen, int kg, const void *ns, uint32_t nslen);
void fl_timers_delete(fl_timers *ts, fl_timer_domain domain, int64_t time, const void *key,
                      uint32_t klen, const void *ns, uint32_t nslen);
/* The earliest live timer of domain with time <= limit, removed and returned in *out (its
 * key and namespace stay valid until the next pop). false when there is none. */
bool fl_timers_pop(fl_timers *ts, fl_timer_domain domain, int64_t limit, fl_timer *out);
/* The k-th timer after the next pop of domain (0: the one the next pop returns, unless it
 * was deleted), for prefetch hints; false when there is none queued at that time. */
bool fl_timers_peek(fl_timers *ts, fl_timer_domain domain, uint32_t k, fl_timer *out);
/* The earliest live timer's time of domain, or INT64_MAX. */
int64_t fl_timers_next(fl_timers *ts, fl_timer_domain domain);
/* Live timers, for snapshots and tests. */
uint32_t fl_timers_count(const fl_timers *ts);
/* Snapshot: every live timer with its key group ([u32 n] then per timer [i32 kg][u32 len]
 * [identity]); *out is the caller's. */
void fl_timers_serialize(fl_timers *ts, uint8_t **out, size_t *len);
/* Restores the timers of key groups [kg_first, kg_last] from a snapshot; -1 if damaged. */
int fl_timers_restore(fl_timers *ts, const uint8_t *data, size_t len, int kg_first, int kg_last);

#endif
