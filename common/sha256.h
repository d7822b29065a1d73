/* sha256.h -- SHA-256 and HMAC-SHA256, the one place Flint reaches OpenSSL's libcrypto for
 * hashing: content-addressed bundles in the blob store (dispatcher, task executor) and the
 * cluster-secret handshake (auth.h). Pure functions; any thread.
 */
#ifndef FL_SHA256_H
#define FL_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_SHA256_LEN 32

void fl_sha256(const void *data, size_t len, uint8_t out[FL_SHA256_LEN]);
/* 64 hex chars + NUL into out. */
void fl_sha256_hex(const uint8_t digest[FL_SHA256_LEN], char out[65]);
/* HMAC-SHA256 of the n parts (parts[i], lens[i]) concatenated, under key. */
void fl_hmac_sha256(const uint8_t *key, size_t keylen, const void *const *parts,
                    const size_t *lens, size_t n, uint8_t out[FL_SHA256_LEN]);
/* Compares in time independent of where a and b differ (for MACs). */
bool fl_digest_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
