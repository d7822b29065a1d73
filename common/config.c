/* config.c -- see config.h. Loading happens on the main thread before any other starts;
 * afterwards a configuration is only read.
 *
 * Entries live in an array in insertion order with an open-addressing index of their
 * positions beside it (FNV-1a of the key), so setting and finding a key are O(1) and a file
 * of n lines loads in O(n). The key table is searched the same way, through an index built
 * once (pthread_once) on first use. */
#include "config.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const fl_conf_key known_keys[] = {
#define FL_KEY(name, type, dflt, choices, range, doc) {name, type, dflt, choices, range, doc},
#include "config_keys.h"
#undef FL_KEY
};

typedef struct conf_entry {
    char *key;
    char *value;
} conf_entry;

struct fl_conf {
    conf_entry *v;
    size_t n, cap;
    uint32_t *idx;   /* idx_cap slots: entry position + 1, 0 = empty */
    size_t idx_cap;  /* a power of two, at least twice n (or 0 before the first entry) */
};

/* Unknown keys of one load warned about one by one; the rest are counted in one line. */
#define UNKNOWN_WARN_MAX 20

static char conf_dir[4096] = "conf";

const char *fl_conf_dir(void)
{
    return conf_dir;
}

static uint64_t hash_key(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The key table's index: slots hold the position + 1, linear probing. */
#define KEY_INDEX_CAP 512
static uint16_t key_index[KEY_INDEX_CAP];
static pthread_once_t key_index_once = PTHREAD_ONCE_INIT;

static void build_key_index(void)
{
    _Static_assert(FL_ARRAY_LEN(known_keys) * 2 <= KEY_INDEX_CAP, "grow KEY_INDEX_CAP");
    for (size_t i = 0; i < FL_ARRAY_LEN(known_keys); i++) {
        size_t slot = hash_key(known_keys[i].name) & (KEY_INDEX_CAP - 1);
        while (key_index[slot])
            slot = (slot + 1) & (KEY_INDEX_CAP - 1);
        key_index[slot] = (uint16_t)(i + 1);
    }
}

const fl_conf_key *fl_conf_key_find(const char *name)
{
    pthread_once(&key_index_once, build_key_index);
    for (size_t slot = hash_key(name) & (KEY_INDEX_CAP - 1); key_index[slot];
         slot = (slot + 1) & (KEY_INDEX_CAP - 1))
        if (strcmp(known_keys[key_index[slot] - 1].name, name) == 0)
            return &known_keys[key_index[slot] - 1];
    return NULL;
}

const fl_conf_key *fl_conf_keys(size_t *n)
{
    *n = FL_ARRAY_LEN(known_keys);
    return known_keys;
}

bool fl_conf_key_is_secret(const char *name)
{
    static const char *words[] = {"password", "secret", "apikey", "api-key", "token"};
    for (size_t i = 0; i < FL_ARRAY_LEN(words); i++)
        if (strcasestr(name, words[i]))
            return true;
    return false;
}

fl_conf *fl_conf_new(void)
{
    return fl_xcalloc(1, sizeof(fl_conf));
}

void fl_conf_free(fl_conf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n; i++) {
        free(conf->v[i].key);
        free(conf->v[i].value);
    }
    free(conf->v);
    free(conf->idx);
    free(conf);
}

/* The index slot of key: the one holding it, or the empty one where it would go. */
static size_t entry_slot(const fl_conf *conf, const char *key)
{
    size_t mask = conf->idx_cap - 1, slot = hash_key(key) & mask;
    while (conf->idx[slot] && strcmp(conf->v[conf->idx[slot] - 1].key, key) != 0)
        slot = (slot + 1) & mask;
    return slot;
}

static conf_entry *find_entry(const fl_conf *conf, const char *key)
{
    if (!conf->idx_cap)
        return NULL;
    uint32_t pos = conf->idx[entry_slot(conf, key)];
    return pos ? &conf->v[pos - 1] : NULL;
}

