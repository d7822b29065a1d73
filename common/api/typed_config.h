/* typed_config.h -- how an operator's configuration travels: fl_with_config_as puts a
 * header naming the C type and its size in front of the value (streamgraph.c), and
 * fl_ctx_config_as checks both before it hands the value out (runtime.c), so that a
 * configuration read as another type, or by an operator that has none, fails the task
 * with a message naming the call instead of handing out the wrong bytes. The header is
 * 64 bytes, so the value keeps the 16-byte alignment of the buffer that holds it.
 */
#ifndef FL_API_TYPED_CONFIG_H
#define FL_API_TYPED_CONFIG_H

#include <stdint.h>

#define FL_CFG_MAGIC 0x46434c46u /* "FLCF" */

typedef struct fl_cfg_header {
    uint32_t magic;
    uint32_t size;    /* of the value after the header */
    char type[56];    /* the type's name as written, whitespace collapsed, NUL-terminated */
} fl_cfg_header;

_Static_assert(sizeof(fl_cfg_header) == 64, "the value after the header stays aligned");

/* type with runs of whitespace collapsed to one space and no space at either end, into
 * out (cut to fit). */
static inline void fl_cfg_type_name(const char *type, char out[56])
{
    int n = 0;
    for (const char *p = type; *p && n < 55; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            if (n > 0 && out[n - 1] != ' ')
                out[n++] = ' ';
            continue;
        }
        out[n++] = *p;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    for (int i = n; i < 56; i++)
        out[i] = 0;
}

#endif
