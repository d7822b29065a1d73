/* compress.h -- snapshot compression (Flink's execution.checkpointing.snapshot-compression):
 * one LZ4 frame per key-group section of a keyed-state snapshot, so a restore at any
 * parallelism decompresses only the key groups it owns. LZ4 (liblz4 from Debian) for the
 * reason Flink uses Snappy: a checkpoint must not get slower, and LZ4 compresses at several
 * hundred MB/s per core and decompresses faster still; zstd would shrink more and cost more
 * CPU on the snapshot I/O thread. Frames carry their content size and a content checksum,
 * so a damaged section is an error, never garbage state. Called on the snapshot I/O thread
 * (packing) and the task thread (restore); no shared state.
 */
#ifndef FL_STATE_COMPRESS_H
#define FL_STATE_COMPRESS_H

#include <stddef.h>

#include "common/err.h"

/* The most bytes fl_lz4_pack writes for n bytes of input. */
size_t fl_lz4_bound(size_t n);
/* Compresses src[0..n) into one frame at dst (cap >= fl_lz4_bound(n)); its length, or 0
 * with err set. */
size_t fl_lz4_pack(const void *src, size_t n, void *dst, size_t cap, fl_err *err);
/* Decompresses the frame src[0..n) into dst, which must come out exactly raw bytes (else
 * an error: truncated, damaged, checksum mismatch, or another size). */
int fl_lz4_unpack(const void *src, size_t n, void *dst, size_t raw, fl_err *err);

#endif
