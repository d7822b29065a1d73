/* netenv.h -- the network environment of a TaskManager (DESIGN.md §4): its buffer pool,
 * the registry of result partitions produced here, the data server on
 * taskmanager.data.port and one TCP connection to each TaskManager whose partitions are
 * consumed here, all driven by one thread ("network"). Tasks use it through network.h.
 */
#ifndef FL_NETENV_H
#define FL_NETENV_H

#include <stdint.h>

#include "common/auth.h"
#include "common/config.h"
#include "common/err.h"

typedef struct fl_netenv fl_netenv;

/* Sizes the buffer pool from conf (see buffer.h) and creates the network thread. */
fl_netenv *fl_netenv_new(const fl_conf *conf, fl_err *err);
/* Before fl_netenv_start: every data connection, accepted or opened, proves the cluster
 * secret first (auth.h). The port's bounds come from taskmanager.network.server.*. */
/* Internal TLS on every data connection (common/tls.h; NULL: plain TCP); the context must
 * outlive the network stack. Before fl_netenv_start. */
struct fl_tls;
void fl_netenv_set_tls(fl_netenv *net, struct fl_tls *tls);
void fl_netenv_set_secret(fl_netenv *net, const fl_secret *secret);
int fl_netenv_listen(fl_netenv *net, const char *bind_host, int port, int *bound_port,
                     fl_err *err);
int fl_netenv_start(fl_netenv *net, fl_err *err);
/* Closes every connection, fails the partitions still registered, frees the pool. */
void fl_netenv_free(fl_netenv *net);

/* Buffers of the TaskManager's pool: total, and not reserved by any task. */
int64_t fl_netenv_buffers_total(fl_netenv *net);
int64_t fl_netenv_buffers_available(fl_netenv *net);

#endif
