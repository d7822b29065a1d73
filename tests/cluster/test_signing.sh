#!/usr/bin/env bash
# test_signing.sh -- issue 15 point 5: signed job bundles (security.bundles.trusted-keys).
# Keys are made with the openssl command, independently of Flint:
#   * a cluster trusting key A refuses an unsigned bundle, one signed by key B and one
#     changed after it was signed (a clear 400 naming why), and keeps serving;
#   * `flint sign` writes a signature the openssl command verifies, and a signature the
#     openssl command made is accepted by the cluster: the job runs and its counts equal
#     those of tr | sort | uniq -c;
#   * flint run with security.bundles.signing-key signs by itself;
#   * a TaskManager trusting key A under a JobManager that checks nothing refuses to load an
#     unsigned bundle (the job fails naming the TaskManager and why), then runs the same
#     bundle once it comes signed;
#   * the JobManager never maps a bundle into its memory (/proc/PID/maps).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

K="$TEST_DIR/keys"
mkdir -p "$K"
for who in a b; do
    openssl genpkey -algorithm ed25519 -out "$K/$who.key" 2>/dev/null || fail "openssl genpkey failed"
    openssl pkey -in "$K/$who.key" -pubout -out "$K/$who.pub" 2>/dev/null || fail "openssl pkey failed"
done
cp "$EX/wordcount.so" "$TEST_DIR/wc.so"
py "$FLINT_HOME/tests/cluster/ref/gen_text.py" --seed 7 --bytes 200000 "$TEST_DIR/text" ||
    fail "gen_text.py failed"
expected=$(tr -cs 'A-Za-z0-9' '\n' <"$TEST_DIR/text" | tr 'A-Z' 'a-z' | grep -v '^$' |
    sort | uniq -c | awk '{print $2, $1}' | sort)

