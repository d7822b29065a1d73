/* config_util.h -- what the configuration tests (check_config.c, check_config_keys.c)
 * share: loading a text that must load or must fail, the value fl_conf_foreach reports
 * for a key, substring assertions, and the log captured for the tcases (log_setup and
 * log_teardown). Header-only (static inline), as testutil.h. */
#ifndef FL_CONFIG_UTIL_H
#define FL_CONFIG_UTIL_H

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "testutil.h"

/* Collects fl_conf_foreach output as "key=value\n" lines. */
typedef struct visit_buf {
    char text[8192];
    int count;
} visit_buf;

static inline void visit_collect(void *arg, const char *key, const char *value)
{
    visit_buf *b = arg;
    size_t n = strlen(b->text);
    snprintf(b->text + n, sizeof b->text - n, "%s=%s\n", key, value);
    b->count++;
}

/* The value foreach reports for key (any key, known or not), or NULL. Static buffer. */
static inline const char *visited_value(const fl_conf *conf, const char *key, bool mask)
{
    static visit_buf b;
    static char out[1024];
    memset(&b, 0, sizeof b);
    fl_conf_foreach(conf, mask, visit_collect, &b);
    char needle[300];
    snprintf(needle, sizeof needle, "%s=", key);
    for (char *line = b.text; *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, needle, strlen(needle)) == 0) {
            size_t len = (size_t)(nl - line) - strlen(needle);
            memcpy(out, line + strlen(needle), len);
            out[len] = '\0';
            return out;
        }
        line = nl + 1;
    }
    return NULL;
}

/* Loads text and expects success. */
static inline fl_conf *load_ok(const char *text)
{
    fl_conf *c = fl_conf_new();
    fl_err err = {{0}};
    int rc = fl_conf_load_string(c, text, "test.yaml", &err);
    ck_assert_msg(rc == 0, "load of <<%s>> failed: %s", text, err.msg);
    return c;
}

/* Loads text and expects failure; the message is copied into err. */
static inline void load_fail(const char *text, const char *origin, fl_err *err)
{
    fl_conf *c = fl_conf_new();
    memset(err, 0, sizeof *err);
    int rc = fl_conf_load_string(c, text, origin, err);
    ck_assert_msg(rc == -1, "load of <<%s>> should have failed (rc %d)", text, rc);
    ck_assert_msg(err->msg[0] != '\0', "failure without a message for <<%s>>", text);
    fl_conf_free(c);
}

#define ck_assert_has(hay, needle)                                                           \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay),      \
                  (needle))
#define ck_assert_lacks(hay, needle)                                                         \
    ck_assert_msg(strstr((hay), (needle)) == NULL, "'%s' must not contain '%s'", (hay),      \
                  (needle))

static inline void log_setup(void)
{
    tu_log_capture();
}

static inline void log_teardown(void)
{
    tu_log_release();
}

#endif