/* Rebuilds the index at twice the room (keeps it at most half full). */
static void grow_index(fl_conf *conf)
{
    free(conf->idx);
    conf->idx_cap = conf->idx_cap ? conf->idx_cap * 2 : 64;
    conf->idx = fl_xcalloc(conf->idx_cap, sizeof *conf->idx);
    for (size_t i = 0; i < conf->n; i++)
        conf->idx[entry_slot(conf, conf->v[i].key)] = (uint32_t)(i + 1);
}

/* Stores key = value (replacing an earlier value), unchecked. */
static void put(fl_conf *conf, const char *key, const char *value)
{
    conf_entry *e = find_entry(conf, key);
    if (e) {
        free(e->value);
        e->value = fl_xstrdup(value);
        return;
    }
    if (conf->n == conf->cap) {
        conf->cap = conf->cap ? conf->cap * 2 : 32;
        conf->v = fl_xrealloc(conf->v, conf->cap * sizeof *conf->v);
    }
    if ((conf->n + 1) * 2 > conf->idx_cap)
        grow_index(conf);
    conf->v[conf->n].key = fl_xstrdup(key);
    conf->v[conf->n].value = fl_xstrdup(value);
    conf->idx[entry_slot(conf, key)] = (uint32_t)(conf->n + 1);
    conf->n++;
}

/* The values were checked when they were set: copied as they are, without a second round
 * of checks and warnings. */
fl_conf *fl_conf_copy(const fl_conf *conf)
{
    fl_conf *c = fl_conf_new();
    for (size_t i = 0; i < conf->n; i++)
        put(c, conf->v[i].key, conf->v[i].value);
    return c;
}

/* ---- value parsers ---------------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int fl_parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    s = skip_ws(s);
    if (!*s)
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *skip_ws(end))
        return -1;
    *out = v;
    return 0;
}

int fl_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    s = skip_ws(s);
    if (!*s)
        return -1;
    double v = strtod(s, &end);
    if (errno || end == s || *skip_ws(end) || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int fl_parse_bool(const char *s, bool *out)
{
    if (strcasecmp(s, "true") == 0)
        *out = true;
    else if (strcasecmp(s, "false") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

/* "<digits> [unit]": the number (non-negative) and the unit text, trimmed. */
static int split_number_unit(const char *s, uint64_t *num, char *unit, size_t unitlen)
{
    s = skip_ws(s);
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    const char *u = skip_ws(end);
    size_t n = strlen(u);
    while (n && (u[n - 1] == ' ' || u[n - 1] == '\t'))
        n--;
    if (n >= unitlen)
        return -1;
    for (size_t i = 0; i < n; i++)
        unit[i] = (char)tolower((unsigned char)u[i]);
    unit[n] = '\0';
    *num = v;
    return 0;
}

struct unit_mult {
    const char *names; /* space-separated */
    uint64_t mult;
    uint64_t div;
};

static int apply_unit(uint64_t num, const char *unit, const struct unit_mult *units, size_t nunits,
                      int64_t *out)
{
    for (size_t i = 0; i < nunits; i++) {
        const char *p = units[i].names;
        size_t ulen = strlen(unit);
        while (*p) {
            size_t wlen = strcspn(p, " ");
            if (wlen == ulen && strncmp(p, unit, wlen) == 0) {
                if (units[i].mult > 1 && num > (uint64_t)INT64_MAX / units[i].mult)
                    return -1;
                *out = (int64_t)(num * units[i].mult / units[i].div);
                return 0;
            }
            p += wlen;
            while (*p == ' ')
                p++;
        }
    }
    return -1;
}

/* Flink's TimeUtils units; a bare number is milliseconds. */
int fl_parse_duration_ms(const char *s, int64_t *out)
{

    static const struct unit_mult units[] = {
        {"ms milli millis millisecond milliseconds", 1, 1},
        {"ns nano nanos nanosecond nanoseconds", 1, 1000000},
        {"us µs micro micros microsecond microseconds", 1, 1000},
        {"s sec secs second seconds", 1000, 1},
        {"m min mins minute minutes", 60000, 1},
        {"h hour hours", 3600000, 1},
        {"d day days", 86400000, 1},
    };
    uint64_t num;
    char unit[32];
    if (split_number_unit(s, &num, unit, sizeof unit) < 0)
        return -1;
    if (!unit[0]) {
        if (num > INT64_MAX)
            return -1;
        *out = (int64_t)num;
        return 0;
    }
    return apply_unit(num, unit, units, FL_ARRAY_LEN(units), out);
}

