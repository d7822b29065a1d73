/* netaddr.h -- which address a daemon tells others (DESIGN.md §7, "Hosts").
 *
 * A daemon binds to its *.bind-host but must advertise an address the other hosts reach:
 * taskmanager.host when set, else the local address of its route to the JobManager (as
 * Flink's TaskManager does). Nothing a daemon tells another may be a loopback address
 * unless both are on one host; fl_host_is_loopback lets the receiving side check that
 * without a DNS lookup. Any thread; no state.
 */
#ifndef FL_NETADDR_H
#define FL_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The local address (numeric) this host uses to reach host:port: a UDP socket connected
 * there (no packet is sent) tells it. -1 with err when host does not resolve or there is no
 * route. */
int fl_route_address(const char *host, int port, char *out, size_t outlen, fl_err *err);

/* True for "localhost" (and its usual aliases), 127.0.0.0/8, ::1 and ::ffff:127.x. Names
 * are not resolved: a name other than the aliases is not loopback. */
bool fl_host_is_loopback(const char *host);

/* The host part of "host:port" or "[v6]:port" into out. */
void fl_peer_host(const char *peer, char *out, size_t outlen);

/* Resolves host (name or literal) for an IPv4/IPv6 TCP socket. 0 or -1 with err. */
struct sockaddr_storage;
struct sockaddr;
int fl_resolve(const char *host, int port, struct sockaddr_storage *ss, int *sslen, fl_err *err);
/* "ip:port" of a socket address. */
void fl_sockaddr_str(const struct sockaddr *sa, char *out, size_t outlen);

/* Every TCP connection between daemons (RPC and data plane): no Nagle, and TCP's
 * retransmission backoff capped at FL_TCP_RTO_MAX_MS where the kernel can (Linux 6.15's
 * TCP_RTO_MAX_MS; elsewhere nothing changes), so that after a partition heals every
 * connection is sending again within a second: uncapped, the next retransmission can come
 * as late as twice the partition's length after the data was sent, and a partition
 * shorter than heartbeat.timeout silenced heartbeats past it. True when the cap took. */
#define FL_TCP_RTO_MAX_MS 1000
bool fl_tcp_tune(int fd);

#endif
