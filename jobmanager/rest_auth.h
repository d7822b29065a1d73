/* rest_auth.h -- who may do what on the REST API (beyond Flink, which has no authentication
 * of its own): bearer tokens with roles, from the file security.rest.auth.tokens.
 *
 * The file holds one token per line, `ROLE TOKEN`, '#' comments and blank lines ignored:
 *   read    GET (and HEAD, OPTIONS): the cluster, jobs, checkpoints, configuration
 *   submit  read, and POST /jobs: submitting a job
 *   admin   everything: cancel, stop, savepoints, rescaling
 * A request without a valid token gets 401 (with WWW-Authenticate: Bearer), one whose role
 * does not allow it 403, both as Flink-shaped JSON errors. Tokens are kept as SHA-256
 * digests and compared in constant time against every entry; they never reach a log line,
 * a REST answer or an error message. Without the setting REST is open, as in Flink.
 * Loaded once at start (the dispatcher's thread reads it afterwards).
 */
#ifndef FL_REST_AUTH_H
#define FL_REST_AUTH_H

#include <stdbool.h>

#include "common/config.h"
#include "common/err.h"

enum fl_rest_role { FL_ROLE_NONE = 0, FL_ROLE_READ = 1, FL_ROLE_SUBMIT = 2, FL_ROLE_ADMIN = 3 };

typedef struct fl_rest_auth fl_rest_auth;

/* The tokens of security.rest.auth.tokens, or *out = NULL (and 0) when it is unset. -1 with
 * err naming the file and line (never the token) when it cannot be used. */
int fl_rest_auth_load(const fl_conf *conf, fl_rest_auth **out, fl_err *err);
void fl_rest_auth_free(fl_rest_auth *a); /* NULL is a no-op */
/* The role of the token an Authorization header value carries ("Bearer TOKEN"), or
 * FL_ROLE_NONE when it carries none that is known. */
enum fl_rest_role fl_rest_auth_role(const fl_rest_auth *a, const char *authorization);
const char *fl_rest_role_name(enum fl_rest_role r);

#endif
