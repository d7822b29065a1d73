/* sha256.c -- see sha256.h. libcrypto's EVP interface; its failures (out of memory inside
 * OpenSSL) abort, as fl_xmalloc does: there is no sensible way on without a digest. */
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

static void crypto_failed(const char *what)
{
    fprintf(stderr, "flint: libcrypto %s failed\n", what);
    abort();
}

void fl_sha256(const void *data, size_t len, uint8_t out[FL_SHA256_LEN])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != FL_SHA256_LEN)
        crypto_failed("EVP_Digest(SHA-256)");
}

void fl_sha256_hex(const uint8_t digest[FL_SHA256_LEN], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < FL_SHA256_LEN; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
}

void fl_hmac_sha256(const uint8_t *key, size_t keylen, const void *const *parts,
                    const size_t *lens, size_t n, uint8_t out[FL_SHA256_LEN])
{
    size_t outlen = 0;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!ctx || !EVP_MAC_init(ctx, key, keylen, params))
        crypto_failed("EVP_MAC_init(HMAC-SHA256)");
    for (size_t i = 0; i < n; i++)
        if (!EVP_MAC_update(ctx, parts[i], lens[i]))
            crypto_failed("EVP_MAC_update");
    if (!EVP_MAC_final(ctx, out, &outlen, FL_SHA256_LEN) || outlen != FL_SHA256_LEN)
        crypto_failed("EVP_MAC_final");
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

bool fl_digest_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
