/* testzk.h -- a real ZooKeeper server for the unit tests that need one (check_zk.c,
 * check_ha.c): started by the suite's unchecked fixture (tz_setup, in the parent process) on
 * a free loopback port in a temporary directory, with java and the Debian zookeeper
 * package as bin/zookeeper.sh runs it, and stopped by tz_teardown. A test (a forked child)
 * may stop and start it again: its pid lives in a file, so the teardown stops whichever one
 * runs. Header-only, like testutil.h.
 */
#ifndef FL_TESTZK_H
#define FL_TESTZK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "common/util.h"
#include "testutil.h"

static char tz_dir[256];
static int tz_port;

static inline int tz_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) < 0)
        a.sin_port = 0;
    close(s);
    return ntohs(a.sin_port);
}

static inline bool tz_port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static inline pid_t tz_server_pid(void)
{
    char path[300], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/pid", tz_dir);
    if (fl_read_file(path, &text, &len, NULL) < 0)
        return -1;
    pid_t p = (pid_t)atoi(text);
    free(text);
    return p;
}

static inline void tz_server_start(void)
{
    char cfg[400], text[600], path[300], num[32];
    snprintf(cfg, sizeof cfg, "%s/zoo.cfg", tz_dir);
    snprintf(text, sizeof text,
             "tickTime=250\nminSessionTimeout=1000\nmaxSessionTimeout=60000\n"
             "dataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
             "admin.enableServer=false\n", tz_dir, tz_port);
    tu_write_file(cfg, text);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("java", "java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-cp", "/usr/share/java/zookeeper.jar",
               "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg, (char *)NULL);
        _exit(127);
    }
    snprintf(path, sizeof path, "%s/pid", tz_dir);
    snprintf(num, sizeof num, "%d", (int)pid);
    tu_write_file(path, num);
    int64_t end = tu_now_ms() + 20000;
    while (!tz_port_open(tz_port) && tu_now_ms() < end)
        usleep(50 * 1000);
}

static inline void tz_server_stop(void)
{
    pid_t p = tz_server_pid();
    if (p > 0) {
        kill(p, SIGKILL);
        waitpid(p, NULL, 0); /* when it is ours */
        while (tz_port_open(tz_port))
            usleep(20 * 1000);
    }
}

static inline void tz_setup(void)
{
    tu_mkdtemp(tz_dir, sizeof tz_dir);
    tz_port = tz_free_port();
    tz_server_start();
}

static inline void tz_teardown(void)
{
    tz_server_stop();
    fl_remove_tree(tz_dir);
}

#endif
