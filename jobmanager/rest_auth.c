/* rest_auth.c -- see rest_auth.h. */
#include "rest_auth.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_TOKENS 10000

typedef struct token {
    uint8_t digest[FL_SHA256_LEN];
    enum fl_rest_role role;
} token;

struct fl_rest_auth {
    token *v;
    int n;
};

const char *fl_rest_role_name(enum fl_rest_role r)
{
    switch (r) {
    case FL_ROLE_READ: return "read";
    case FL_ROLE_SUBMIT: return "submit";
    case FL_ROLE_ADMIN: return "admin";
    default: return "none";
    }
}

static enum fl_rest_role role_of(const char *s)
{
    return !strcmp(s, "read") ? FL_ROLE_READ : !strcmp(s, "submit") ? FL_ROLE_SUBMIT
         : !strcmp(s, "admin") ? FL_ROLE_ADMIN : FL_ROLE_NONE;
}

int fl_rest_auth_load(const fl_conf *conf, fl_rest_auth **out, fl_err *err)
{
    *out = NULL;
    const char *path = fl_conf_get_str(conf, "security.rest.auth.tokens");
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        fl_err_set(err, "cannot read security.rest.auth.tokens %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        fl_warn("security.rest.auth.tokens %s can be read by others (mode %03o): chmod 600 it",
                path, (unsigned)(st.st_mode & 0777));
    fl_rest_auth *a = fl_xcalloc(1, sizeof *a);
    char line[1024];
    int lineno = 0, rc = -1;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fl_err_set(err, "%s:%d: line too long (a token is at most 1000 bytes)", path, lineno);
            goto out;
        }
        char *save = NULL, *role = strtok_r(line, " \t\r\n", &save);
        if (!role || role[0] == '#')
            continue;
        char *tok = strtok_r(NULL, " \t\r\n", &save);
        enum fl_rest_role r = role_of(role);
        if (r == FL_ROLE_NONE || !tok || strlen(tok) < 16 || strtok_r(NULL, " \t\r\n", &save)) {
            fl_err_set(err, "%s:%d: expected 'ROLE TOKEN' with ROLE read, submit or admin and a "
                            "token of at least 16 characters",
                       path, lineno);
            goto out;
        }
        if (a->n == MAX_TOKENS) {
            fl_err_set(err, "%s: more than %d tokens", path, MAX_TOKENS);
            goto out;
        }
        a->v = fl_xrealloc(a->v, (size_t)(a->n + 1) * sizeof *a->v);
        fl_sha256(tok, strlen(tok), a->v[a->n].digest);
        a->v[a->n++].role = r;
        memset(tok, 0, strlen(tok));
    }
    if (a->n == 0) {
        fl_err_set(err, "security.rest.auth.tokens %s holds no token", path);
        goto out;
    }
    rc = 0;
out:
    memset(line, 0, sizeof line);
    fclose(f);
    if (rc < 0) {
        fl_rest_auth_free(a);
        return -1;
    }
    fl_info("REST requires bearer tokens: %d of them (security.rest.auth.tokens)", a->n);
    *out = a;
    return 0;
}

void fl_rest_auth_free(fl_rest_auth *a)
{
    if (!a)
        return;
    free(a->v);
    free(a);
}

enum fl_rest_role fl_rest_auth_role(const fl_rest_auth *a, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return FL_ROLE_NONE;
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    uint8_t d[FL_SHA256_LEN];
    fl_sha256(tok, strlen(tok), d);
    enum fl_rest_role found = FL_ROLE_NONE;
    for (int i = 0; i < a->n; i++) /* every entry, whichever matches: no timing hint */
        if (fl_digest_equal(d, a->v[i].digest, sizeof d))
            found = a->v[i].role;
    return found;
}
