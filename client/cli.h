/* cli.h -- what the `flint` actions share: the parsed global options and the REST target. */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <jansson.h>

#include "common/config.h"
#include "http.h"

typedef struct fl_cli {
    fl_conf *conf;
    char host[256]; /* REST endpoint, from -m or rest.address/rest.port */
    int port;
    int argc;       /* the action's own arguments (after the action name, options removed) */
    char **argv;
    int ndyn;       /* the -D key=value pairs given, for the job's configuration */
    char **dyn;
    struct fl_tls *tls; /* security.ssl.rest.*: made at the first request */
    bool tls_made;
    char *token;        /* FLINT_REST_TOKEN or security.rest.auth.token-file, when given */
    /* high availability without -m: the leader is found through ZooKeeper, and found
     * again when it does not answer (or a standby redirects) */
    bool follow_leader;
    bool resolved;
    const char *usage;  /* the action's help, printed on an option it does not know */
} fl_cli;

/* GETs/POSTs path on the JobManager and parses a JSON answer. Returns the parsed body (the
 * caller's) and the status, or NULL after printing why on stderr. A standby's redirect
 * (307) is followed; with high availability (follow_leader) a JobManager that does not
 * answer, or answers 503 while a leader is elected, is retried on the leader ZooKeeper
 * names, every retry-wait, up to max-retry-attempts times. */
json_t *fl_cli_rest(fl_cli *cli, const char *method, const char *path, const char *ctype,
                    const void *body, size_t len, int *status);
/* The first message of a {"errors":[...]} body, or a generic text. */
const char *fl_cli_rest_error(json_t *body);

/* The signature flint run sends with a bundle's bytes: made with
 * security.bundles.signing-key when set, else read from BUNDLE.sig (flint sign) when there;
 * *have false when neither (cli_sign.c). */
int fl_cli_bundle_signature(fl_cli *cli, const char *bundle, const void *data, size_t len,
                            uint8_t sig[64], bool *have, fl_err *err);
int fl_cli_sign(fl_cli *cli);
int fl_cli_list(fl_cli *cli);
int fl_cli_run(fl_cli *cli);
int fl_cli_info(fl_cli *cli);
int fl_cli_cancel(fl_cli *cli);
int fl_cli_rescale(fl_cli *cli);
int fl_cli_savepoint(fl_cli *cli);
int fl_cli_stop(fl_cli *cli);

#endif