int fl_parse_timeout_ms(const char *s, int64_t *out)
{
    int64_t v;
    if (fl_parse_int(s, &v) == 0 && v == -1) {
        *out = -1;
        return 0;
    }
    return fl_parse_duration_ms(s, out);
}

/* Flink's long-seconds keys (jobstore.expiration-time): a bare number is seconds. */
int fl_parse_seconds_ms(const char *s, int64_t *out)
{
    int64_t v;
    if (fl_parse_int(s, &v) == 0) {
        if (v < 0 || v > INT64_MAX / 1000)
            return -1;
        *out = v * 1000;
        return 0;
    }
    return fl_parse_duration_ms(s, out);
}

/* Flink's MemorySize units (binary multiples); a bare number is bytes. */
int fl_parse_bytes(const char *s, int64_t *out)
{
    static const struct unit_mult units[] = {
        {"b bytes", 1, 1},
        {"k kb kibibytes", 1ull << 10, 1},
        {"m mb mebibytes", 1ull << 20, 1},
        {"g gb gibibytes", 1ull << 30, 1},
        {"t tb tebibytes", 1ull << 40, 1},
    };
    uint64_t num;
    char unit[32];
    if (split_number_unit(s, &num, unit, sizeof unit) < 0)
        return -1;
    if (!unit[0]) {
        if (num > INT64_MAX)
            return -1;
        *out = (int64_t)num;
        return 0;
    }
    return apply_unit(num, unit, units, FL_ARRAY_LEN(units), out);
}

static int parse_enum(const char *choices, const char *s)
{
    const char *p = choices;
    size_t slen = strlen(s);
    for (int i = 0; *p; i++) {
        size_t wlen = strcspn(p, "|");
        if (wlen == slen && strncasecmp(p, s, wlen) == 0)
            return i;
        p += wlen;
        if (*p == '|')
            p++;
    }
    return -1;
}

/* The bounds of k: its own range, or its type's when the table gives none (config.h). */
static const char *range_of(const fl_conf_key *k)
{
    if (k->range)
        return k->range;
    switch (k->type) {
    case FL_CT_INT:
        return "-2147483648..2147483647";
    case FL_CT_DURATION:
    case FL_CT_SECONDS:
    case FL_CT_TIMEOUT:
        return "0 ms..365 d";
    case FL_CT_MEMORY:
        return "0..1 tb";
    case FL_CT_STRING:
        return "0..4096";
    default:
        return NULL;
    }
}

/* Parses s in k's form: integers, durations (ms) and sizes (bytes) into *iv, doubles into
 * *dv, a string's length into *iv. 0 or -1. */
static int parse_typed(const fl_conf_key *k, const char *s, int64_t *iv, double *dv)
{
    switch (k->type) {
    case FL_CT_STRING:
        *iv = (int64_t)strlen(s);
        return 0;
    case FL_CT_INT:
        return fl_parse_int(s, iv);
    case FL_CT_DURATION:
        return fl_parse_duration_ms(s, iv);
    case FL_CT_SECONDS:
        return fl_parse_seconds_ms(s, iv);
    case FL_CT_TIMEOUT:
        return fl_parse_timeout_ms(s, iv);
    case FL_CT_MEMORY:
        return fl_parse_bytes(s, iv);
    case FL_CT_DOUBLE:
        return fl_parse_double(s, dv);
    default:
        return -1;
    }
}

/* Splits range "lo..hi" into its two ends (caller's buffers). 0 or -1 (a bug in the table). */
static int split_range(const char *range, char *lo, char *hi, size_t len)
{
    const char *dots = strstr(range, "..");
    if (!dots || (size_t)(dots - range) >= len || strlen(dots + 2) >= len)
        return -1;
    memcpy(lo, range, (size_t)(dots - range));
    lo[dots - range] = '\0';
    snprintf(hi, len, "%s", dots + 2);
    return 0;
}

