#!/usr/bin/env bash
# The support matrix (scripts/test.sh matrix): each ansible-core line that meta/runtime.yml's
# requires_ansible admits, on its own Python, in its own venv from its own lock.
#
#   scripts/matrix.sh [LINE ...]      default: every constraints/ansible-core-<LINE>.txt, then the .venv line
#
# For a line with a lock (constraints/ansible-core-<LINE>.txt, venv .tmp/venvs/ansible-core-<LINE>):
#   sanity   ansible-test sanity of that ansible-core on that Python (a copy, as scripts/sanity.sh makes)
#   unit     pytest tests/unit with that Python and ansible-core
#   e2e      tests/matrix/test_release_smoke.py: that ansible-playbook deploys the example Worker to an
#            emulator (the emulator itself runs from .venv) and a second run changes nothing
# The line of the shared .venv (2.19 on Python 3.11) gets sanity and unit from the sanity and unit stages;
# here it runs the same e2e. Each step prints its wall time; every step runs, and the script fails if any did.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
WORK="$REPO/.tmp/matrix.$$"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"

main_line="$(.venv/bin/python -c 'import ansible.release as r; print(".".join(r.__version__.split(".")[:2]))')"
lines=("$@")
if [ ${#lines[@]} -eq 0 ]; then
    for lock in constraints/ansible-core-*.txt; do
        lock="${lock#constraints/ansible-core-}"
        lines+=("${lock%.txt}")
    done
    lines+=("$main_line")
fi

# ansible-test bootstraps pip into its sanity venvs with ~/.ansible/test/cache/get_pip_<ver>.py; this
# project cannot download get-pip.py, so the offline stand-in goes there for the pip version that this
# line's ansible-test asks for (scripts/bootstrap.sh does the same for .venv's).
install_get_pip() {
    local python="$1" version
    for version in $("$python" - <<'PY'
import types

from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS
from ansible_test._internal.python_requirements import get_venv_packages

print("\n".join(sorted({get_venv_packages(types.SimpleNamespace(version=v))["pip"] for v in SUPPORTED_PYTHON_VERSIONS})))
PY
    ); do
        mkdir -p "$HOME/.ansible/test/cache"
        cp scripts/get_pip_offline.py "$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
    done
}

# Each line's steps write their result lines to $WORK/results-<line> (a line's steps run in order).
step() {
    local name="$1" start=$SECONDS rc=0
    shift
    echo "--- $name"
    "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        printf '%-24s passed %5ds\n' "$name" $((SECONDS - start)) >>"$WORK/results-$line"
    else
        printf '%-24s FAILED %5ds\n' "$name" $((SECONDS - start)) >>"$WORK/results-$line"
    fi
    return "$rc"
}

run_sanity() {
    local venv="$1" python_version="$2" dest
    dest="$(bash scripts/sanity.sh --prepare "$WORK/sanity-$line")"
    (cd "$dest" && PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --python "$python_version" --color no)
}

run_unit() {
    local venv="$1"
    PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -p no:cacheprovider -q tests/unit
}

run_e2e() {
    local venv="$1"
    CFOPS_MATRIX_BIN="$venv/bin" CFOPS_MATRIX_LINE="$line" .venv/bin/python -m pytest -p no:cacheprovider -q tests/matrix
}

# A line's steps, in order; every step runs; fails if any did.
run_line() {
    local venv="$1" python_version="$2" rc=0
    if [ -n "$python_version" ]; then
        step "$line sanity" run_sanity "$venv" "$python_version" || rc=1
        step "$line unit" run_unit "$venv" || rc=1
    fi
    step "$line e2e" run_e2e "$venv" || rc=1
    return "$rc"
}

# First, one at a time, each line's venv and ansible-test's pip bootstrap (shared files in ~/.ansible).
failed=0
declare -A venvs=() pythons=()
for line in "${lines[@]}"; do
    : >"$WORK/results-$line"
    if [ "$line" = "$main_line" ]; then
        venvs[$line]="$REPO/.venv"
        pythons[$line]=""
        continue
    fi
    [ -f "constraints/ansible-core-$line.txt" ] || { echo "matrix.sh: no lock constraints/ansible-core-$line.txt" >&2; exit 2; }
    python_version="$(sed -n 's/^# python: *//p' "constraints/ansible-core-$line.txt" | head -1)"
    start=$SECONDS
    if ! venv="$(bash scripts/venv.sh "ansible-core-$line")"; then
        echo "$line venv FAILED" >>"$WORK/results-$line"
        failed=$((failed + 1))
        continue
    fi
    install_get_pip "$venv/bin/python"
    printf '%-24s ready  %5ds\n' "$line venv" $((SECONDS - start)) >>"$WORK/results-$line"
    echo "ansible-core $line on Python $python_version: $("$venv/bin/python" -c "import ansible.release as r; print(r.__version__)") in $venv"
    venvs[$line]="$venv"
    pythons[$line]="$python_version"
done

# Then the lines side by side (each line's steps keep about one core busy), each with its own log, printed
# whole when it ends.
pids=()
for line in "${!venvs[@]}"; do
    ( rc=0; run_line "${venvs[$line]}" "${pythons[$line]}" || rc=$?; echo "$rc" >"$WORK/rc-$line" ) >"$WORK/log-$line" 2>&1 &
    pids+=("$!:$line")
    # CFOPS_TEST_JOBS=1 (scripts/test.sh): one line at a time.
    if [ "${CFOPS_TEST_JOBS:-2}" -le 1 ]; then
        wait "$!" || true
    fi
done
for entry in "${pids[@]}"; do
    line="${entry#*:}"
    wait "${entry%%:*}" 2>/dev/null || true
    [ "$(cat "$WORK/rc-$line" 2>/dev/null)" = 0 ] || failed=$((failed + 1))
    if [ "$line" = "$main_line" ]; then
        echo "=== ansible-core $line (the shared .venv; sanity and unit run in their stages)"
    else
        echo "=== ansible-core $line on Python ${pythons[$line]}"
    fi
    cat "$WORK/log-$line"
done

echo "=== matrix"
for line in "${lines[@]}"; do
    sed 's/^/  /' "$WORK/results-$line"
done
[ "$failed" -eq 0 ]
