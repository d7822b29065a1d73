/* config.h -- flink-conf style configuration (conf/flint-conf.yaml).
 *
 * The file is flat `key: value` lines; `#` starts a comment; blank lines are ignored; the
 * last duplicate wins. `-D key=value` on the command line overrides the file. Values of
 * known keys (config_keys.h) are checked when they are set, form and range: a malformed or
 * out-of-range one is an error naming file, line, key and the expected form with its range
 * ("expected an integer from 1 to 65535"). Unknown keys only warn (the first few of a file
 * each, then one line with the count). Loading is linear in the number of lines (a hash
 * index over the entries). A loaded configuration is read-only and may be read from any
 * thread.
 */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum {
    FL_CT_STRING,
    FL_CT_INT,
    FL_CT_BOOL,
    FL_CT_DURATION, /* stored in milliseconds */
    FL_CT_SECONDS,  /* a duration whose bare number is seconds (Flink's long-seconds keys) */
    FL_CT_TIMEOUT,  /* a duration, or -1 for "disabled" (execution.buffer-timeout) */
    FL_CT_MEMORY,   /* stored in bytes */
    FL_CT_DOUBLE,
    FL_CT_ENUM,
} fl_conf_type;

/* Slots one TaskManager may offer: what the JobManager's ResourceManager accepts in a
 * registration, and so the range of taskmanager.numberOfTaskSlots. */
#define FL_MAX_TM_SLOTS 4096

#define FL_STR_(x) #x
#define FL_STR(x) FL_STR_(x)

typedef struct fl_conf_key {
    const char *name;
    fl_conf_type type;
    const char *dflt;
    const char *choices;
    /* "lo..hi", both ends allowed, written in the key's own form ("1..65535", "1 ms..1 d",
     * "1 mb..1 gb", "0..1"); for strings the length in bytes. NULL: the type's own bounds
     * (an int fits 32 bits; a duration at most 365 d; a memory size at most 1 tb; a string
     * at most 4096 bytes). FL_CT_TIMEOUT always accepts -1 besides. */
    const char *range;
    const char *doc;
} fl_conf_key;

typedef struct fl_conf fl_conf;

const fl_conf_key *fl_conf_key_find(const char *name);
/* The whole table, in config_keys.h order (*n entries). */
const fl_conf_key *fl_conf_keys(size_t *n);
/* Keys whose values must never be logged or shown (contain password, secret, ...). */
bool fl_conf_key_is_secret(const char *name);

fl_conf *fl_conf_new(void);
void fl_conf_free(fl_conf *conf);
fl_conf *fl_conf_copy(const fl_conf *conf);

/* Parses a flink-conf file into conf (later lines and later calls win). */
int fl_conf_load_file(fl_conf *conf, const char *path, fl_err *err);
/* Parses text as if it were the file `origin` (used by load_file and by tests). */
int fl_conf_load_string(fl_conf *conf, const char *text, const char *origin, fl_err *err);
/* Applies one "key=value" override, as given to -D. */
int fl_conf_set_dynamic(fl_conf *conf, const char *kv, fl_err *err);
int fl_conf_set(fl_conf *conf, const char *key, const char *value, fl_err *err);

/* The usual start-up of a daemon or the CLI: reads $FLINT_CONF_DIR/flint-conf.yaml (default
 * conf/; a missing file is fine only when the directory was not given explicitly), then
 * applies every -D option found in argv (both "-D k=v" and "-Dk=v"). Logs each property
 * with secrets masked when log_props is set. */
int fl_conf_load_startup(fl_conf *conf, int argc, char **argv, bool log_props, fl_err *err);
/* The directory configuration was loaded from (for scripts and messages). */
const char *fl_conf_dir(void);

bool fl_conf_contains(const fl_conf *conf, const char *key);
/* Getters for keys in config_keys.h: the set value or the key's default. Values were
 * checked when set, so these cannot fail; a key missing from the table aborts (bug). */
const char *fl_conf_get_str(const fl_conf *conf, const char *key); /* NULL when unset */
int64_t fl_conf_get_int(const fl_conf *conf, const char *key);
bool fl_conf_get_bool(const fl_conf *conf, const char *key);
int64_t fl_conf_get_duration_ms(const fl_conf *conf, const char *key);
int64_t fl_conf_get_bytes(const fl_conf *conf, const char *key);
double fl_conf_get_double(const fl_conf *conf, const char *key);

/* Iterates the explicitly set entries in key order (value masked for secrets if mask). */
typedef void (*fl_conf_visit_fn)(void *arg, const char *key, const char *value);
void fl_conf_foreach(const fl_conf *conf, bool mask, fl_conf_visit_fn fn, void *arg);

/* Value parsers, exposed for tests and for job-level settings. 0 or -1. */
int fl_parse_int(const char *s, int64_t *out);
int fl_parse_bool(const char *s, bool *out);
int fl_parse_duration_ms(const char *s, int64_t *out);
/* A duration, or -1 (disabled). */
int fl_parse_timeout_ms(const char *s, int64_t *out);
/* A duration whose bare number means seconds ("3600" is 1 h; "10 min" as usual). */
int fl_parse_seconds_ms(const char *s, int64_t *out);
int fl_parse_bytes(const char *s, int64_t *out);
int fl_parse_double(const char *s, double *out);
/* Checks value against the key's type and range; on failure fills err with the expected
 * form and range. */
int fl_conf_check_value(const fl_conf_key *k, const char *value, fl_err *err);

#endif