/* The expected form of k's values, with its range when it has one. */
static void expected_form(const fl_conf_key *k, const char *lo, const char *hi, fl_err *err)
{
    switch (k->type) {
    case FL_CT_STRING:
        fl_err_set(err, "expected %s to %s bytes", lo, hi);
        break;
    case FL_CT_INT:
        fl_err_set(err, "expected an integer from %s to %s", lo, hi);
        break;
    case FL_CT_BOOL:
        fl_err_set(err, "expected true or false");
        break;
    case FL_CT_DURATION:
        fl_err_set(err, "expected a duration from %s to %s, such as 500 ms, 10 s or 1 min", lo,
                   hi);
        break;
    case FL_CT_SECONDS:
        fl_err_set(err, "expected a duration from %s to %s, such as 3600 (seconds) or 1 h", lo,
                   hi);
        break;
    case FL_CT_TIMEOUT:
        fl_err_set(err, "expected a duration from %s to %s such as 100 ms, or -1 to disable", lo,
                   hi);
        break;
    case FL_CT_MEMORY:
        fl_err_set(err, "expected a memory size from %s to %s, such as 32kb, 64 mb or 1gb", lo,
                   hi);
        break;
    case FL_CT_DOUBLE:
        if (*lo)
            fl_err_set(err, "expected a number from %s to %s, such as 0.1", lo, hi);
        else
            fl_err_set(err, "expected a number such as 0.1");
        break;
    case FL_CT_ENUM:
        fl_err_set(err, "expected one of %s", k->choices);
        break;
    }
}

int fl_conf_check_value(const fl_conf_key *k, const char *value, fl_err *err)
{
    char lo_s[64] = "", hi_s[64] = "";
    int64_t v = 0, lo = 0, hi = 0;
    double dv = 0, dlo = 0, dhi = 0;
    const char *range = range_of(k);
    bool b;

    /* a string's range is of lengths: its ends are integers */
    const fl_conf_key len_key = {k->name, FL_CT_INT, NULL, NULL, NULL, NULL};
    const fl_conf_key *rk = k->type == FL_CT_STRING ? &len_key : k;
    if (range && (split_range(range, lo_s, hi_s, sizeof lo_s) < 0 ||
                  parse_typed(rk, lo_s, &lo, &dlo) < 0 || parse_typed(rk, hi_s, &hi, &dhi) < 0)) {
        fl_err_set(err, "BUG: the range '%s' of key '%s' in config_keys.h is malformed", range,
                   k->name);
        return -1;
    }
    if (k->type == FL_CT_STRING && !range)
        return 0;
    switch (k->type) {
    case FL_CT_BOOL:
        if (fl_parse_bool(value, &b) == 0)
            return 0;
        break;
    case FL_CT_ENUM:
        if (parse_enum(k->choices, value) >= 0)
            return 0;
        break;
    case FL_CT_DOUBLE:
        if (parse_typed(k, value, &v, &dv) == 0 && (!range || (dv >= dlo && dv <= dhi)))
            return 0;
        break;
    case FL_CT_TIMEOUT:
        if (parse_typed(k, value, &v, &dv) == 0 && (v == -1 || (v >= lo && v <= hi)))
            return 0;
        break;
    default:
        if (parse_typed(k, value, &v, &dv) == 0 && v >= lo && v <= hi)
            return 0;
        break;
    }
    expected_form(k, lo_s, hi_s, err);
    return -1;
}

/* ---- setting ---------------------------------------------------------------------- */

/* Checks and stores one pair; `where` names the origin for messages ("file:line" or "-D").
 * *unknown (NULL: warn always) counts the unknown keys of one load: the first
 * UNKNOWN_WARN_MAX are warned about, the caller sums up the rest. */
