/* exception_history.c -- see exception_history.h. */
#include "exception_history.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void fl_exc_history_init(fl_exc_history *h, int cap)
{
    memset(h, 0, sizeof *h);
    h->cap = cap > 0 ? cap : 1;
    h->e = fl_xcalloc((size_t)h->cap, sizeof *h->e);
}

static void entry_free(fl_exc_entry *e)
{
    free(e->name);
    free(e->text);
    free(e->task);
    free(e->location);
    free(e->tm_id);
    memset(e, 0, sizeof *e);
}

void fl_exc_history_destroy(fl_exc_history *h)
{
    for (int i = 0; h->e && i < h->cap; i++)
        entry_free(&h->e[i]);
    free(h->e);
    memset(h, 0, sizeof *h);
}

/* The exception's name: a leading identifier ending in Exception or Error before a ':'
 * ("NoResourceAvailableException: ..."), else what kind of failure it was. */
static char *exception_name(const char *cause, bool task)
{
    size_t n = strspn(cause, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$");
    if (n && cause[n] == ':' &&
        ((n >= 9 && !strncmp(cause + n - 9, "Exception", 9)) ||
         (n >= 5 && !strncmp(cause + n - 5, "Error", 5))))
        return fl_xasprintf("%.*s", (int)n, cause);
    return fl_xstrdup(task ? "TaskFailure" : "JobFailure");
}

void fl_exc_history_add(fl_exc_history *h, int64_t ts, const char *cause, const char *task,
                        const char *location, const char *tm_id)
{
    if (!h->e)
        return;
    fl_exc_entry *e = &h->e[h->next];
    entry_free(e);
    e->ts = ts;
    e->name = exception_name(cause, task != NULL);
    e->text = fl_xstrdup(cause);
    e->task = task ? fl_xstrdup(task) : NULL;
    e->location = location ? fl_xstrdup(location) : NULL;
    e->tm_id = tm_id ? fl_xstrdup(tm_id) : NULL;
    h->next = (h->next + 1) % h->cap;
    if (h->n < h->cap)
        h->n++;
    h->total++;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *fl_exc_history_json(const fl_exc_history *h)
{
    json_t *arr = json_array();
    for (int k = 1; k <= h->n; k++) {
        const fl_exc_entry *e = &h->e[(h->next - k + h->cap) % h->cap];
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:{}, s:[]}", "exceptionName",
                           e->name, "stacktrace", e->text, "timestamp", (json_int_t)e->ts,
                           "taskName", str_or_null(e->task), "location",
                           str_or_null(e->location), "taskManagerId", str_or_null(e->tm_id),
                           "failureLabels", "concurrentExceptions"));
    }
    return json_pack("{s:o, s:b}", "entries", arr, "truncated", h->total > h->n);
}
