/* hashmap_backend.c -- the in-memory keyed backend ("hashmap", Flink's HashMapStateBackend):
 * each named state is one fl_hmap whose keys are the record key followed by the namespace,
 * tagged with their key group. One task thread. */
#include "common/bytes.h"
#include "common/fs.h"
#include "common/hmap.h"
#include "common/keygroup.h"
#include "common/path.h"
#include "common/util.h"
#include "compress.h"
#include "keyed.h"
#include "proto/checkpoint.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hm_backend hm_backend;

struct fl_kstate {
    hm_backend *b;
    char name[128];
    fl_hmap *map;
};

/* The murmur3 hashes of recently used namespaces of up to 16 bytes, direct-mapped. A
 * record's windows recur from record to record (a tumbling window's namespace for all the
 * records of the window, a sliding one's for size/slide windows in a row), so murmur3
 * over the namespace per lookup (8 % of the window task of bench/windows.sh) becomes two
 * compares. The hash itself is unchanged: it is in the snapshot files. */
#define NS_MEMO_BITS 6
typedef struct ns_memo {
    uint64_t a, b;  /* the namespace's bytes, zero-padded to 16 */
    uint32_t len;   /* 0: empty slot */
    uint32_t hash;
} ns_memo;

struct hm_backend {
    fl_kbackend base; /* first */
    fl_kstate **states;
    int nstates;
    uint8_t *scratch; /* key + namespace */
    uint32_t scap;
    ns_memo memo[1u << NS_MEMO_BITS];
};

#define NS_SEED 0x2545f491u

static inline uint32_t ns_hash(hm_backend *b, const void *ns, uint32_t nslen)
{
    if (nslen > 16)
        return fl_murmur3_32(ns, nslen, NS_SEED);
    uint64_t w[2] = {0, 0};
    memcpy(w, ns, nslen);
    /* windows differ in their start (the first 8 bytes) by multiples of the slide: the
     * multiply spreads those into the top bits */
    uint32_t i = (uint32_t)(((w[0] ^ (w[1] * 0xff51afd7ed558ccdull)) * 0x9e3779b97f4a7c15ull) >>
                            (64 - NS_MEMO_BITS));
    ns_memo *m = &b->memo[i];
    if (m->len != nslen || m->a != w[0] || m->b != w[1]) {
        m->a = w[0];
        m->b = w[1];
        m->len = nslen;
        m->hash = fl_murmur3_32(ns, nslen, NS_SEED);
    }
    return m->hash;
}

/* The hash of (current key, ns). */
static inline uint32_t full_hash(hm_backend *b, const void *ns, uint32_t nslen)
{
    return nslen ? b->base.hash ^ ns_hash(b, ns, nslen) : b->base.hash;
}

/* memcpy of a key, without a call for the short keys most are: two overlapping copies of
 * a fixed size (a call to memcpy per lookup was 6 % of bench/window_op's instructions). */
static inline void copy_key(uint8_t *d, const void *src, uint32_t n)
{
    const uint8_t *s = src;
    if (n >= 8 && n <= 16) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        memcpy(d, s, n);
    }
}

/* The map key for (current key, ns): the key itself when ns is empty. */
static const uint8_t *full_key(hm_backend *b, const void *ns, uint32_t nslen, uint32_t *len,
                               uint32_t *hash)
{
    const fl_kbackend *kb = &b->base;
    if (nslen == 0) {
        *len = kb->klen;
        *hash = kb->hash;
        return kb->key;
    }
    uint32_t n = kb->klen + nslen;
    if (n > b->scap) {
        b->scap = n * 2;
        b->scratch = fl_xrealloc(b->scratch, b->scap);
    }
    copy_key(b->scratch, kb->key, kb->klen);
    if (nslen == 16) /* a window's namespace: a copy of known size, no call */
        memcpy(b->scratch + kb->klen, ns, 16);
    else
        memcpy(b->scratch + kb->klen, ns, nslen);
    *len = n;
    *hash = full_hash(b, ns, nslen);
    return b->scratch;
}

