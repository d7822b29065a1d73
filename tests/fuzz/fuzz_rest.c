/* fuzz_rest.c -- libFuzzer target: the REST router's path matching and its strict query
 * string parser, on an arbitrary request target ("/jobs/ID/savepoints?mode=..."). Compiled
 * with jobmanager/rest.c itself to reach them (they are static). */
#include "jobmanager/rest.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *patterns[] = {"/overview", "/jobs", "/jobs/overview", "/jobs/:jobid",
                                      "/jobs/:jobid/savepoints/:triggerid",
                                      "/jobs/:jobid/vertices/:vertexid/backpressure",
                                      "/taskmanagers/:id", "/jobmanager/config"};
    char *target = malloc(size + 1);
    memcpy(target, data, size);
    target[size] = '\0';
    char *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    fl_rest_params p;
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        memset(&p, 0, sizeof p);
        if (match(patterns[i], target, &p)) {
            char why[128];
            (void)parse_query(q, &p, why, sizeof why);
        }
    }
    free(target);
    return 0;
}
