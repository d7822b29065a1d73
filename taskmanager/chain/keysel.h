/* keysel.h -- key selection: the bytes of a record that are its key, taken by a function
 * of the bundle (fl_key_by) or as a field at an offset (fl_key_by_field). Keyed operators
 * take the key of every record to make it their backend's current key (fl_op_set_key,
 * operator.h); hash partitioners take it to pick the consumer (output.c). Task thread;
 * nothing allocates.
 */
#ifndef FL_CHAIN_KEYSEL_H
#define FL_CHAIN_KEYSEL_H

#include <flint/flint.h>

#include "common/bundle.h"
#include "common/err.h"

#include "proto/jobgraph.pb-c.h"

typedef struct fl_keysel {
    fl_key_fn fn;             /* or the field below */
    uint32_t off, len;
} fl_keysel;

/* From spec (none: an empty selector); -1 when the named function is not in bundle. */
int fl_keysel_init(fl_keysel *k, const Fl__Pb__KeySpec *spec, const fl_bundle *b, fl_err *err);
/* Extracts the key of r into buf (FL_MAX_KEY bytes); returns its length or -1. */
int fl_keysel_extract(const fl_keysel *k, const fl_rec *r, uint8_t *buf);

#endif
