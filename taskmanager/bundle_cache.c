/* bundle_cache.c -- see bundle_cache.h. */
#include "bundle_cache.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"
#include "common/workdir.h"
#include "taskmanager/state/keyed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fl_bundle_cache {
    char resource_id[128];
    char dir[4096];           /* "" when it could not be made */
    int lock;                 /* held while dir is ours (common/workdir.h) */
    fl_trusted_keys *trusted; /* NULL: bundles are not checked */
    fl_bundle_entry *entries;
};

fl_bundle_cache *fl_bundle_cache_new(const fl_conf *conf, const char *resource_id)
{
    fl_bundle_cache *c = fl_xcalloc(1, sizeof *c);
    snprintf(c->resource_id, sizeof c->resource_id, "%s", resource_id);
    /* what TaskManagers killed with -9 left behind, then our own directory (locked while we
     * live, so that the next TaskManager to start after us removes it if we cannot) */
    const char *parent = fl_conf_get_str(conf, "blob.storage.directory");
    if (!parent || !*parent)
        parent = "/tmp";
    fl_workdir_reap(parent, "flint-tm-blobs-");
    fl_kbackend_rocksdb_reap(fl_conf_get_str(conf, "io.tmp.dirs"));
    fl_err err;
    c->lock = fl_workdir_new(parent, "flint-tm-blobs-", c->dir, sizeof c->dir, &err);
    if (c->lock < 0) {
        fl_error("cannot create a bundle cache directory: %s", err.msg);
        c->dir[0] = '\0';
    }
    return c;
}

int fl_bundle_cache_load_keys(fl_bundle_cache *c, const fl_conf *conf, fl_err *err)
{
    if (fl_trusted_keys_load(conf, &c->trusted, err) < 0)
        return -1;
    if (c->trusted)
        fl_info("Job bundles are loaded only when signed by one of %d trusted key(s) "
                "(security.bundles.trusted-keys).",
                fl_trusted_keys_count(c->trusted));
    return 0;
}

void fl_bundle_cache_free(fl_bundle_cache *c)
{
    if (!c)
        return;
    while (c->entries) {
        fl_bundle_entry *b = c->entries;
        c->entries = b->next;
        if (b->state == FL_BUNDLE_READY)
            fl_bundle_close(&b->bundle);
        free(b);
    }
    if (c->dir[0] && fl_remove_tree(c->dir) != 0)
        fl_warn("could not remove %s", c->dir);
    if (c->lock >= 0)
        close(c->lock);
    fl_trusted_keys_free(c->trusted);
    free(c);
}

fl_bundle_entry *fl_bundle_cache_get(fl_bundle_cache *c, const uint8_t sha[32])
{
    fl_bundle_entry *b;
    for (b = c->entries; b; b = b->next)
        if (!memcmp(b->sha, sha, 32))
            return b;
    b = fl_xcalloc(1, sizeof *b);
    memcpy(b->sha, sha, 32);
    fl_sha256_hex(sha, b->hex);
    b->state = FL_BUNDLE_FETCHING;
    b->next = c->entries;
    c->entries = b;
    return b;
}

static void entry_path(const fl_bundle_cache *c, const fl_bundle_entry *b, char *out,
                       size_t len)
{
    snprintf(out, len, "%s/%s.so", c->dir, b->hex);
}

static void load(fl_bundle_cache *c, fl_bundle_entry *b)
{
    char path[4200];
    fl_err err;
    entry_path(c, b, path, sizeof path);
    if (fl_bundle_open(&b->bundle, path, false, &err) < 0) {
        b->state = FL_BUNDLE_FAILED;
        snprintf(b->error, sizeof b->error, "Cannot load the job bundle: %.500s", err.msg);
    } else {
        b->state = FL_BUNDLE_READY;
    }
}

bool fl_bundle_cache_load_stored(fl_bundle_cache *c, fl_bundle_entry *b)
{
    char path[4200];
    entry_path(c, b, path, sizeof path);
    if (!c->dir[0] || access(path, F_OK) != 0)
        return false;
    load(c, b);
    return true;
}

void fl_bundle_cache_store(fl_bundle_cache *c, fl_bundle_entry *b, const uint8_t *data,
                           size_t len)
{
    uint8_t digest[32];
    fl_sha256(data, len, digest);
    if (memcmp(digest, b->sha, 32) != 0) {
        b->state = FL_BUNDLE_FAILED;
        snprintf(b->error, sizeof b->error, "The fetched job bundle does not match its hash");
        return;
    }
    /* before the bytes are stored, so that nothing unverified is ever loaded: a bundle in
     * the cache was verified when fetched (the cache is this process's own) */
    fl_err verr;
    if (c->trusted && fl_bundle_verify(c->trusted, b->name, data, len,
                                       b->siglen ? b->sig : NULL, b->siglen, &verr) < 0) {
        b->state = FL_BUNDLE_FAILED;
        snprintf(b->error, sizeof b->error, "TaskManager %.100s refused to load it: %.400s",
                 c->resource_id, verr.msg);
        fl_warn("%s", b->error);
        return;
    }
    char path[4200], tmp[4300];
    entry_path(c, b, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = c->dir[0] ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755) : -1;
    if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0 ||
        rename(tmp, path) < 0) {
        b->state = FL_BUNDLE_FAILED;
        snprintf(b->error, sizeof b->error, "Cannot store the job bundle in %.300s: %s",
                 c->dir[0] ? c->dir : "(no bundle cache directory)", strerror(errno));
        return;
    }
    load(c, b);
}

void fl_bundle_cache_release(fl_bundle_entry *b)
{
    if (--b->refs == 0 && b->state == FL_BUNDLE_READY) {
        fl_bundle_close(&b->bundle);
        b->state = FL_BUNDLE_FETCHING; /* reloaded from the cache file next time */
    }
}
