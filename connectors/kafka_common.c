/* kafka_common.c -- the Kafka connector's shared part (kafka_internal.h): a librdkafka
 * configuration from the connector's options, with one message per bad option. Task
 * thread.
 */
#include "kafka_internal.h"

#include <stdio.h>
#include <string.h>

const char *fl_kafka_opt(fl_ctx *ctx, const char *key, const char *dflt)
{
    uint32_t len;
    const void *cfg = fl_connector_config(ctx, &len);
    return fl_props_get(cfg, len, key, dflt);
}

typedef struct conf_walk {
    fl_ctx *ctx;
    const char *who;
    rd_kafka_conf_t *conf;
    bool bad;
} conf_walk;

/* A secret's value is never put in a message. */
static bool is_secret(const char *key, size_t klen)
{
    static const char *const words[] = {"password", "secret", "sasl.jaas", "key.pem"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t wl = strlen(words[i]);
        for (size_t k = 0; k + wl <= klen; k++)
            if (!strncmp(key + k, words[i], wl))
                return true;
    }
    return false;
}

static void set_one(conf_walk *w, const char *key, size_t klen, const char *value)
{
    char name[256], errstr[512];
    if (w->bad || klen >= sizeof name)
        return;
    memcpy(name, key, klen);
    name[klen] = '\0';
    if (rd_kafka_conf_set(w->conf, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        w->bad = true;
        fl_ctx_fail(w->ctx, "%s: bad option properties.%s%s%s: %s", w->who, name,
                    is_secret(name, klen) ? "" : "=", is_secret(name, klen) ? "" : value,
                    errstr);
    }
}

static void set_property(const char *key, size_t klen, const char *value, void *arg)
{
    static const char prefix[] = "properties.";
    if (klen > sizeof prefix - 1 && !strncmp(key, prefix, sizeof prefix - 1))
        set_one(arg, key + sizeof prefix - 1, klen - (sizeof prefix - 1), value);
}

rd_kafka_conf_t *fl_kafka_conf(fl_ctx *ctx, const char *who, const char *const *defaults)
{
    conf_walk w = {ctx, who, rd_kafka_conf_new(), false};
    for (int i = 0; defaults && defaults[i]; i++) {
        const char *eq = strchr(defaults[i], '=');
        set_one(&w, defaults[i], (size_t)(eq - defaults[i]), eq + 1);
    }
    uint32_t len;
    const void *cfg = fl_connector_config(ctx, &len);
    if (!*fl_props_get(cfg, len, "properties.bootstrap.servers", "")) {
        fl_ctx_fail(ctx, "%s: the option properties.bootstrap.servers is required", who);
        w.bad = true;
    }
    fl_props_each(cfg, len, set_property, &w);
    if (w.bad) {
        rd_kafka_conf_destroy(w.conf);
        return NULL;
    }
    return w.conf;
}

int fl_kafka_record_format(fl_ctx *ctx, const char *who, bool *key_value)
{
    const char *f = fl_kafka_opt(ctx, "record.format", "value");
    *key_value = !strcmp(f, "key-value");
    if (!*key_value && strcmp(f, "value")) {
        fl_ctx_fail(ctx, "%s: record.format must be value or key-value, not '%s'", who, f);
        return -1;
    }
    return 0;
}
