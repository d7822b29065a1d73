/* bundle_cache.h -- a TaskManager's job bundles (Flink's BlobCache for user jars).
 *
 * A deployment names its job's bundle by SHA-256. The TaskManager fetches it from the
 * JobManager once, checks the hash and, with security.bundles.trusted-keys, the signature
 * the deployment carried, keeps it as a file in a private directory (a working copy, removed
 * when the process ends or, after a kill -9, by the next TaskManager to start: the durable
 * copy is the JobManager's, in high-availability storage with HA) and loads it while tasks
 * use it. One thread: the TaskExecutor's.
 */
#ifndef FL_BUNDLE_CACHE_H
#define FL_BUNDLE_CACHE_H

#include "common/bundle.h"
#include "common/bundle_sign.h"
#include "common/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One bundle this TaskManager has, or is fetching. */
typedef struct fl_bundle_entry {
    struct fl_bundle_entry *next;
    uint8_t sha[32];
    char hex[65];
    enum { FL_BUNDLE_FETCHING, FL_BUNDLE_READY, FL_BUNDLE_FAILED } state;
    fl_bundle bundle;               /* loaded while READY */
    char name[256];                 /* the bundle's file name, for messages */
    uint8_t sig[FL_BUNDLE_SIG_LEN]; /* the signature the deployment that fetches it sent */
    size_t siglen;
    char error[600];                /* why it FAILED */
    int refs;                       /* tasks using it */
} fl_bundle_entry;

typedef struct fl_bundle_cache fl_bundle_cache;

/* Removes the cache directories of TaskManagers that are gone (blob.storage.directory, or
 * /tmp), then makes this process's own (locked while it lives). A cache that cannot make its
 * directory logs why and fails every fetch with that. */
fl_bundle_cache *fl_bundle_cache_new(const fl_conf *conf, const char *resource_id);
/* security.bundles.trusted-keys: -1 with err when they cannot be read. */
int fl_bundle_cache_load_keys(fl_bundle_cache *c, const fl_conf *conf, fl_err *err);
void fl_bundle_cache_free(fl_bundle_cache *c);

/* The entry of sha, a new FETCHING one when unknown. */
fl_bundle_entry *fl_bundle_cache_get(fl_bundle_cache *c, const uint8_t sha[32]);
/* When the bundle's file is in the cache already (fetched for another job, or before its
 * last user went), loads it: READY or FAILED. False when it must be fetched. */
bool fl_bundle_cache_load_stored(fl_bundle_cache *c, fl_bundle_entry *b);
/* The bytes fetched from the JobManager: checked (hash, signature), stored and loaded:
 * READY or FAILED with b->error. */
void fl_bundle_cache_store(fl_bundle_cache *c, fl_bundle_entry *b, const uint8_t *data,
                           size_t len);
/* A task is done with b: the last one unloads it (its file stays for the next). */
void fl_bundle_cache_release(fl_bundle_entry *b);

#endif