static fl_kstate *hm_state(fl_kbackend *kb, const char *name)
{
    hm_backend *b = (hm_backend *)kb;
    for (int i = 0; i < b->nstates; i++)
        if (strcmp(b->states[i]->name, name) == 0)
            return b->states[i];
    fl_kstate *s = fl_xcalloc(1, sizeof *s);
    s->b = b;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->map = fl_hmap_new();
    b->states = fl_xrealloc(b->states, (size_t)(b->nstates + 1) * sizeof *b->states);
    b->states[b->nstates++] = s;
    return s;
}

static bool hm_get(fl_kstate *s, const void *ns, uint32_t nslen, const void **val, uint32_t *len)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_find(s->map, hash, k, klen);
    if (!e)
        return false;
    *val = fl_hentry_val(e);
    *len = e->vlen;
    return true;
}

static void *hm_get_mut(fl_kstate *s, const void *ns, uint32_t nslen, uint32_t *len)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_find_mut(s->map, hash, k, klen);
    if (!e)
        return NULL;
    *len = e->vlen;
    return fl_hentry_val(e);
}

static void hm_prefetch(fl_kstate *s, const void *ns, uint32_t nslen, int step)
{
    /* murmur3 here, not the memo: the window operator prefetches all of an element's
     * windows' slots, then their entries; the hashing between one window's two steps gives
     * its slot the time to arrive (with the memo, bench/window_op's sliding windows ran
     * 15-20 % slower, although with fewer instructions) */
    const fl_kbackend *kb = &s->b->base;
    uint32_t h = nslen ? kb->hash ^ fl_murmur3_32(ns, nslen, NS_SEED) : kb->hash;
    fl_hmap_prefetch(s->map, h, step);
}

static void hm_put(fl_kstate *s, const void *ns, uint32_t nslen, const void *val, uint32_t len)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_upsert(s->map, hash, k, klen, NULL);
    e->tag = s->b->base.kg;
    fl_hmap_set(e, val, len);
}

static void hm_append(fl_kstate *s, const void *ns, uint32_t nslen, const void *val,
                      uint32_t len)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_upsert(s->map, hash, k, klen, NULL);
    e->tag = s->b->base.kg;
    fl_hmap_append(e, val, len);
}

static void hm_remove(fl_kstate *s, const void *ns, uint32_t nslen)
{
    uint32_t klen, hash;
    const uint8_t *k = full_key(s->b, ns, nslen, &klen, &hash);
    fl_hentry *e = fl_hmap_find(s->map, hash, k, klen);
    if (e)
        fl_hmap_remove(s->map, e);
}

static void hm_free(fl_kbackend *kb)
{
    hm_backend *b = (hm_backend *)kb;
    for (int i = 0; i < b->nstates; i++) {
        fl_hmap_free(b->states[i]->map);
        free(b->states[i]);
    }
    free(b->states);
    free(b->scratch);
    free(b);
}

/* ---- snapshots ----------------------------------------------------------------------
 * One file per operator instance: a header, the state names, then for each key group of
 * the range a section [i32 kg][u64 bytes] of entries [u16 state][u32 hash][u32 klen][key]
 * [u32 vlen][value]. Part 1, on the task thread, takes a copy-on-write snapshot of every
 * state's map (no entry is copied: see hmap.h); part 2, on the I/O thread, orders the
 * entries by key group and streams them into the file, then fsyncs it, while the task goes
 * on.
 *
 * With execution.checkpointing.snapshot-compression (Flink's key; as in Flink the unit is
 * one key group, so a restore at another parallelism decompresses only its own) the file
 * is version 2: "FLKH", 2, [u32 flags: 1 = LZ4], the same range, names, and per key group
 * [i32 kg][u64 stored bytes][u64 raw bytes] and one LZ4 frame (compress.h) of the section's
 * entries (none when empty). Off, version 1 as before. The reader takes both whatever the
 * flag says now: the file says how it was written. */

#define HM_MAGIC 0x484b4c46u /* "FLKH" */
#define HM_VERSION 1
#define HM_VERSION_FLAGS 2 /* with a flags word after the version */
#define HM_FLAG_LZ4 1u

struct fl_kb_snapshot {
    fl_hmap_snap **maps;
    char **names;
    int nstates;
    char path[4200], rel[600];
    int kg_first, kg_last;
    bool compress; /* execution.checkpointing.snapshot-compression */
};