static int set_checked(fl_conf *conf, const char *key, const char *value, const char *where,
                       int *unknown, fl_err *err)
{
    const fl_conf_key *k = fl_conf_key_find(key);
    if (!k) {
        if (!unknown || ++*unknown <= UNKNOWN_WARN_MAX)
            fl_warn("%s: unknown configuration key '%.200s' (ignored by Flint)", where, key);
    } else {
        fl_err why;
        if (fl_conf_check_value(k, value, &why) < 0) {
            /* a long value is shown by its start: the message must keep the range */
            if (fl_conf_key_is_secret(key))
                fl_err_set(err, "%s: invalid value for key '%s': %s", where, key, why.msg);
            else if (strlen(value) > 80)
                fl_err_set(err, "%s: invalid value '%.60s...' (%zu bytes) for key '%s': %s",
                           where, value, strlen(value), key, why.msg);
            else
                fl_err_set(err, "%s: invalid value '%s' for key '%s': %s", where, value, key,
                           why.msg);
            return -1;
        }
    }
    put(conf, key, value);
    return 0;
}

int fl_conf_set(fl_conf *conf, const char *key, const char *value, fl_err *err)
{
    return set_checked(conf, key, value, "configuration", NULL, err);
}

/* Trims in place; returns the start. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Removes one level of matching quotes, as YAML scalars allow. */
static char *unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        return s + 1;
    }
    return s;
}

int fl_conf_load_string(fl_conf *conf, const char *text, const char *origin, fl_err *err)
{
    char *copy = fl_xstrdup(text), *save = NULL, *line;
    int lineno = 0, rc = 0, unknown = 0;
    char where[4200];
    /* strtok_r would skip empty lines and so miscount; split by hand. */
    for (line = copy; line; line = save) {
        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *l = trim(line);
        if (!*l)
            continue;
        snprintf(where, sizeof where, "%s:%d", origin, lineno);
        /* Flink splits on ": "; a value may itself contain ':' (URIs). */
        char *sep = strstr(l, ": ");
        if (!sep && l[strlen(l) - 1] == ':')
            sep = l + strlen(l) - 1;
        if (!sep) {
            /* The line may be "password hunter2": never echo what may hold a secret. */
            if (fl_conf_key_is_secret(l))
                fl_err_set(err, "%s: expected 'key: value' (line not shown: it may hold a secret)",
                           where);
            else
                fl_err_set(err, "%s: expected 'key: value', got '%s'", where, l);
            rc = -1;
            break;
        }
        *sep = '\0';
        char *key = trim(l), *value = unquote(trim(sep + 1));
        if (!*key) {
            fl_err_set(err, "%s: missing key before ':'", where);
            rc = -1;
            break;
        }
        if (set_checked(conf, key, value, where, &unknown, err) < 0) {
            rc = -1;
            break;
        }
    }
    if (unknown > UNKNOWN_WARN_MAX)
        fl_warn("%s: %d more unknown configuration keys (ignored by Flint; only the first %d "
                "are named)", origin, unknown - UNKNOWN_WARN_MAX, UNKNOWN_WARN_MAX);
    free(copy);
    return rc;
}

int fl_conf_load_file(fl_conf *conf, const char *path, fl_err *err)
{
    char *text;
    if (fl_read_file(path, &text, NULL, err) < 0)
        return -1;
    int rc = fl_conf_load_string(conf, text, path, err);
    free(text);
    return rc;
}

int fl_conf_set_dynamic(fl_conf *conf, const char *kv, fl_err *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        if (fl_conf_key_is_secret(kv))
            fl_err_set(err, "-D: expected key=value (option not shown: it may hold a secret)");
        else
            fl_err_set(err, "-D %s: expected key=value", kv);
        return -1;
    }
    char key[256], where[300];
    size_t n = (size_t)(eq - kv);
    if (n >= sizeof key) {
        fl_err_set(err, "-D: key too long");
        return -1;
    }
    memcpy(key, kv, n);
    key[n] = '\0';
    snprintf(where, sizeof where, "-D %s", key);
    return set_checked(conf, key, eq + 1, where, NULL, err);
}

static void log_prop(void *arg, const char *key, const char *value)
{
    fl_info("Loading configuration property: %s, %s", key, value);
}

