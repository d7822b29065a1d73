/* keysel.c -- key selection (keysel.h). Task thread; per record, nothing allocates. */
#include "keysel.h"

#include <string.h>

int fl_keysel_init(fl_keysel *k, const Fl__Pb__KeySpec *spec, const fl_bundle *b, fl_err *err)
{
    memset(k, 0, sizeof *k);
    if (!spec)
        return 0;
    if (spec->fn && spec->fn[0]) {
        k->fn = (fl_key_fn)fl_bundle_sym(b, spec->fn);
        if (!k->fn) {
            fl_err_set(err, "key selector '%s' not found in the bundle", spec->fn);
            return -1;
        }
    } else {
        k->off = spec->offset;
        k->len = spec->len;
    }
    return 0;
}

int fl_keysel_extract(const fl_keysel *k, const fl_rec *r, uint8_t *buf)
{
    if (k->fn) {
        uint32_t n = k->fn(r, buf);
        return n > FL_MAX_KEY ? -1 : (int)n;
    }
    if ((uint64_t)k->off + k->len > r->len)
        return -1;
    memcpy(buf, (const uint8_t *)r->data + k->off, k->len);
    return (int)k->len;
}