static fl_kb_snapshot *hm_snapshot(fl_kbackend *kb, const fl_snapshot_ctx *sc, fl_err *err)
{
    hm_backend *b = (hm_backend *)kb;
    fl_kb_snapshot *snap = fl_xcalloc(1, sizeof *snap);
    snap->nstates = b->nstates;
    snap->maps = fl_xcalloc((size_t)b->nstates + 1, sizeof *snap->maps);
    snap->names = fl_xcalloc((size_t)b->nstates + 1, sizeof *snap->names);
    for (int si = 0; si < b->nstates; si++) {
        snap->maps[si] = fl_hmap_snapshot(b->states[si]->map);
        snap->names[si] = fl_xstrdup(b->states[si]->name);
    }
    snprintf(snap->rel, sizeof snap->rel, "%s.keyed", sc->prefix);
    snprintf(snap->path, sizeof snap->path, "%s/%s", sc->dir, snap->rel);
    snap->kg_first = kb->kg_first;
    snap->kg_last = kb->kg_last;
    snap->compress = sc->compression;
    (void)err;
    return snap;
}

/* Part 2 streams the file through a buffer of HM_CHUNK bytes; besides it, it takes 10 bytes
 * per entry to order them. The state is never laid out whole in memory: it was, and a 1 GB
 * state took 1 GB more for every checkpoint, every page of it freshly faulted in (on a VM
 * that hands freed memory back to its host a quarter of the time of a 1 GB savepoint,
 * which took 11-14 s then and 4-6 s streamed, bench/s3_large_state.sh's state). */
#define HM_CHUNK (4u << 20)

typedef struct hm_out {
    fl_fs_out *o;
    fl_bytes buf;   /* staged, written at HM_CHUNK */
    uint64_t total; /* bytes of the file */
    int rc;
    fl_err *err;
} hm_out;

static void out_flush(hm_out *w)
{
    if (!w->rc && w->buf.len && fl_fs_out_write(w->o, w->buf.p, w->buf.len, w->err) < 0)
        w->rc = -1;
    w->total += w->buf.len;
    w->buf.len = 0;
}

static void out_put(hm_out *w, const void *p, size_t n)
{
    fl_bytes_put(&w->buf, p, n);
    if (w->buf.len >= HM_CHUNK)
        out_flush(w);
}

static void out_u64(hm_out *w, uint64_t v)
{
    out_put(w, &v, 8);
}

static void put_entry(fl_bytes *d, uint16_t si, fl_hentry *e)
{
    uint8_t h[10];
    memcpy(h, &si, 2);
    memcpy(h + 2, &e->hash, 4);
    memcpy(h + 6, &e->klen, 4);
    fl_bytes_put(d, h, sizeof h);
    fl_bytes_put(d, fl_hentry_key(e), e->klen);
    fl_bytes_put(d, &e->vlen, 4);
    fl_bytes_put(d, fl_hentry_val(e), e->vlen);
}

/* The live entries of the snapshot's key groups, ordered by key group (a counting sort;
 * within one, by state and insertion, as they are iterated), with their states:
 * (*ent)[(*first)[k] .. (*first)[k + 1]) are key group kg_first + k's. *bytes[k]: its
 * section's length; *state_size: the keys' and values' bytes. */
static void hm_order(fl_kb_snapshot *snap, fl_hentry ***ent, uint16_t **sid, size_t **first,
                     uint64_t **bytes, uint64_t *state_size)
{
    int nkg = snap->kg_last - snap->kg_first + 1;
    size_t *at = fl_xcalloc((size_t)nkg + 1, sizeof *at);
    uint64_t *nb = fl_xcalloc((size_t)nkg, sizeof *nb);
    *state_size = 0;
    for (int si = 0; si < snap->nstates; si++) {
        uint32_t cur = 0;
        fl_hentry *e;
        while ((e = fl_hmap_snap_next(snap->maps[si], &cur))) {
            if (e->tag < snap->kg_first || e->tag > snap->kg_last)
                continue;
            at[e->tag - snap->kg_first + 1]++;
            nb[e->tag - snap->kg_first] += 2 + 4 + 4 + e->klen + 4 + e->vlen;
            *state_size += e->klen + e->vlen;
        }
    }
    for (int k = 0; k < nkg; k++)
        at[k + 1] += at[k];
    size_t n = at[nkg];
    *first = fl_xmalloc(((size_t)nkg + 1) * sizeof **first);
    memcpy(*first, at, ((size_t)nkg + 1) * sizeof *at);
    *ent = fl_xmalloc((n + 1) * sizeof **ent);
    *sid = fl_xmalloc((n + 1) * sizeof **sid);
    for (int si = 0; si < snap->nstates; si++) {
        uint32_t cur = 0;
        fl_hentry *e;
        while ((e = fl_hmap_snap_next(snap->maps[si], &cur))) {
            if (e->tag < snap->kg_first || e->tag > snap->kg_last)
                continue;
            size_t i = at[e->tag - snap->kg_first]++;
            (*ent)[i] = e;
            (*sid)[i] = (uint16_t)si;
        }
    }
    free(at);
    *bytes = nb;
}

