#!/usr/bin/env bash
# flint-ssl.sh -- makes a certificate authority and certificates for a Flint cluster with the
# openssl command, as PEM files for security.ssl.* (a small cluster or a test; a production
# cluster uses its own PKI).
#
#   bin/flint-ssl.sh DIR [NAME]...
#
# Writes DIR/ca.pem and DIR/ca.key (the cluster's CA, kept private), then for each NAME
# (default: internal rest client) DIR/NAME.pem and DIR/NAME.key signed by it, valid 365
# days, with subjectAltName localhost, 127.0.0.1 and ::1 (and NAME when it looks like a host
# name). An existing ca.pem is reused, so more certificates can be added to a cluster later.
# The keys are created 0600. Then, in conf/flint-conf.yaml:
#
#   security.ssl.internal.enabled: true
#   security.ssl.internal.key: DIR/internal.key
#   security.ssl.internal.cert: DIR/internal.pem
#   security.ssl.internal.trust-certificates: DIR/ca.pem
#   security.ssl.rest.enabled: true
#   security.ssl.rest.key: DIR/rest.key
#   security.ssl.rest.cert: DIR/rest.pem
#   security.ssl.rest.trust-certificates: DIR/ca.pem
set -eu

if [ $# -lt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    echo "Usage: flint-ssl.sh DIR [NAME]...   (default names: internal rest client)" >&2
    exit 1
fi
command -v openssl >/dev/null 2>&1 || {
    echo "flint-ssl.sh: the openssl command is missing (Debian: apt-get install openssl)" >&2
    exit 1
}
dir=$1
shift
[ $# -gt 0 ] || set -- internal rest client
mkdir -p -- "$dir"
umask 077

if [ ! -f "$dir/ca.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=Flint cluster CA $(date +%Y%m%d%H%M%S)" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
fi

for name in "$@"; do
    san="DNS:localhost,IP:127.0.0.1,IP:::1"
    case "$name" in
        *[!A-Za-z0-9.-]* | "") ;;
        *) san="$san,DNS:$name" ;;
    esac
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=$name" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 365 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
    rm -f -- "$dir/$name.csr" "$dir/$name.ext"
    echo "$dir/$name.pem, $dir/$name.key"
done
chmod 644 -- "$dir"/*.pem
