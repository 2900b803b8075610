#!/usr/bin/env bash
# A tool venv of its own under .tmp/venvs/NAME, from its lock constraints/NAME.txt; prints its path.
# Never touches the shared .venv (whose pins the rest of the project relies on).
#
#   scripts/venv.sh galaxy-importer        galaxy-importer + antsibull-docs (the artifact stage)
#   scripts/venv.sh ansible-core-2.20      one ansible-core line of the support matrix (the matrix stage)
#
# The lock names its interpreter and what to install in two header lines:
#   # python: 3.12
#   # install: ansible-core httpx pytest
# and pins every package (pip install -c). The venv is made again when the lock changed (a stamp of
# its sha256) or no longer runs. The interpreter is found as pythonX.Y on PATH, then under pyenv
# ($PYENV_ROOT/versions/X.Y*), then /usr/bin/pythonX.Y. Progress goes to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${1:?usage: scripts/venv.sh NAME (a lock file constraints/NAME.txt)}"
LOCK="$REPO/constraints/$NAME.txt"
VENV="$REPO/.tmp/venvs/$NAME"
STAMP="$VENV/.cfops-lock.sha256"

[ -f "$LOCK" ] || { echo "venv.sh: no lock file $LOCK" >&2; exit 2; }
want_py="$(sed -n 's/^# python: *//p' "$LOCK" | head -1)"
install="$(sed -n 's/^# install: *//p' "$LOCK" | head -1)"
[ -n "$want_py" ] && [ -n "$install" ] || { echo "venv.sh: $LOCK needs '# python: X.Y' and '# install: ...' lines" >&2; exit 2; }

find_python() {
    local candidate
    for candidate in "python$want_py" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want_py"*/bin/"python$want_py" "/usr/bin/python$want_py"; do
        # pyenv's shims answer for versions that are not selected: run it to be sure.
        if command -v "$candidate" >/dev/null 2>&1 \
            && [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want_py" ] \
            && "$candidate" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "venv.sh: no Python $want_py with venv/ensurepip found for $NAME (install it, e.g. with pyenv)" >&2
    return 1
}

want_stamp="$(sha256sum "$LOCK" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want_stamp" ] || ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    python="$(find_python)"
    echo "venv.sh: creating $VENV with $python ($install)" >&2
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$python" -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -c "$LOCK" $install >&2
    echo "$want_stamp" >"$STAMP"
fi
printf '%s\n' "$VENV"
