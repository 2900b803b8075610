#!/usr/bin/env bash
# The README's test command: every check the project has, run the way CI runs it (.ci/run).
#
#   scripts/test.sh                      all stages
#   scripts/test.sh unit e2e ...         only these stages, in the order below
#
# Stages (each prints its wall time; all selected stages run even when one fails, then the script
# fails if any did). The machine's two cores are kept busy: lint, sanity and artifact run side by side;
# unit, emulator, clients and e2e run on two pytest-xdist workers; integration runs in two shards and molecule two
# scenarios at a time; the matrix lines run side by side. CFOPS_TEST_JOBS=1 runs everything one at a time
# (CFOPS_TEST_JOBS=N: N workers); each side-by-side part prints its output whole when it ends.
#   lint         ansible-lint (production profile, .ansible-lint) and antsibull-changelog lint
#   sanity       ansible-test sanity on the collection's files (scripts/sanity.sh)
#   artifact     the Galaxy artifact: galaxy-importer on the built tarball and antsibull-docs
#                lint-collection-docs --plugin-docs (scripts/artifact.sh, tools in their own venv
#                .tmp/venvs/galaxy-importer), then tests/artifact (allow-list, shipped tests from an
#                installed copy)
#   unit         pytest tests/unit and the repository-level tests (tests/test_*.py:
#                collection metadata, repository hygiene)
#   emulator     pytest tests/emulator (the emulator against the OpenAPI schema and the official SDK)
#   clients      pytest tests/clients (Cloudflare's own clients, wrangler and the official SDK, against the emulator)
#   e2e          pytest tests/e2e (real ansible-playbook runs against the emulator) and tests/live
#                (the live-capable tests, against an emulator here)
#   integration  ansible-test integration, every target, against an emulator started for it
#   molecule     molecule test -s <each scenario of extensions/molecule>, from the repository root
#   matrix       the support matrix (scripts/matrix.sh): for each other ansible-core line that
#                requires_ansible admits (constraints/ansible-core-<line>.txt, a venv per line under
#                .tmp/venvs), ansible-test sanity, the unit tests and one release of the example Worker
#                (tests/matrix); the .venv line gets the same release (its sanity and unit are above)
#   live         (only when named; not part of a full run) the live-capable tests against a real Cloudflare
#                account: needs CFOPS_LIVE_API_TOKEN, CFOPS_LIVE_ACCOUNT_ID, CFOPS_LIVE_ZONE (and optionally
#                CFOPS_LIVE_API_BASE_URL, CFOPS_LIVE_TARGETS, CFOPS_LIVE_ALLOW_FOREIGN=1,
#                CFOPS_LIVE_R2_JURISDICTIONS, CFOPS_LIVE_E2E, CFOPS_LIVE_EDGE_URL for a rehearsal); docs/dev/live-mode.md
#
# scripts/bootstrap.sh runs first (creates/updates .venv). Every emulator this script starts is
# stopped when it exits, whatever happens.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

ALL_STAGES=(lint sanity artifact unit emulator clients e2e integration molecule matrix)
# Run only when named: it needs a Cloudflare account (scripts/test.sh live).
EXTRA_STAGES=(live)
# The integration targets that run in live mode (docs/dev/live-mode.md says how a target becomes one).
LIVE_TARGETS="dns_records_info dns_record dns_records dns_zone_export dns_zone_import healthcheck ruleset zone_settings"
LIVE_TARGETS+=" kv_namespace kv_namespace_info queue queue_consumer"
LIVE_TARGETS+=" worker_script worker_version worker_secret worker_info worker_cron worker_subdomain worker_route"
LIVE_TARGETS+=" worker_custom_domain wrangler_config"
LIVE_TARGETS+=" kv_entry kv_export kv_import d1_database d1_export d1_migrations d1_query"
LIVE_TARGETS+=" r2_bucket r2_object r2_sync backup_manifest backup_sets worker_deployment worker_health_probe"
LIVE_TARGETS+=" api_request zone_info lookup_kv inventory_cloudflare"
# The end-to-end test files that are live-capable (their emulator-only tests skip in live mode).
LIVE_E2E="tests/e2e/test_r2_object.py tests/e2e/test_deploy.py tests/e2e/test_release.py tests/e2e/test_backup_restore.py"
LIVE_E2E+=" tests/e2e/test_awx_backup.py"
# The emulator's default account and token (docs/dev/interfaces.md).
EMULATOR_ACCOUNT_ID="023e105f4ecef8ad9ca31a8372d0c353"
EMULATOR_TOKEN="cfops-local-emulator-token"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

