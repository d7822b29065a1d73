/* rest_budget.h -- the memory bound of the REST server's request bodies (rest.c's helper).
 *
 * evhttp keeps a request's whole body in memory before any handler runs, and bounds only
 * one body (evhttp_set_max_body_size: rest.server.max-content-length, a 413 as soon as
 * Content-Length or the data exceed it). This adds the bound over all connections
 * (rest.server.max-concurrent-content-length): every byte a REST connection receives counts
 * until its request is answered or the connection closes; a connection whose bytes would
 * take the total past the bound gets its body limit set to 0, so evhttp answers it 413 and
 * closes it, and the bytes are freed. After a large body is gone the heap is trimmed
 * (malloc_trim), so the JobManager's resident memory returns near where it was.
 *
 * Runs on the REST server's thread; the budget must outlive the evhttp it watches (free it
 * after evhttp_free, whose connection close callbacks it receives).
 */
#ifndef FL_REST_BUDGET_H
#define FL_REST_BUDGET_H

#include <stddef.h>

struct event_base;
struct evhttp;
struct evhttp_request;

typedef struct fl_rest_budget fl_rest_budget;

/* Watches every connection http accepts from now on (through evhttp_set_bevcb). */
/* tls: the REST server's TLS context (common/tls.h), NULL for plain HTTP: the budget makes
 * every connection's bufferevent, so it makes TLS ones too. */
struct fl_tls;
fl_rest_budget *fl_rest_budget_new(struct event_base *base, struct evhttp *http,
                                   size_t max_body, size_t max_total, struct fl_tls *tls);
/* req was answered: its connection's bytes no longer count. */
void fl_rest_budget_request_done(fl_rest_budget *b, struct evhttp_request *req);
/* Bytes counted right now. */
size_t fl_rest_budget_held(const fl_rest_budget *b);
void fl_rest_budget_free(fl_rest_budget *b);

#endif
