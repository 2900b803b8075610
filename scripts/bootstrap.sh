#!/usr/bin/env bash
# Set up a development checkout; safe and fast to run again (a no-op when nothing changed).
#
#   1. .venv/ with Python 3.11 (ansible-core 2.19 is the newest line that runs on 3.11)
#   2. the pinned requirements: pip install -r requirements-dev.txt -c constraints.txt
#      (skipped while a stamp of the requirement files' sha256 still matches)
#   3. the link .collections/ansible_collections/cfops/cloudflare -> this repository, so Ansible
#      and Python find the checkout as the collection cfops.cloudflare (ansible.cfg puts
#      .collections on the collections path), and the same link as playbooks/collections/...: Ansible
#      always searches the collections/ directory next to a playbook, so
#      ansible-playbook /path/to/checkout/playbooks/deploy.yml works from any directory, without
#      ./ansible.cfg (git-ignored: ansible-test allows no committed link to a directory)
#   4. the offline pip stand-in for ansible-test (scripts/get_pip_offline.py) at
#      ~/.ansible/test/cache/get_pip_<version>.py, for the pip version ansible-test asks for:
#      ansible-test would otherwise download get-pip.py from a host this project cannot reach.
#   5. emulator/runtime/node_modules (miniflare + workerd for the emulator's edge, --edge-port):
#      npm ci --no-audit --no-fund when it is missing or package-lock.json changed (npm runs no
#      install scripts; workerd's binary ships inside its npm package). Skipped with a warning
#      when node/npm are not installed: only the edge needs them.
#
# Environment: PYTHON=/path/to/python3.11 picks the interpreter for the venv.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

VENV="$REPO/.venv"
STAMP="$VENV/.cfops-requirements.sha256"
WANT_PY="3.11"

log() { printf 'bootstrap: %s\n' "$*"; }

pick_python() {
    local candidate
    for candidate in ${PYTHON:-} python3.11 python3 /usr/bin/python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$WANT_PY" ] \
            && "$candidate" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "bootstrap: no Python $WANT_PY with venv/ensurepip found (set PYTHON=/path/to/python$WANT_PY)" >&2
    return 1
}

# 1. the virtual environment (re-created when it is missing or no longer runs)
if ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1; then
    PY="$(pick_python)"
    log "creating .venv with $PY"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
fi

# 2. the pinned requirements
want_stamp="$(cat requirements.txt requirements-dev.txt constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want_stamp" ]; then
    log "installing requirements-dev.txt with constraints.txt into .venv"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        -r requirements-dev.txt -c constraints.txt
    echo "$want_stamp" >"$STAMP"
else
    log "requirements up to date"
fi

# 3. the collection link (relative, so it survives moving the checkout)
LINK_DIR="$REPO/.collections/ansible_collections/cfops"
LINK="$LINK_DIR/cloudflare"
if [ "$(cd "$LINK" 2>/dev/null && pwd -P)" != "$(pwd -P)" ]; then
    log "linking .collections/ansible_collections/cfops/cloudflare -> $REPO"
    mkdir -p "$LINK_DIR"
    rm -rf "$LINK"
    ln -s ../../.. "$LINK"
fi

ADJACENT_DIR="$REPO/playbooks/collections/ansible_collections/cfops"
if [ "$(cd "$ADJACENT_DIR/cloudflare" 2>/dev/null && pwd -P)" != "$(pwd -P)" ]; then
    log "linking playbooks/collections/ansible_collections/cfops/cloudflare -> $REPO"
    mkdir -p "$ADJACENT_DIR"
    rm -rf "$ADJACENT_DIR/cloudflare"
    ln -s ../../../.. "$ADJACENT_DIR/cloudflare"
fi

# 4. the offline get-pip stand-in, for every pip version this ansible-test bootstraps with
pip_versions="$("$VENV/bin/python" - <<'PY'
import types

from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS
from ansible_test._internal.python_requirements import get_venv_packages

versions = set()
for python_version in SUPPORTED_PYTHON_VERSIONS:
    versions.add(get_venv_packages(types.SimpleNamespace(version=python_version))["pip"])
print("\n".join(sorted(versions)))
PY
)"
CACHE="$HOME/.ansible/test/cache"
mkdir -p "$CACHE"
for version in $pip_versions; do
    target="$CACHE/get_pip_${version//./_}.py"
    if ! cmp -s scripts/get_pip_offline.py "$target"; then
        log "installing the offline get-pip stand-in as $target"
        cp scripts/get_pip_offline.py "$target"
    fi
done

# 5. the edge runtime's npm packages (stamp: the lockfile's sha256)
RUNTIME="$REPO/emulator/runtime"
NPM_STAMP="$RUNTIME/node_modules/.cfops-lock.sha256"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    want_npm="$(sha256sum "$RUNTIME/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$NPM_STAMP" 2>/dev/null || true)" != "$want_npm" ]; then
        log "installing emulator/runtime/node_modules (npm ci)"
        (cd "$RUNTIME" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want_npm" >"$NPM_STAMP"
    else
        log "emulator/runtime/node_modules up to date"
    fi
else
    log "WARNING: node/npm not found: the emulator's edge (--edge-port) will not start"
fi

log "ready: $VENV (ansible-core $("$VENV/bin/python" -c "import ansible.release; print(ansible.release.__version__)"))"