/* Writes the file: version 1, or version 2 with every key group's section one LZ4 frame.
 * Its length in *size. */
static int hm_write_file(fl_kb_snapshot *snap, fl_fs_out *o, uint64_t *size,
                         uint64_t *state_size, fl_err *err)
{
    int nkg = snap->kg_last - snap->kg_first + 1;
    fl_hentry **ent;
    uint16_t *sid;
    size_t *first;
    uint64_t *bytes;
    hm_order(snap, &ent, &sid, &first, &bytes, state_size);
    hm_out w = {.o = o, .err = err};
    fl_bytes_reserve(&w.buf, HM_CHUNK + 4096);
    uint32_t head[3] = {HM_MAGIC, snap->compress ? HM_VERSION_FLAGS : HM_VERSION, HM_FLAG_LZ4};
    out_put(&w, head, snap->compress ? 12 : 8);
    uint32_t range[3] = {(uint32_t)snap->kg_first, (uint32_t)snap->kg_last,
                         (uint32_t)snap->nstates};
    out_put(&w, range, sizeof range);
    for (int si = 0; si < snap->nstates; si++) {
        uint16_t n = (uint16_t)strlen(snap->names[si]);
        out_put(&w, &n, 2);
        out_put(&w, snap->names[si], n);
    }
    fl_bytes sec = {0}, z = {0}; /* compressing: one section, and its frame */
    for (int k = 0; k < nkg && !w.rc; k++) {
        int32_t kg = snap->kg_first + k;
        out_put(&w, &kg, 4);
        if (!snap->compress) {
            out_u64(&w, bytes[k]);
            for (size_t i = first[k]; i < first[k + 1]; i++) {
                put_entry(&w.buf, sid[i], ent[i]);
                if (w.buf.len >= HM_CHUNK)
                    out_flush(&w);
            }
            continue;
        }
        sec.len = 0;
        for (size_t i = first[k]; i < first[k + 1]; i++)
            put_entry(&sec, sid[i], ent[i]);
        size_t stored = 0;
        if (sec.len) {
            size_t bound = fl_lz4_bound(sec.len);
            if (z.cap < bound)
                fl_bytes_reserve(&z, bound - z.len);
            stored = fl_lz4_pack(sec.p, sec.len, z.p, z.cap, err);
            if (!stored)
                w.rc = -1;
        }
        out_u64(&w, stored);
        out_u64(&w, sec.len);
        out_put(&w, z.p, stored);
    }
    out_flush(&w);
    fl_bytes_free(&sec);
    fl_bytes_free(&z);
    fl_bytes_free(&w.buf);
    free(ent);
    free(sid);
    free(first);
    free(bytes);
    *size = w.total;
    return w.rc;
}

