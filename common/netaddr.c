/* netaddr.c -- see netaddr.h. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int fl_route_address(const char *host, int port, char *out, size_t outlen, fl_err *err)
{
    struct sockaddr_storage ss, local;
    int sslen;
    socklen_t llen = sizeof local;
    if (fl_resolve(host, port, &ss, &sslen, err) < 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fl_err_set(err, "socket: %s", strerror(errno));
        return -1;
    }
    int rc = -1;
    if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sslen) < 0) {
        fl_err_set(err, "no route to %s:%d: %s", host, port, strerror(errno));
        goto out_close;
    }
    if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0) {
        fl_err_set(err, "getsockname: %s", strerror(errno));
        goto out_close;
    }
    const void *a = local.ss_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)&local)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)&local)->sin_addr;
    if (!inet_ntop(local.ss_family, a, out, (socklen_t)outlen)) {
        fl_err_set(err, "inet_ntop: %s", strerror(errno));
        goto out_close;
    }
    rc = 0;
out_close:
    close(fd);
    return rc;
}

bool fl_host_is_loopback(const char *host)
{
    static const char *const names[] = {"localhost", "localhost.localdomain", "ip6-localhost",
                                        "ip6-loopback"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(host, names[i]) == 0)
            return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return false;
}

void fl_peer_host(const char *peer, char *out, size_t outlen)
{
    const char *start = peer, *end;
    if (*peer == '[') {
        start = peer + 1;
        end = strchr(start, ']');
    } else {
        end = strrchr(peer, ':');
    }
    size_t n = end ? (size_t)(end - start) : strlen(start);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, start, n);
    out[n] = '\0';
}

int fl_resolve(const char *host, int port, struct sockaddr_storage *ss, int *sslen, fl_err *err)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc == EAI_BADFLAGS || (rc && strcmp(host, "localhost") == 0)) {
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(host, portstr, &hints, &res);
    }
    if (rc) {
        fl_err_set(err, "cannot resolve host '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    /* Prefer IPv4: loopback set-ups bind "localhost" to 127.0.0.1. */
    struct addrinfo *pick = res;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *sslen = (int)pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void fl_sockaddr_str(const struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, outlen, "%s:%d", host, port);
}

#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS 44 /* Linux 6.15 (include/uapi/linux/tcp.h) */
#endif

bool fl_tcp_tune(int fd)
{
    int one = 1, rto_max = FL_TCP_RTO_MAX_MS;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return setsockopt(fd, IPPROTO_TCP, TCP_RTO_MAX_MS, &rto_max, sizeof rto_max) == 0;
}
