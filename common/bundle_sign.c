/* bundle_sign.c -- see bundle_sign.h. */
#include "bundle_sign.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define MAX_TRUSTED 64

struct fl_trusted_keys {
    int n;
    EVP_PKEY *key[MAX_TRUSTED];
};

/* An encrypted private key would make OpenSSL ask on the terminal: refuse it instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

/* Every Ed25519 public key of one PEM file (several may follow each other). */
static int load_file(fl_trusted_keys *k, const char *path, fl_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fl_err_set(err, "security.bundles.trusted-keys: cannot read %s: %s", path,
                   strerror(errno));
        return -1;
    }
    int found = 0;
    EVP_PKEY *pk;
    while ((pk = PEM_read_PUBKEY(f, NULL, no_passphrase, NULL))) {
        if (EVP_PKEY_id(pk) != EVP_PKEY_ED25519) {
            EVP_PKEY_free(pk);
            fclose(f);
            fl_err_set(err, "security.bundles.trusted-keys: %s holds a public key that is not "
                            "Ed25519 (make one with: openssl genpkey -algorithm ed25519)",
                       path);
            return -1;
        }
        if (k->n == MAX_TRUSTED) {
            EVP_PKEY_free(pk);
            fclose(f);
            fl_err_set(err, "security.bundles.trusted-keys: more than %d keys", MAX_TRUSTED);
            return -1;
        }
        k->key[k->n++] = pk;
        found++;
    }
    fclose(f);
    ERR_clear_error(); /* the end of the file reads as an error */
    if (!found) {
        fl_err_set(err, "security.bundles.trusted-keys: %s holds no PEM public key "
                        "(-----BEGIN PUBLIC KEY-----)",
                   path);
        return -1;
    }
    return 0;
}

int fl_trusted_keys_load(const fl_conf *conf, fl_trusted_keys **out, fl_err *err)
{
    *out = NULL;
    const char *v = fl_conf_get_str(conf, "security.bundles.trusted-keys");
    if (!v || !*v)
        return 0;
    fl_trusted_keys *k = fl_xcalloc(1, sizeof *k);
    /* a list of files, separated as Flink separates list values (';'), or by ',' */
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ";,");
        char path[4200];
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n >= sizeof path) {
            fl_err_set(err, "security.bundles.trusted-keys: a path is too long");
            fl_trusted_keys_free(k);
            return -1;
        }
        if (n) {
            memcpy(path, p, n);
            path[n] = '\0';
            if (load_file(k, path, err) < 0) {
                fl_trusted_keys_free(k);
                return -1;
            }
        }
        p += strcspn(p, ";,");
        if (*p)
            p++;
    }
    if (!k->n) {
        fl_err_set(err, "security.bundles.trusted-keys names no file");
        fl_trusted_keys_free(k);
        return -1;
    }
    *out = k;
    return 0;
}

void fl_trusted_keys_free(fl_trusted_keys *k)
{
    if (!k)
        return;
    for (int i = 0; i < k->n; i++)
        EVP_PKEY_free(k->key[i]);
    free(k);
}

int fl_trusted_keys_count(const fl_trusted_keys *k)
{
    return k ? k->n : 0;
}

int fl_bundle_verify(const fl_trusted_keys *k, const char *name, const void *data, size_t len,
                     const uint8_t *sig, size_t siglen, fl_err *err)
{
    if (!sig || !siglen) {
        fl_err_set(err, "the job bundle '%s' is not signed: this cluster runs only bundles "
                        "signed by a key of security.bundles.trusted-keys (flint run signs "
                        "with security.bundles.signing-key, or sends the BUNDLE.sig of "
                        "flint sign)",
                   name);
        return -1;
    }
    if (siglen != FL_BUNDLE_SIG_LEN) {
        fl_err_set(err, "the signature of the job bundle '%s' is %zu bytes, not an Ed25519 "
                        "signature (%d)",
                   name, siglen, FL_BUNDLE_SIG_LEN);
        return -1;
    }
    for (int i = 0; i < k->n; i++) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->key[i]) == 1 &&
                 EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;
        EVP_MD_CTX_free(ctx);
        if (ok) {
            ERR_clear_error();
            return 0;
        }
    }
    ERR_clear_error();
    fl_err_set(err, "the job bundle '%s' does not match its signature under any of the %d "
                    "trusted key(s) of security.bundles.trusted-keys: it was changed after "
                    "it was signed, or signed by another key",
               name, k->n);
    return -1;
}

int fl_bundle_sign(const char *key_path, const void *data, size_t len,
                   uint8_t sig[FL_BUNDLE_SIG_LEN], fl_err *err)
{
    FILE *f = fopen(key_path, "re");
    if (!f) {
        fl_err_set(err, "security.bundles.signing-key: cannot read %s: %s", key_path,
                   strerror(errno));
        return -1;
    }
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!pk)
        return fl_openssl_fail(err, "security.bundles.signing-key: %s holds no unencrypted PEM "
                                    "private key",
                               key_path);
    if (EVP_PKEY_id(pk) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pk);
        fl_err_set(err, "security.bundles.signing-key: %s is not an Ed25519 key (make one "
                        "with: openssl genpkey -algorithm ed25519)",
                   key_path);
        return -1;
    }
    size_t siglen = FL_BUNDLE_SIG_LEN;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, data, len) == 1 && siglen == FL_BUNDLE_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    if (!ok)
        return fl_openssl_fail(err, "signing with %s failed", key_path);
    return 0;
}