int fl_conf_load_startup(fl_conf *conf, int argc, char **argv, bool log_props, fl_err *err)
{
    const char *dir = getenv("FLINT_CONF_DIR");
    bool explicit_dir = dir && *dir;
    if (!explicit_dir) {
        const char *home = getenv("FLINT_HOME");
        dir = NULL;
        if (home && *home)
            snprintf(conf_dir, sizeof conf_dir, "%s/conf", home);
        else
            snprintf(conf_dir, sizeof conf_dir, "conf");
    } else {
        snprintf(conf_dir, sizeof conf_dir, "%s", dir);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/flint-conf.yaml", conf_dir);
    if (access(path, F_OK) == 0 || explicit_dir) {
        if (fl_conf_load_file(conf, path, err) < 0)
            return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *kv = NULL;
        if (strcmp(argv[i], "-D") == 0 && i + 1 == argc) {
            fl_err_set(err, "-D needs a key=value after it");
            return -1;
        }
        if (strcmp(argv[i], "-D") == 0)
            kv = argv[++i];
        else if (strncmp(argv[i], "-D", 2) == 0 && argv[i][2])
            kv = argv[i] + 2;
        if (kv && fl_conf_set_dynamic(conf, kv, err) < 0)
            return -1;
    }
    if (log_props)
        fl_conf_foreach(conf, true, log_prop, NULL);
    return 0;
}

/* ---- getters ---------------------------------------------------------------------- */

static const char *raw(const fl_conf *conf, const char *key, const fl_conf_key **kp)
{
    const fl_conf_key *k = fl_conf_key_find(key);
    if (!k) {
        fl_error("BUG: configuration key '%s' is not in config_keys.h", key);
        abort();
    }
    *kp = k;
    const conf_entry *e = find_entry(conf, key);
    return e ? e->value : k->dflt;
}

bool fl_conf_contains(const fl_conf *conf, const char *key)
{
    return find_entry(conf, key) != NULL;
}

const char *fl_conf_get_str(const fl_conf *conf, const char *key)
{
    const fl_conf_key *k;
    return raw(conf, key, &k);
}

int64_t fl_conf_get_int(const fl_conf *conf, const char *key)
{
    const fl_conf_key *k;
    const char *v = raw(conf, key, &k);
    int64_t out = 0;
    if (v)
        fl_parse_int(v, &out);
    return out;
}

bool fl_conf_get_bool(const fl_conf *conf, const char *key)
{
    const fl_conf_key *k;
    const char *v = raw(conf, key, &k);
    bool out = false;
    if (v)
        fl_parse_bool(v, &out);
    return out;
}

int64_t fl_conf_get_duration_ms(const fl_conf *conf, const char *key)
{
    const fl_conf_key *k;
    const char *v = raw(conf, key, &k);
    int64_t out = 0;
    if (v && k->type == FL_CT_SECONDS)
        fl_parse_seconds_ms(v, &out);
    else if (v)
        fl_parse_timeout_ms(v, &out); /* a superset of the duration form */
    return out;
}

int64_t fl_conf_get_bytes(const fl_conf *conf, const char *key)
{
    const fl_conf_key *k;
    const char *v = raw(conf, key, &k);
    int64_t out = 0;
    if (v)
        fl_parse_bytes(v, &out);
    return out;
}

double fl_conf_get_double(const fl_conf *conf, const char *key)
{
    const fl_conf_key *k;
    const char *v = raw(conf, key, &k);
    double out = 0;
    if (v)
        fl_parse_double(v, &out);
    return out;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const conf_entry *)a)->key, ((const conf_entry *)b)->key);
}

void fl_conf_foreach(const fl_conf *conf, bool mask, fl_conf_visit_fn fn, void *arg)
{
    if (conf->n == 0) /* conf->v is NULL then, and memcpy(x, NULL, 0) is undefined */
        return;
    conf_entry *sorted = fl_xmalloc(conf->n * sizeof *sorted + 1);
    memcpy(sorted, conf->v, conf->n * sizeof *sorted);
    qsort(sorted, conf->n, sizeof *sorted, cmp_entry);
    for (size_t i = 0; i < conf->n; i++)
        fn(arg, sorted[i].key,
           mask && fl_conf_key_is_secret(sorted[i].key) ? "******" : sorted[i].value);
    free(sorted);
}
