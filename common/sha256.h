/* sha256.h -- SHA-256 (FIPS 180-4), for content-addressed bundles in the blob store. */
#ifndef FL_SHA256_H
#define FL_SHA256_H

#include <stddef.h>
#include <stdint.h>

void fl_sha256(const void *data, size_t len, uint8_t out[32]);
/* 64 hex chars + NUL into out. */
void fl_sha256_hex(const uint8_t digest[32], char out[65]);

#endif