static int hm_snapshot_write(fl_kb_snapshot *snap, uint8_t **handle, size_t *len, fl_err *err)
{
    uint64_t state_size, size;
    /* one write stream for every file system: on an object store one PUT when small, a
     * multipart upload in parts of s3.upload.min.part.size when large (a single PUT stops
     * at 5 GB and cannot be retried part by part); locally a hidden file, fsynced, renamed
     * and its directory synced -- durable before the acknowledgement, so the _metadata
     * the coordinator writes after every acknowledgement never points to data a power
     * loss took */
    fl_fs_out *o = fl_fs_out_open(snap->path, err);
    if (!o)
        return -1;
    if (hm_write_file(snap, o, &size, &state_size, err) < 0) {
        fl_fs_out_abort(o);
        return -1;
    }
    if (fl_fs_out_close(o, err) < 0)
        return -1;
    Fl__Pb__KeyedStateHandle h = FL__PB__KEYED_STATE_HANDLE__INIT;
    Fl__Pb__StateFile f = FL__PB__STATE_FILE__INIT, *fp = &f;
    f.path = snap->rel;
    f.size = size;
    h.backend = "hashmap";
    h.kg_first = snap->kg_first;
    h.kg_last = snap->kg_last;
    h.n_files = 1;
    h.files = &fp;
    h.state_size = state_size;
    h.incremental_size = size;
    *len = protobuf_c_message_get_packed_size(&h.base);
    *handle = fl_xmalloc(*len);
    protobuf_c_message_pack(&h.base, *handle);
    return 0;
}

static void hm_snapshot_free(fl_kb_snapshot *snap)
{
    if (!snap)
        return;
    for (int si = 0; si < snap->nstates; si++) {
        fl_hmap_snap_free(snap->maps[si]);
        free(snap->names[si]);
    }
    free(snap->maps);
    free(snap->names);
    free(snap);
}

/* Bounded reading of a snapshot file. */
typedef struct rbuf {
    const uint8_t *p, *end;
} rbuf;

static bool rget(rbuf *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return false;
    memcpy(out, r->p, n);
    r->p += n;
    return true;
}

/* The entries of one key group's section into the backend's maps. */
static int restore_section(fl_kstate **map, uint32_t nstates, int32_t kg, rbuf sec,
                           const char *path, fl_err *err)
{
    while (sec.p < sec.end) {
        uint16_t si;
        uint32_t hash, klen, vlen;
        const uint8_t *key, *val;
        if (!rget(&sec, &si, 2) || si >= nstates || !rget(&sec, &hash, 4) ||
            !rget(&sec, &klen, 4) || klen > (uint64_t)(sec.end - sec.p)) {
            fl_err_set(err, "%s: damaged entry in key group %d", path, kg);
            return -1;
        }
        key = sec.p;
        sec.p += klen;
        if (!rget(&sec, &vlen, 4) || vlen > (uint64_t)(sec.end - sec.p)) {
            fl_err_set(err, "%s: damaged entry in key group %d", path, kg);
            return -1;
        }
        val = sec.p;
        sec.p += vlen;
        fl_hentry *e = fl_hmap_upsert(map[si]->map, hash, key, klen, NULL);
        e->tag = kg;
        fl_hmap_set(e, val, vlen);
    }
    return 0;
}

static int restore_file(hm_backend *b, const char *path, fl_err *err)
{
    fl_kbackend *kb = &b->base;
    char *data;
    size_t len;
    if (fl_fs_get(path, &data, &len, err) < 0)
        return -1;
    rbuf r = {(const uint8_t *)data, (const uint8_t *)data + len};
    uint32_t magic, version, flags = 0, first, last, nstates;
    fl_kstate **map = NULL;
    uint8_t *raw = NULL; /* a decompressed section */
    size_t raw_cap = 0;
    int rc = -1;
    if (!rget(&r, &magic, 4) || magic != HM_MAGIC || !rget(&r, &version, 4) ||
        (version != HM_VERSION && version != HM_VERSION_FLAGS) ||
        (version == HM_VERSION_FLAGS && (!rget(&r, &flags, 4) || (flags & ~HM_FLAG_LZ4))) ||
        !rget(&r, &first, 4) || !rget(&r, &last, 4) ||
        !rget(&r, &nstates, 4) || nstates > 65535 || first > last || last > 32767) {
        fl_err_set(err, "%s is not a hashmap state snapshot (bad header)", path);
        goto out;
    }
    map = fl_xcalloc(nstates + 1, sizeof *map);
    for (uint32_t i = 0; i < nstates; i++) {
        uint16_t n;
        char name[256];
        if (!rget(&r, &n, 2) || n >= sizeof name || !rget(&r, name, n)) {
            fl_err_set(err, "%s: damaged state names", path);
            goto out;
        }
        name[n] = '\0';
        map[i] = hm_state(kb, name);
    }
    bool lz4 = flags & HM_FLAG_LZ4;
    while (r.p < r.end) {
        int32_t kg;
        uint64_t nb, nraw = 0;
        /* LZ4 expands at most about 255-fold: a larger raw size is damage, not a bomb */
        if (!rget(&r, &kg, 4) || !rget(&r, &nb, 8) || nb > (uint64_t)(r.end - r.p) ||
            (lz4 && (!rget(&r, &nraw, 8) || nb > (uint64_t)(r.end - r.p) ||
                     nraw > nb * 256 + 64 || (nraw == 0) != (nb == 0)))) {
            fl_err_set(err, "%s: damaged key-group section", path);
            goto out;
        }
        rbuf sec = {r.p, r.p + nb};
        r.p += nb;
        if (kg < kb->kg_first || kg > kb->kg_last)
            continue; /* another subtask's key group (rescaling): not even decompressed */
        if (lz4) {
            if (nraw > raw_cap) {
                free(raw);
                raw_cap = (size_t)nraw;
                raw = fl_xmalloc(raw_cap);
            }
            if (fl_lz4_unpack(sec.p, (size_t)nb, raw, (size_t)nraw, err) < 0) {
                fl_err_prefix(err, "%s, key group %d", path, kg);
                goto out;
            }
            sec.p = raw;
            sec.end = nraw ? raw + nraw : raw; /* an empty section: raw may still be NULL */
        }
        if (restore_section(map, nstates, kg, sec, path, err) < 0)
            goto out;
    }
    rc = 0;
out:
    free(raw);
    free(map);
    free(data);
    return rc;
}