selected=()
for arg in "$@"; do
    case "$arg" in
        -h|--help) usage ;;
        lint|sanity|artifact|unit|emulator|clients|e2e|integration|molecule|matrix|live) selected+=("$arg") ;;
        *) echo "test.sh: unknown stage '$arg' (stages: ${ALL_STAGES[*]} ${EXTRA_STAGES[*]})" >&2; exit 2 ;;
    esac
done
stages=()
for stage in "${ALL_STAGES[@]}" "${EXTRA_STAGES[@]}"; do
    if { [ ${#selected[@]} -eq 0 ] && [[ " ${ALL_STAGES[*]} " == *" $stage "* ]]; } || [[ " ${selected[*]} " == *" $stage "* ]]; then
        stages+=("$stage")
    fi
done

# Live mode refuses to start without its account; checked before anything is installed or started.
if [[ " ${stages[*]} " == *" live "* ]]; then
    missing=()
    for name in CFOPS_LIVE_API_TOKEN CFOPS_LIVE_ACCOUNT_ID CFOPS_LIVE_ZONE; do
        [ -n "${!name:-}" ] || missing+=("$name")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "test.sh: the live stage needs ${missing[*]} (a sandbox account, its id and a test zone; see docs/dev/live-mode.md)" >&2
        exit 2
    fi
fi

# Work files of this run; emulators started by a stage register their data dir here.
# One directory per run (by pid), so two runs in one checkout do not share emulators or copies.
RUN_DIR="$REPO/.tmp/test-run.$$"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
EMULATORS="$RUN_DIR/emulators"
: >"$EMULATORS"

STAGE_PID=""

# Signal a process and all its descendants (by pid), children first.
kill_tree() {
    local pid="$1" child
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        kill_tree "$child"
    done
    kill -TERM "$pid" 2>/dev/null || true
}

cleanup() {
    local dir
    for pid in $STAGE_PID; do
        kill_tree "$pid"
    done
    while IFS= read -r dir; do
        [ -n "$dir" ] && bash "$REPO/scripts/emulator.sh" stop --data-dir "$dir" >/dev/null 2>&1 || true
    done <"$EMULATORS"
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT
trap 'echo "test.sh: terminated" >&2; exit 143' TERM

# Start an emulator on a free port with its own data dir (more emulator.sh options may follow); print its API base URL.
start_emulator() {
    local dir="$1"
    shift
    echo "$dir" >>"$EMULATORS"
    bash scripts/emulator.sh start --port 0 --data-dir "$dir" "$@"
}

# pytest-xdist workers for the pytest stages (unit, emulator, clients, e2e): CFOPS_TEST_JOBS, default 2 (a test
# keeps about one core busy: a playbook run, its module and the emulator take turns). Each worker has its
# own emulators; --dist loadfile keeps a file's tests (and its module-scoped emulator) on one worker.
# CFOPS_TEST_JOBS=1 runs them in one process, as a developer debugging a test would.
parallel_args() {
    local jobs="${CFOPS_TEST_JOBS:-2}"
    if [ "$jobs" -gt 1 ]; then
        printf '%s\n' -n "$jobs" --dist loadfile
    fi
}

# pytest over the given paths; a run that collects no test (exit code 5) fails the stage too.
run_pytest() {
    local rc=0
    python -m pytest -p no:cacheprovider "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "test.sh: pytest collected no test in: $*" >&2
    fi
    return "$rc"
}

# Work run side by side: start_logged NAME COMMAND... runs COMMAND in the background into $RUN_DIR/NAME.log;
# finish_logged NAME waits for it, prints its log whole and returns its exit code.
declare -A LOGGED_PID=()
start_logged() {
    local name="$1"
    shift
    "$@" >"$RUN_DIR/$name.log" 2>&1 &
    LOGGED_PID[$name]=$!
}

finish_logged() {
    local rc=0
    wait "${LOGGED_PID[$1]}" || rc=$?
    cat "$RUN_DIR/$1.log"
    return "$rc"
}

stage_lint() {
    local rc=0
    echo "--- ansible-lint"
    ansible-lint || rc=1
    echo "--- antsibull-changelog lint"
    antsibull-changelog lint || rc=1
    return "$rc"
}

stage_sanity() {
    bash scripts/sanity.sh
}

stage_artifact() {
    local rc=0
    bash scripts/artifact.sh "$RUN_DIR/artifact" || rc=1
    echo "--- tests/artifact"
    run_pytest tests/artifact || rc=1
    return "$rc"
}

stage_unit() {
    # shellcheck disable=SC2046
    run_pytest $(parallel_args) tests/unit tests/test_*.py
}

stage_emulator() {
    # shellcheck disable=SC2046
    run_pytest $(parallel_args) tests/emulator
}

stage_clients() {
    # shellcheck disable=SC2046
    run_pytest $(parallel_args) tests/clients
}

stage_e2e() {
    # tests/live: the live-capable pytest tests, here against an emulator (the live stage runs them live).
    # shellcheck disable=SC2046
    run_pytest $(parallel_args) tests/e2e tests/live
}

# One shard of the integration stage: its own emulator and copy of the collection; output to stdout.
run_integration_shard() {
    local name="$1" url emulator_url dest
    shift
    # example.com stays on Free (the targets test the Free plan's limits); health checks need a Pro zone.
    url="$(start_emulator "$RUN_DIR/emulator-$name" --zone example.com --zone pro.example.com:pro)"
    emulator_url="${url%/client/v4}"
    # ansible-test needs the collection at .../ansible_collections/cfops/cloudflare as the real
    # working directory: os.getcwd() resolves the .collections symlink back to the repository,
    # where ansible-test finds no ansible_collections parent. So it runs in a copy (as sanity does).
    dest="$(bash scripts/sanity.sh --prepare "$RUN_DIR/$name")"
    cat >"$dest/tests/integration/integration_config.yml" <<EOF
---
cf_api_token: $EMULATOR_TOKEN
cf_account_id: $EMULATOR_ACCOUNT_ID
cf_api_base_url: $url
cf_emulator_url: $emulator_url
cf_emulator_admin_token: $(bash scripts/emulator.sh admin-token --data-dir "$RUN_DIR/emulator-$name")
cf_live: false
cf_zone: example.com
cf_paid_zone: pro.example.com
cf_name_prefix: ""
EOF
    echo "$name: emulator at $url, targets: $*"
    # --python 3.11 finds .venv/bin/python3.11 first on PATH: the controller Python, which has
    # httpx for the modules (the targets set ansible_python_interpreter to ansible_playbook_python).
    # --continue-on-error: every target runs; ansible-test still fails at the end if any failed.
    (cd "$dest" && ansible-test integration --python 3.11 --color no --continue-on-error "$@")
}

stage_integration() {
    # CFOPS_INTEGRATION_TARGETS="kv_entry dns_record" runs only those targets (a developer's loop).
    # The targets are dealt into CFOPS_INTEGRATION_SHARDS shards (default 2) that run side by side,
    # each against its own emulator; each shard's output is printed when it ends.
    local shards="${CFOPS_INTEGRATION_SHARDS:-${CFOPS_TEST_JOBS:-2}}" targets=() shard=() target i t rc=0
    if [ -n "${CFOPS_INTEGRATION_TARGETS:-}" ]; then
        read -r -a targets <<<"$CFOPS_INTEGRATION_TARGETS"
    else
        for target in tests/integration/targets/*/; do
            target="$(basename "$target")"
            # setup_* roles are dependencies of the targets (ansible-test runs them through needs/target).
            [[ "$target" == setup_* ]] || targets+=("$target")
        done
    fi
    [ "$shards" -ge 1 ] || shards=1
    [ "$shards" -le "${#targets[@]}" ] || shards="${#targets[@]}"
    for ((i = 0; i < shards; i++)); do
        shard=()
        for ((t = i; t < ${#targets[@]}; t += shards)); do
            shard+=("${targets[t]}")
        done
        start_logged "integration-$i" run_integration_shard "integration-$i" "${shard[@]}"
    done
    for ((i = 0; i < shards; i++)); do
        echo "--- integration shard $i"
        finish_logged "integration-$i" || { rc=1; echo "--- integration shard $i: FAILED"; }
        bash scripts/emulator.sh stop --data-dir "$RUN_DIR/emulator-integration-$i" >/dev/null 2>&1 || true
    done
    return "$rc"
}

stage_live() {
    # Everything this stage makes is named with one run prefix, and deleted at the end even on failure.
    local rc=0 dest prefix base_url
    base_url="${CFOPS_LIVE_API_BASE_URL:-https://api.cloudflare.com/client/v4}"
    # A fresh prefix per run; CFOPS_LIVE_RUN_PREFIX (cfops-test-<8 hex>-) reuses one, e.g. to clean up a killed run.
    prefix="${CFOPS_LIVE_RUN_PREFIX:-cfops-test-$(python -c 'import secrets; print(secrets.token_hex(4))')-}"
    export CFOPS_LIVE_API_BASE_URL="$base_url" CFOPS_LIVE_RUN_PREFIX="$prefix"
    echo "live: $base_url, account $CFOPS_LIVE_ACCOUNT_ID, zone $CFOPS_LIVE_ZONE, run prefix $prefix"
    # Refuses an account holding objects this suite did not make (unless CFOPS_LIVE_ALLOW_FOREIGN=1).
    python -m tests.support.target check || return 1
    # From here on the run's objects are deleted however the stage ends (this function runs in its own
    # subshell: EXIT fires on an error, and on TERM/INT through the exit below).
    trap 'echo "--- cleanup of $prefix"; python -m tests.support.target cleanup || true' EXIT
    trap 'exit 143' TERM INT
    echo "--- live-capable pytest tests (emulator-only assertions skip here)"
    # shellcheck disable=SC2086
    run_pytest tests/live ${CFOPS_LIVE_E2E-$LIVE_E2E} -rs || rc=1
    echo "--- live-capable integration targets: ${CFOPS_LIVE_TARGETS:-$LIVE_TARGETS}"
    dest="$(bash scripts/sanity.sh --prepare "$RUN_DIR/live")"
    # The token reaches ansible-test through this file only (never the command line or the log); it is
    # deleted with the run directory.
    ( umask 077
      python - "$dest/tests/integration/integration_config.yml" <<'PY'
import json, os, sys
config = {"cf_api_token": os.environ["CFOPS_LIVE_API_TOKEN"], "cf_account_id": os.environ["CFOPS_LIVE_ACCOUNT_ID"],
          "cf_api_base_url": os.environ["CFOPS_LIVE_API_BASE_URL"], "cf_zone": os.environ["CFOPS_LIVE_ZONE"],
          "cf_name_prefix": os.environ["CFOPS_LIVE_RUN_PREFIX"], "cf_live": True,
          # The R2 jurisdictions besides the default one that the account may use (its entitlement).
          "cf_r2_jurisdictions": os.environ.get("CFOPS_LIVE_R2_JURISDICTIONS", "").split()}
if os.environ.get("CFOPS_LIVE_EDGE_URL"):  # a rehearsal: where the emulator serves workers.dev names
    config["cf_edge_url"] = os.environ["CFOPS_LIVE_EDGE_URL"].rstrip("/")
with open(sys.argv[1], "w") as handle:
    json.dump(config, handle)  # JSON is YAML
PY
    )
    # shellcheck disable=SC2086
    (cd "$dest" && ansible-test integration --python 3.11 --color no --continue-on-error ${CFOPS_LIVE_TARGETS:-$LIVE_TARGETS}) || rc=1
    echo "--- cleanup of $prefix"
    python -m tests.support.target cleanup || rc=1
    trap - EXIT
    return "$rc"
}

stage_molecule() {
    # molecule 26 finds scenarios under extensions/molecule when run from the collection root
    # (galaxy.yml in the working directory). Every scenario runs, each with its own emulator (which it
    # starts and stops); the data dirs are registered here too, so they are stopped even if Molecule is
    # interrupted. CFOPS_TEST_JOBS scenarios (default 2) run at a time, each into its own log, printed
    # whole in order. The stage fails when any scenario failed.
    local dir rc=0 failed_scenarios=() scenarios=() i jobs="${CFOPS_TEST_JOBS:-2}"
    for dir in extensions/molecule/*/; do
        [ -f "$dir/molecule.yml" ] && scenarios+=("$(basename "$dir")")
    done
    # Prints a finished scenario's log, in order, and notes its failure.
    finish_scenario() {
        echo "--- molecule test -s $1"
        finish_logged "molecule-$1" || { rc=1; failed_scenarios+=("$1"); }
    }
    for ((i = 0; i < ${#scenarios[@]}; i++)); do
        echo "$RUN_DIR/emulator-molecule-${scenarios[i]}" >>"$EMULATORS"
        start_logged "molecule-${scenarios[i]}" \
            env CFOPS_MOLECULE_EMULATOR_DIR="$RUN_DIR/emulator-molecule-${scenarios[i]}" molecule test -s "${scenarios[i]}"
        # At most $jobs at a time: the oldest still running ends before the next starts.
        if [ $((i + 1)) -ge "$jobs" ]; then
            finish_scenario "${scenarios[i + 1 - jobs]}"
        fi
    done
    # The last ones still running (the loop above ended the others).
    for ((i = ${#scenarios[@]} >= jobs ? ${#scenarios[@]} - jobs + 1 : 0; i < ${#scenarios[@]}; i++)); do
        finish_scenario "${scenarios[i]}"
    done
    [ "$rc" -eq 0 ] || echo "test.sh: molecule scenario(s) failed: ${failed_scenarios[*]}" >&2
    return "$rc"
}

stage_matrix() {
    bash scripts/matrix.sh
}

bash scripts/bootstrap.sh
export PATH="$REPO/.venv/bin:$PATH"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 NO_COLOR=1 PY_COLORS=0 MOLECULE_NO_COLOR=1
export PYTHONDONTWRITEBYTECODE=1

results=()
failed=0
total_start=$SECONDS

# Record a finished stage's verdict (stage, exit code, seconds).
record() {
    local verdict
    if [ "$2" -eq 0 ]; then
        verdict="passed"
    else
        verdict="FAILED (exit $2)"
        failed=$((failed + 1))
    fi
    results+=("$(printf '%-12s %-18s %4ds' "$1" "$verdict" "$3")")
    echo "=== stage $1: $verdict in ${3}s"
}

# The static checks share nothing and each keeps one core busy: selected together, they run side by
# side (CFOPS_TEST_JOBS=1: one after another), each into its own log, printed whole in stage order.
SIDE_BY_SIDE=" lint sanity artifact "
batch=()
for stage in "${stages[@]}"; do
    if [ "${CFOPS_TEST_JOBS:-2}" -gt 1 ] && [[ "$SIDE_BY_SIDE" == *" $stage "* ]]; then
        batch+=("$stage")
    fi
done
if [ ${#batch[@]} -gt 1 ]; then
    echo
    echo "=== stages ${batch[*]}, side by side"
    declare -A batch_pid=() batch_start=()
    for stage in "${batch[@]}"; do
        batch_start[$stage]=$SECONDS
        # The stage in a subshell of its own (set -e holds there), then its end time for the summary.
        ( (set -euo pipefail; "stage_$stage") &
          rc=0
          wait $! || rc=$?
          echo "$SECONDS" >"$RUN_DIR/stage-$stage.end"
          exit "$rc" ) >"$RUN_DIR/stage-$stage.log" 2>&1 &
        batch_pid[$stage]=$!
    done
    STAGE_PID="${batch_pid[*]}"
    for stage in "${batch[@]}"; do
        rc=0
        wait "${batch_pid[$stage]}" || rc=$?
        end=$SECONDS
        [ -f "$RUN_DIR/stage-$stage.end" ] && end="$(cat "$RUN_DIR/stage-$stage.end")"
        echo
        echo "=== stage $stage"
        cat "$RUN_DIR/stage-$stage.log"
        record "$stage" "$rc" $((end - batch_start[$stage]))
    done
    STAGE_PID=""
fi
for stage in "${stages[@]}"; do
    [ ${#batch[@]} -gt 1 ] && [[ " ${batch[*]} " == *" $stage "* ]] && continue
    echo
    echo "=== stage $stage"
    start=$SECONDS
    # In the background and waited for, so that INT/TERM reach the traps at once.
    (set -euo pipefail; "stage_$stage") &
    STAGE_PID=$!
    rc=0
    wait "$STAGE_PID" || rc=$?
    STAGE_PID=""
    record "$stage" "$rc" $((SECONDS - start))
done

echo
echo "=== summary (wall time $((SECONDS - total_start))s)"
printf '  %s\n' "${results[@]}"
echo "stages: $(( ${#stages[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
