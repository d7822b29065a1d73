/* bundle.h -- loading a job bundle (a shared object with flint_main), with one clear error
 * for each way it can be wrong. Used by the client (to build the graph) and by
 * TaskManagers (to resolve the functions the graph names). */
#ifndef FL_BUNDLE_H
#define FL_BUNDLE_H

#include <flint/flint.h>

#include "err.h"

typedef int (*fl_main_fn)(fl_env *env, int argc, char **argv);

typedef struct fl_bundle {
    void *handle;
    fl_main_fn main;
} fl_bundle;

/* Loads path. need_main: fail when flint_main is missing. */
int fl_bundle_open(fl_bundle *b, const char *path, bool need_main, fl_err *err);
/* A function by symbol name: the bundle's own, else one of Flint's built-ins. */
void *fl_bundle_sym(const fl_bundle *b, const char *name);
void fl_bundle_close(fl_bundle *b);

#endif