static int hm_restore(fl_kbackend *kb, const char *dir, const uint8_t *const *handles,
                      const size_t *lens, size_t n, fl_err *err)
{
    hm_backend *b = (hm_backend *)kb;
    for (size_t i = 0; i < n; i++) {
        Fl__Pb__KeyedStateHandle *h = fl__pb__keyed_state_handle__unpack(NULL, lens[i], handles[i]);
        if (!h) {
            fl_err_set(err, "a keyed state handle does not decode");
            return -1;
        }
        int rc = 0;
        if (strcmp(h->backend, "hashmap") != 0) {
            fl_err_set(err, "the state was written by the %s state backend; the hashmap backend "
                            "cannot restore it (set state.backend.type: %s)",
                       h->backend, h->backend);
            rc = -1;
        } else if (h->kg_last >= kb->kg_first && h->kg_first <= kb->kg_last) {
            for (size_t f = 0; f < h->n_files && rc == 0; f++) {
                char path[4200];
                if (!fl_path_is_handle(h->files[f]->path) || strlen(dir) > 2048) {
                    fl_err_set(err, "bad state file path %.600s", h->files[f]->path);
                    rc = -1;
                    break;
                }
                snprintf(path, sizeof path, "%s/%s", dir, h->files[f]->path);
                rc = restore_file(b, path, err);
            }
        }
        fl__pb__keyed_state_handle__free_unpacked(h, NULL);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static void hm_notify_complete(fl_kbackend *kb, int64_t id)
{
}

static const fl_kbackend_ops hm_ops = {
    .state = hm_state,
    .get = hm_get,
    .put = hm_put,
    .remove = hm_remove,
    .append = hm_append,
    .free = hm_free,
    .get_mut = hm_get_mut,
    .prefetch = hm_prefetch,
    .snapshot = hm_snapshot,
    .snapshot_write = hm_snapshot_write,
    .snapshot_free = hm_snapshot_free,
    .restore = hm_restore,
    .notify_complete = hm_notify_complete,
};

fl_kbackend *fl_kbackend_hashmap_new(int max_parallelism, int kg_first, int kg_last)
{
    hm_backend *b = fl_xcalloc(1, sizeof *b);
    b->base.ops = &hm_ops;
    b->base.max_parallelism = max_parallelism;
    b->base.kg_first = kg_first;
    b->base.kg_last = kg_last;
    return &b->base;
}

void fl_kbackend_free(fl_kbackend *b)
{
    if (b)
        b->ops->free(b);
}

void fl_kbackend_set_key(fl_kbackend *b, const void *key, uint32_t klen)
{
    b->key = key;
    b->klen = klen;
    b->hash = fl_key_hash(key, klen);
    b->kg = fl_key_group(b->hash, b->max_parallelism);
}
