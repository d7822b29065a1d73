/* config.c -- see config.h. Loading happens on the main thread before any other starts;
 * afterwards a configuration is only read. */
#include "config.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const fl_conf_key known_keys[] = {
#define FL_KEY(name, type, dflt, choices, doc) {name, type, dflt, choices, doc},
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
};

static char conf_dir[4096] = "conf";

const char *fl_conf_dir(void)
{
    return conf_dir;
}

const fl_conf_key *fl_conf_key_find(const char *name)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(known_keys); i++)
        if (strcmp(known_keys[i].name, name) == 0)
            return &known_keys[i];
    return NULL;
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
    free(conf);
}

fl_conf *fl_conf_copy(const fl_conf *conf)
{
    fl_conf *c = fl_conf_new();
    for (size_t i = 0; i < conf->n; i++)
        fl_conf_set(c, conf->v[i].key, conf->v[i].value, NULL);
    return c;
}

static conf_entry *find_entry(const fl_conf *conf, const char *key)
{
    for (size_t i = 0; i < conf->n; i++)
        if (strcmp(conf->v[i].key, key) == 0)
            return &conf->v[i];
    return NULL;
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

int fl_conf_check_value(const fl_conf_key *k, const char *value, fl_err *err)
{
    int64_t i;
    bool b;
    double d;
    switch (k->type) {
    case FL_CT_STRING:
        return 0;
    case FL_CT_INT:
        if (fl_parse_int(value, &i) == 0 && i >= INT32_MIN && i <= INT32_MAX)
            return 0;
        fl_err_set(err, "expected an integer");
        return -1;
    case FL_CT_BOOL:
        if (fl_parse_bool(value, &b) == 0)
            return 0;
        fl_err_set(err, "expected true or false");
        return -1;
    case FL_CT_DURATION:
        if (fl_parse_duration_ms(value, &i) == 0)
            return 0;
        fl_err_set(err, "expected a duration such as 500 ms, 10 s or 1 min");
        return -1;
    case FL_CT_TIMEOUT:
        if (fl_parse_timeout_ms(value, &i) == 0)
            return 0;
        fl_err_set(err, "expected a duration such as 100 ms, or -1 to disable");
        return -1;
    case FL_CT_MEMORY:
        if (fl_parse_bytes(value, &i) == 0)
            return 0;
        fl_err_set(err, "expected a memory size such as 32kb, 64 mb or 1gb");
        return -1;
    case FL_CT_DOUBLE:
        if (fl_parse_double(value, &d) == 0)
            return 0;
        fl_err_set(err, "expected a number such as 0.1");
        return -1;
    case FL_CT_ENUM:
        if (parse_enum(k->choices, value) >= 0)
            return 0;
        fl_err_set(err, "expected one of %s", k->choices);
        return -1;
    }
    return -1;
}

/* ---- setting ---------------------------------------------------------------------- */

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
    conf->v[conf->n].key = fl_xstrdup(key);
    conf->v[conf->n].value = fl_xstrdup(value);
    conf->n++;
}

/* Checks and stores one pair; `where` names the origin for messages ("file:line" or "-D"). */
static int set_checked(fl_conf *conf, const char *key, const char *value, const char *where,
                       fl_err *err)
{
    const fl_conf_key *k = fl_conf_key_find(key);
    if (!k) {
        fl_warn("%s: unknown configuration key '%s' (ignored by Flint)", where, key);
    } else {
        fl_err why;
        if (fl_conf_check_value(k, value, &why) < 0) {
            if (fl_conf_key_is_secret(key))
                fl_err_set(err, "%s: invalid value for key '%s': %s", where, key, why.msg);
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
    return set_checked(conf, key, value, "configuration", err);
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
    int lineno = 0, rc = 0;
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
        if (set_checked(conf, key, value, where, err) < 0) {
            rc = -1;
            break;
        }
    }
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
    return set_checked(conf, key, eq + 1, where, err);
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
    if (v)
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
