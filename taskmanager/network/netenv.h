/* netenv.h -- the network environment of a TaskManager (DESIGN.md §4): buffer pool, result
 * partitions, input gates, the data server and the connections to other TaskManagers. */
#ifndef FL_NETENV_H
#define FL_NETENV_H

#include "config.h"
#include "err.h"

typedef struct fl_netenv fl_netenv;

fl_netenv *fl_netenv_new(const fl_conf *conf, fl_err *err);
int fl_netenv_listen(fl_netenv *net, const char *bind_host, int port, int *bound_port, fl_err *err);
int fl_netenv_start(fl_netenv *net, fl_err *err);
void fl_netenv_free(fl_netenv *net);

#endif
