/* restart.c -- see restart.h. */
#include "restart.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum fl_restart_type { RS_NONE, RS_FIXED, RS_EXPONENTIAL, RS_FAILURE_RATE } fl_restart_type;

struct fl_restart {
    fl_restart_type type;
    char desc[160];
    /* fixed-delay */
    int64_t attempts, delay_ms;
    /* exponential-delay */
    int64_t initial_ms, max_ms, reset_ms, max_attempts;
    double multiplier, jitter;
    int64_t current_ms;
    /* failure-rate */
    int64_t max_failures, interval_ms;
    int64_t *failures; /* ring of failure times */
    int64_t nfail;
    /* all */
    int64_t restarts;
};

fl_restart *fl_restart_new(const fl_conf *conf)
{
    fl_restart *r = fl_xcalloc(1, sizeof *r);
    const char *t = fl_conf_get_str(conf, "restart-strategy.type");
    if (!t)
        t = fl_conf_contains(conf, "execution.checkpointing.interval") ? "exponential-delay"
                                                                         : "none";
    if (!strcmp(t, "fixed-delay") || !strcmp(t, "fixeddelay")) {
        r->type = RS_FIXED;
        r->attempts = fl_conf_get_int(conf, "restart-strategy.fixed-delay.attempts");
        r->delay_ms = fl_conf_get_duration_ms(conf, "restart-strategy.fixed-delay.delay");
        snprintf(r->desc, sizeof r->desc, "fixed-delay (%lld attempts, %lld ms delay)",
                 (long long)r->attempts, (long long)r->delay_ms);
    } else if (!strcmp(t, "exponential-delay") || !strcmp(t, "exponentialdelay")) {
        r->type = RS_EXPONENTIAL;
        r->initial_ms = fl_conf_get_duration_ms(conf, "restart-strategy.exponential-delay.initial-backoff");
        r->max_ms = fl_conf_get_duration_ms(conf, "restart-strategy.exponential-delay.max-backoff");
        r->multiplier = fl_conf_get_double(conf, "restart-strategy.exponential-delay.backoff-multiplier");
        r->reset_ms = fl_conf_get_duration_ms(conf, "restart-strategy.exponential-delay.reset-backoff-threshold");
        r->jitter = fl_conf_get_double(conf, "restart-strategy.exponential-delay.jitter-factor");
        r->max_attempts = fl_conf_get_int(conf, "restart-strategy.exponential-delay.attempts-before-reset-backoff");
        if (r->multiplier < 1)
            r->multiplier = 1;
        snprintf(r->desc, sizeof r->desc,
                 "exponential-delay (initial %lld ms, max %lld ms, multiplier %.2f)",
                 (long long)r->initial_ms, (long long)r->max_ms, r->multiplier);
    } else if (!strcmp(t, "failure-rate") || !strcmp(t, "failurerate")) {
        r->type = RS_FAILURE_RATE;
        r->max_failures = FL_MAX(1, fl_conf_get_int(conf, "restart-strategy.failure-rate.max-failures-per-interval"));
        r->interval_ms = fl_conf_get_duration_ms(conf, "restart-strategy.failure-rate.failure-rate-interval");
        r->delay_ms = fl_conf_get_duration_ms(conf, "restart-strategy.failure-rate.delay");
        r->failures = fl_xcalloc((size_t)r->max_failures + 1, sizeof *r->failures);
        snprintf(r->desc, sizeof r->desc,
                 "failure-rate (%lld failures per %lld ms, %lld ms delay)",
                 (long long)r->max_failures, (long long)r->interval_ms, (long long)r->delay_ms);
    } else {
        r->type = RS_NONE;
        snprintf(r->desc, sizeof r->desc, "none (no restarts)");
    }
    return r;
}

void fl_restart_free(fl_restart *r)
{
    if (!r)
        return;
    free(r->failures);
    free(r);
}

const char *fl_restart_describe(const fl_restart *r)
{
    return r->desc;
}

int64_t fl_restart_next(fl_restart *r, int64_t now, int64_t running_since)
{
    switch (r->type) {
    case RS_FIXED:
        if (r->restarts >= r->attempts)
            return -1;
        r->restarts++;
        return r->delay_ms;
    case RS_EXPONENTIAL: {
        if (r->current_ms && now - running_since >= r->reset_ms) {
            r->current_ms = 0; /* ran long enough: start over */
            r->restarts = 0;
        }
        if (r->restarts >= r->max_attempts)
            return -1;
        r->restarts++;
        int64_t d = r->current_ms ? (int64_t)((double)r->current_ms * r->multiplier)
                                  : r->initial_ms;
        if (d > r->max_ms)
            d = r->max_ms;
        r->current_ms = d;
        double j = ((double)(rand() % 2001) / 1000.0 - 1.0) * r->jitter;
        return (int64_t)((double)d * (1.0 + j));
    }
    case RS_FAILURE_RATE: {
        /* keep the failure times inside the interval; too many -> give up */
        int64_t kept = 0;
        for (int64_t i = 0; i < r->nfail; i++)
            if (now - r->failures[i] < r->interval_ms)
                r->failures[kept++] = r->failures[i];
        r->nfail = kept;
        if (r->nfail >= r->max_failures)
            return -1;
        r->failures[r->nfail++] = now;
        r->restarts++;
        return r->delay_ms;
    }
    case RS_NONE:
        break;
    }
    return -1;
}
