/* netenv.c -- see netenv.h. (first cut: the data server's listener) */
#include "netenv.h"
#include "frame.h"
#include "log.h"
#include "mailbox.h"
#include "rpc.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

struct fl_netenv {
    fl_endpoint *ep;
    struct evconnlistener *listener;
    uint32_t max_frame;
};

static void on_read(struct bufferevent *bev, void *arg)
{
    fl_frame_hdr h;
    fl_err err;
    int rc = fl_frame_next(bufferevent_get_input(bev), UINT32_MAX >> 1, &h, &err);
    if (rc == 0)
        return;
    if (rc > 0)
        fl_err_set(&err, "unexpected data frame type %u", h.type);
    fl_warn("closing data connection: %s", err.msg);
    bufferevent_free(bev);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct bufferevent *bev =
        bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, on_read, NULL, on_event, arg);
    bufferevent_enable(bev, EV_READ);
}

fl_netenv *fl_netenv_new(const fl_conf *conf, fl_err *err)
{
    fl_netenv *net = fl_xcalloc(1, sizeof *net);
    net->ep = fl_endpoint_new("network");
    if (!net->ep) {
        fl_err_set(err, "cannot create the network thread");
        free(net);
        return NULL;
    }
    return net;
}

int fl_netenv_listen(fl_netenv *net, const char *bind_host, int port, int *bound_port, fl_err *err)
{
    struct sockaddr_storage ss;
    int sslen;
    if (fl_resolve(bind_host, port, &ss, &sslen, err) < 0)
        return -1;
    net->listener = evconnlistener_new_bind(fl_endpoint_base(net->ep), on_accept, net,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                                LEV_OPT_CLOSE_ON_EXEC,
                                            128, (struct sockaddr *)&ss, sslen);
    if (!net->listener) {
        fl_err_set(err, "cannot listen on %s:%d: %s", bind_host, port, strerror(errno));
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t len = sizeof got;
    getsockname(evconnlistener_get_fd(net->listener), (struct sockaddr *)&got, &len);
    char s[64];
    fl_sockaddr_str((struct sockaddr *)&got, s, sizeof s);
    *bound_port = atoi(strrchr(s, ':') + 1);
    return 0;
}

int fl_netenv_start(fl_netenv *net, fl_err *err)
{
    return fl_endpoint_start(net->ep, net, err);
}

void fl_netenv_free(fl_netenv *net)
{
    if (!net)
        return;
    fl_endpoint_stop(net->ep);
    if (net->listener)
        evconnlistener_free(net->listener);
    fl_endpoint_free(net->ep);
    free(net);
}
