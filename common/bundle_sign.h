/* bundle_sign.h -- signed job bundles (beyond Flink): Ed25519 through OpenSSL.
 *
 * A bundle is native code every TaskManager runs. With security.bundles.trusted-keys set,
 * the Dispatcher accepts a submission, and a TaskManager loads a bundle, only when the
 * bundle's bytes carry an Ed25519 signature by one of those public keys. The signature is
 * over the whole file (PureEdDSA: no separate digest), 64 bytes, carried in the JobGraph
 * (bundle_signature) and each task's deployment descriptor. The CLI signs with
 * security.bundles.signing-key, or sends BUNDLE.sig that `flint sign` wrote.
 */
#ifndef FL_BUNDLE_SIGN_H
#define FL_BUNDLE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

#define FL_BUNDLE_SIG_LEN 64

/* The keys of security.bundles.trusted-keys: NULL (and 0) when the key is unset, i.e.
 * bundles are not checked; -1 with err naming the file when one cannot be read or holds
 * no Ed25519 public key. */
typedef struct fl_trusted_keys fl_trusted_keys;
int fl_trusted_keys_load(const fl_conf *conf, fl_trusted_keys **out, fl_err *err);
void fl_trusted_keys_free(fl_trusted_keys *k); /* NULL is a no-op */
int fl_trusted_keys_count(const fl_trusted_keys *k);

/* 0 when sig (siglen bytes; none: NULL/0) is a signature of data by one of the keys, else
 * -1 with err saying why ('name' names the bundle in it). */
int fl_bundle_verify(const fl_trusted_keys *k, const char *name, const void *data, size_t len,
                     const uint8_t *sig, size_t siglen, fl_err *err);

/* Signs data with the Ed25519 private key in the PEM file key_path. */
int fl_bundle_sign(const char *key_path, const void *data, size_t len,
                   uint8_t sig[FL_BUNDLE_SIG_LEN], fl_err *err);

#endif
