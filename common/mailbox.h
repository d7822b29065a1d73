/* mailbox.h -- how threads talk to a component they do not own (DESIGN.md §3).
 *
 * A mailbox is a locked FIFO of mails; a mail is a function and its argument, run on the
 * owner's thread with the owner's context. Any thread may post; only the owner runs them.
 * Mails from one poster run in the order they were posted. The owner learns that mail is
 * waiting through an eventfd (fl_mailbox_fd), which an event loop or poll() can wait on,
 * so nobody busy-waits. An fl_endpoint is the usual owner: a thread running a libevent
 * loop that drains its mailbox (Flink's RpcEndpoint); Tasks use a bare mailbox and poll.
 *
 * Posting allocates one small node: mailboxes are for control messages, never per record.
 */
#ifndef FL_MAILBOX_H
#define FL_MAILBOX_H

#include <stdbool.h>

#include "err.h"

struct event_base;

typedef void (*fl_mail_fn)(void *ctx, void *arg);
typedef void (*fl_free_fn)(void *arg);

typedef struct fl_mailbox fl_mailbox;

fl_mailbox *fl_mailbox_new(void);
/* Closes, drops pending mails (calling their drop functions) and frees. NULL is a no-op. */
void fl_mailbox_free(fl_mailbox *mb);
/* Queues fn(ctx, arg). Takes ownership of arg: if the mailbox is closed, drop(arg) is called
 * (when drop is not NULL) and -1 returned. Any thread. */
int fl_mailbox_post(fl_mailbox *mb, fl_mail_fn fn, void *arg, fl_free_fn drop);
/* Runs every mail queued so far with ctx; returns how many ran. Owner thread only. */
int fl_mailbox_run(fl_mailbox *mb, void *ctx);
/* Readable while mail is pending (cleared by fl_mailbox_run). */
int fl_mailbox_fd(const fl_mailbox *mb);
/* True when mail is pending; a cheap check with no lock, for polling loops. */
bool fl_mailbox_has_mail(fl_mailbox *mb);
/* Refuses further posts (they are dropped); pending mails can still be run. */
void fl_mailbox_close(fl_mailbox *mb);

/* ---- endpoints -------------------------------------------------------------------- */

typedef struct fl_endpoint fl_endpoint;

/* A component thread named `name` (shown in log lines, and as the thread's name to top -H,
 * perf and gdb: its first 15 characters). Set up events on its base before
 * fl_endpoint_start; afterwards touch them only from mails. */
fl_endpoint *fl_endpoint_new(const char *name);
/* Background work (before fl_endpoint_start): the thread runs at nice `nice` (> 0), so
 * that when the cores are busy the threads that carry records get them first. */
void fl_endpoint_set_nice(fl_endpoint *ep, int nice);
struct event_base *fl_endpoint_base(fl_endpoint *ep);
const char *fl_endpoint_name(const fl_endpoint *ep);
/* Starts the thread; mails then run with ctx. */
int fl_endpoint_start(fl_endpoint *ep, void *ctx, fl_err *err);
int fl_endpoint_post(fl_endpoint *ep, fl_mail_fn fn, void *arg, fl_free_fn drop);
/* True on the endpoint's own thread. */
bool fl_endpoint_in_thread(const fl_endpoint *ep);
/* Posts a stop, runs the mails queued before it, joins the thread. Later posts are dropped. */
void fl_endpoint_stop(fl_endpoint *ep);
/* Stops if running, frees the base and the mailbox. NULL is a no-op. */
void fl_endpoint_free(fl_endpoint *ep);

#endif
