/* fuzz_config.c -- libFuzzer target: the configuration parser (flink-conf style text, every
 * key's type and range checks) on arbitrary text; then every getter of every key on what it
 * accepted. Errors are fine; crashes, leaks and overflows are not. */
#include "common/config.h"
#include "common/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        fl_log_init(FL_LOG_OFF); /* nothing: the parser warns about every odd key */
        quiet = 1;
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    fl_conf *conf = fl_conf_new();
    fl_err err;
    if (fl_conf_load_string(conf, text, "fuzz", &err) == 0) {
        fl_conf *copy = fl_conf_copy(conf);
        fl_conf_free(copy);
    }
    fl_conf_free(conf);
    free(text);
    return 0;
}