# run_wc NAME DIR [flint options...]: flint run wordcount into DIR; the CLI's output in NAME.out
run_wc() {
    local name=$1 dir=$2
    shift 2
    "$FLINT" run "$@" -p 2 "$TEST_DIR/wc.so" --input "$TEST_DIR/text" --output "$dir" \
        >"$TEST_DIR/$name.out" 2>&1
}
counts_of() { # the final count of each word in DIR's part files, sorted
    cat "$1"/*/part-* "$1"/part-* 2>/dev/null | awk -F, '{ if ($2 > c[$1]) c[$1] = $2 }
        END { for (w in c) print w, c[w] }' | sort
}
refused() { # NAME WHY: the submission was refused, saying WHY
    grep -q "$2" "$TEST_DIR/$1.out" ||
        fail "$1: expected a refusal saying '$2', got: $(cat "$TEST_DIR/$1.out")"
}

step "a JobManager and a TaskManager trusting key A"
conf_set taskmanager.numberOfTaskSlots 2
conf_set security.bundles.trusted-keys "$K/a.pub"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 2" 10 || fail "cluster not up: $(overview_str)"

run_wc unsigned "$TEST_DIR/o1" && fail "an unsigned bundle was accepted"
refused unsigned "is not signed"
openssl pkeyutl -sign -rawin -inkey "$K/b.key" -in "$TEST_DIR/wc.so" -out "$TEST_DIR/wc.so.sig" ||
    fail "openssl pkeyutl -sign failed"
run_wc other-key "$TEST_DIR/o2" && fail "a bundle signed by an untrusted key was accepted"
refused other-key "does not match its signature"
[ "$(rest GET /jobs/overview | py -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')" = 0 ] ||
    fail "a refused submission left a job: $(rest GET /jobs/overview)"
step "unsigned and other-key bundles refused, no job created"

# flint sign, checked by openssl; then the bundle changed after signing
"$FLINT" sign --key "$K/a.key" "$TEST_DIR/wc.so" >"$TEST_DIR/sign.out" 2>&1 ||
    fail "flint sign failed: $(cat "$TEST_DIR/sign.out")"
openssl pkeyutl -verify -pubin -inkey "$K/a.pub" -rawin -in "$TEST_DIR/wc.so" \
    -sigfile "$TEST_DIR/wc.so.sig" >/dev/null 2>&1 ||
    fail "openssl does not verify the signature flint sign wrote"
cp "$TEST_DIR/wc.so" "$TEST_DIR/wc.orig"
printf 'x' >>"$TEST_DIR/wc.so" # still a loadable ELF, no longer what was signed
run_wc tampered "$TEST_DIR/o3" && fail "a bundle changed after signing was accepted"
refused tampered "does not match its signature"
cp "$TEST_DIR/wc.orig" "$TEST_DIR/wc.so"
step "flint sign's signature verifies with openssl; a changed bundle is refused"

# a signature made by openssl, sent by flint run from wc.so.sig
openssl pkeyutl -sign -rawin -inkey "$K/a.key" -in "$TEST_DIR/wc.so" -out "$TEST_DIR/wc.so.sig" ||
    fail "openssl pkeyutl -sign failed"
run_wc signed "$TEST_DIR/o4" || fail "the signed bundle was refused: $(cat "$TEST_DIR/signed.out")"
got=$(counts_of "$TEST_DIR/o4")
[ -n "$got" ] && [ "$got" = "$expected" ] ||
    fail "the signed job's counts differ from tr | sort | uniq -c: $(diff <(echo "$expected") <(echo "$got") | head -5)"
rm -f "$TEST_DIR/wc.so.sig"
run_wc self-signed "$TEST_DIR/o5" -D "security.bundles.signing-key=$K/a.key" ||
    fail "flint run with a signing key was refused: $(cat "$TEST_DIR/self-signed.out")"
[ "$(counts_of "$TEST_DIR/o5")" = "$expected" ] || fail "the self-signed job's counts differ"
step "signed by openssl (BUNDLE.sig) and by flint run itself: both run, $(wc -l <<<"$expected") words counted right"

jm=$(pids_of jobmanager | head -n 1)
grep -q 'wc\.so\|blob' "/proc/$jm/maps" && fail "the JobManager maps a bundle: $(grep 'wc\.so\|blob' "/proc/$jm/maps")"
grep -q "Refused job" "$(log_of jobmanager 0)" || fail "the JobManager did not log the refusals"
step "the JobManager never mapped a bundle; it logged each refusal"

# the TaskManager's own check: a JobManager that checks nothing, a TaskManager that does
"$BIN/taskmanager.sh" stop-all >/dev/null 2>&1
"$BIN/jobmanager.sh" stop-all >/dev/null 2>&1
conf_unset security.bundles.trusted-keys
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
"$BIN/taskmanager.sh" start -D "security.bundles.trusted-keys=$K/a.pub" >/dev/null ||
    fail "taskmanager.sh start failed"
wait_for "overview_is 1 2" 10 || fail "cluster not up: $(overview_str)"
run_wc tm-unsigned "$TEST_DIR/o6" && fail "a TaskManager trusting key A ran an unsigned bundle"
grep -q "refused to load it.*is not signed" "$TEST_DIR/tm-unsigned.out" ||
    fail "the job's failure does not name the TaskManager's refusal: $(cat "$TEST_DIR/tm-unsigned.out")"
[ -z "$(ls "$TEST_DIR/o6" 2>/dev/null)" ] || [ -z "$(counts_of "$TEST_DIR/o6")" ] ||
    fail "the refused bundle produced output"
run_wc tm-signed "$TEST_DIR/o7" -D "security.bundles.signing-key=$K/a.key" ||
    fail "the same bundle, signed, failed on that TaskManager: $(cat "$TEST_DIR/tm-signed.out")"
[ "$(counts_of "$TEST_DIR/o7")" = "$expected" ] || fail "the TaskManager-checked job's counts differ"
step "a TaskManager refuses the unsigned bundle (job FAILED naming it), then runs it signed"
