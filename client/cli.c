/* cli.c -- helpers the `flint` actions share (REST calls with JSON answers, to the leading
 * JobManager). */
#include "cli.h"
#include "common/leader_retrieval.h"
#include "common/tls.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The bearer token: FLINT_REST_TOKEN, else the first line of security.rest.auth.token-file. */
static int load_token(fl_cli *cli, fl_err *err)
{
    const char *env = getenv("FLINT_REST_TOKEN");
    if (env && *env) {
        cli->token = fl_xstrdup(env);
        return 0;
    }
    const char *path = fl_conf_get_str(cli->conf, "security.rest.auth.token-file");
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "re");
    char line[1024];
    if (!f || !fgets(line, sizeof line, f)) {
        fl_err_set(err, "cannot read security.rest.auth.token-file %s: %s", path,
                   f ? "empty" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    cli->token = fl_xstrdup(line);
    memset(line, 0, sizeof line);
    return 0;
}

/* The leader's REST endpoint, from ZooKeeper. */
static int resolve_leader(fl_cli *cli, fl_err *err)
{
    fl_leader_info li;
    if (fl_leader_lookup(cli->conf, &li, err) < 0 ||
        fl_http_parse_url(li.rest_url, cli->host, sizeof cli->host, &cli->port, err) < 0)
        return -1;
    cli->resolved = true;
    return 0;
}

json_t *fl_cli_rest(fl_cli *cli, const char *method, const char *path, const char *ctype,
                    const void *body, size_t len, int *status)
{
    fl_http_resp resp;
    fl_err err;
    if (!cli->tls_made) {
        cli->tls_made = true;
        if (fl_tls_new(cli->conf, FL_TLS_REST_CLIENT, &cli->tls, &err) < 0 ||
            load_token(cli, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return NULL;
        }
    }
    /* following the leader, a failure or a 503 may mean it changed: ZooKeeper is asked
     * again. Pointed at one JobManager (-m or rest.address), only a 503 is retried, as
     * Flink's client does (rest.retry.*): that JobManager is up and says it cannot answer
     * yet, e.g. a standby that started a moment ago and does not know the leader yet. */
    int retries, retries_503;
    int64_t wait_ms;
    if (cli->follow_leader) {
        retries = retries_503 = (int)fl_conf_get_int(
            cli->conf, "high-availability.zookeeper.client.max-retry-attempts");
        wait_ms = fl_conf_get_duration_ms(cli->conf,
                                          "high-availability.zookeeper.client.retry-wait");
    } else {
        retries = 0;
        retries_503 = (int)fl_conf_get_int(cli->conf, "rest.retry.max-attempts");
        wait_ms = fl_conf_get_duration_ms(cli->conf, "rest.retry.delay");
    }
    for (int attempt = 0, redirects = 0;;) {
        if (cli->follow_leader && !cli->resolved && resolve_leader(cli, &err) < 0) {
            fprintf(stderr, "Cannot find the leading JobManager: %s\n", err.msg);
            return NULL;
        }
        /* a paused leader would hold a request for its whole deadline: following the
         * leader, a read gives up sooner and asks ZooKeeper again */
        int timeout_s = cli->follow_leader && !strcmp(method, "GET") ? 5 : 30;
        int rc = fl_http_request(cli->host, cli->port, cli->tls, cli->token, method, path, ctype, body, len,
                                 timeout_s, &resp, &err);
        if (rc == 0 && resp.status == 307 && resp.location[0] && redirects < 3) {
            /* a standby names the leader */
            free(resp.body);
            redirects++;
            if (fl_http_parse_url(resp.location, cli->host, sizeof cli->host, &cli->port,
                                  &err) < 0) {
                fprintf(stderr, "A JobManager redirected to %s: %s\n", resp.location, err.msg);
                return NULL;
            }
            continue;
        }
        if (((rc < 0 && attempt < retries) || (rc == 0 && resp.status == 503 &&
                                                 attempt < retries_503))) {
            /* the leader may have changed: ask ZooKeeper again after a while */
            if (rc == 0)
                free(resp.body);
            attempt++;
            cli->resolved = false;
            usleep((useconds_t)(wait_ms * 1000));
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return NULL;
        }
        break;
    }
    json_error_t jerr;
    json_t *j = json_loadb(resp.body, resp.len, 0, &jerr);
    if (!j) {
        fprintf(stderr, "The JobManager at %s:%d answered %d with something that is not JSON: "
                        "%.200s\n",
                cli->host, cli->port, resp.status, resp.body);
        free(resp.body);
        return NULL;
    }
    free(resp.body);
    *status = resp.status;
    return j;
}

const char *fl_cli_rest_error(json_t *body)
{
    json_t *errs = json_object_get(body, "errors");
    const char *s = json_string_value(json_array_get(errs, 0));
    return s ? s : "unknown error";
}
