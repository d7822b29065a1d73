/* cli_sign.c -- signed bundles on the client's side: `flint sign` writes BUNDLE.sig, and
 * `flint run` sends a signature with every submission it can sign (common/bundle_sign.h). */
#include "cli.h"
#include "common/bundle_sign.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The detached signature of a bundle: the 64 raw bytes of an Ed25519 signature, as
 * `openssl pkeyutl -sign -rawin -inkey KEY -in BUNDLE -out BUNDLE.sig` writes them. */
static void sig_path(const char *bundle, char *out, size_t len)
{
    snprintf(out, len, "%s.sig", bundle);
}

int fl_cli_bundle_signature(fl_cli *cli, const char *bundle, const void *data, size_t len,
                            uint8_t sig[FL_BUNDLE_SIG_LEN], bool *have, fl_err *err)
{
    *have = false;
    const char *key = fl_conf_get_str(cli->conf, "security.bundles.signing-key");
    if (key && *key) {
        if (fl_bundle_sign(key, data, len, sig, err) < 0)
            return -1;
        *have = true;
        return 0;
    }
    char path[4200];
    sig_path(bundle, path, sizeof path);
    char *s;
    size_t n;
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0; /* unsigned: a cluster with trusted keys refuses it, naming why */
    if (fl_read_file(path, &s, &n, err) < 0)
        return -1;
    if (n != FL_BUNDLE_SIG_LEN) {
        fl_err_set(err, "%s is not an Ed25519 signature (%zu bytes, not %d)", path, n,
                   FL_BUNDLE_SIG_LEN);
        free(s);
        return -1;
    }
    memcpy(sig, s, FL_BUNDLE_SIG_LEN);
    free(s);
    *have = true;
    return 0;
}

int fl_cli_sign(fl_cli *cli)
{
    const char *key = fl_conf_get_str(cli->conf, "security.bundles.signing-key");
    const char *bundle = NULL;
    for (int i = 0; i < cli->argc; i++) {
        if ((!strcmp(cli->argv[i], "-k") || !strcmp(cli->argv[i], "--key")) &&
            i + 1 < cli->argc) {
            key = cli->argv[++i];
        } else if (cli->argv[i][0] == '-' || bundle) {
            fprintf(stderr, "Unknown argument '%s'.\n  Syntax: sign [--key <private key>] "
                            "<bundle.so>\n",
                    cli->argv[i]);
            return 1;
        } else {
            bundle = cli->argv[i];
        }
    }
    if (!bundle) {
        fprintf(stderr, "Missing the job bundle: flint sign [--key <private key>] <bundle.so>\n");
        return 1;
    }
    if (!key || !*key) {
        fprintf(stderr, "No signing key: give --key <Ed25519 private key (PEM)> or set "
                        "security.bundles.signing-key\n");
        return 1;
    }
    fl_err err;
    char *data, path[4200];
    size_t len;
    uint8_t sig[FL_BUNDLE_SIG_LEN];
    if (fl_read_file(bundle, &data, &len, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int rc = fl_bundle_sign(key, data, len, sig, &err);
    free(data);
    sig_path(bundle, path, sizeof path);
    if (rc < 0 || fl_write_file(path, sig, sizeof sig, true, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("Signed %s: the signature is in %s (flint run sends it with the bundle).\n", bundle,
           path);
    return 0;
}
