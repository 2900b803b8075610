#!/usr/bin/env bash
# ansible-test sanity on what ships: every tracked file plus every untracked file git does not
# ignore, copied to .tmp/sanity/ansible_collections/cfops/cloudflare/ (ansible-test must run from a
# directory named ansible_collections/<namespace>/<name>, resolved without symlinks, and lists the
# files through git, so the copy gets its own git index).
#
#   scripts/sanity.sh                      all sanity tests that apply, Python 3.11
#   scripts/sanity.sh --test pep8 ...      extra arguments go to ansible-test sanity
#   scripts/sanity.sh --prepare DIR        only make the copy at DIR/ansible_collections/cfops/cloudflare
#                                          and print its path (scripts/test.sh uses it for integration)
#
# No sanity test is skipped and there is no tests/sanity/ignore-*.txt for our code: fix the code.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# Make a clean copy of the collection's files under $1/ansible_collections/cfops/cloudflare and
# print that path.
prepare_copy() {
    local base dest
    base="$(mkdir -p "$1" && cd "$1" && pwd -P)"
    dest="$base/ansible_collections/cfops/cloudflare"
    rm -rf "$base/ansible_collections"
    mkdir -p "$dest"
    git -C "$REPO" ls-files -z --cached --others --exclude-standard \
        | python3 -c '
import os, shutil, sys
src, dest = sys.argv[1], sys.argv[2]
for rel in sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\0"):
    path = os.path.join(src, rel)
    if not rel or not os.path.lexists(path):  # deleted in the work tree but still in the index
        continue
    target = os.path.join(dest, rel)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(path):
        os.symlink(os.readlink(path), target)
    else:
        shutil.copy2(path, target)
' "$REPO" "$dest"
    (
        cd "$dest"
        git init -q
        git add -A
    )
    printf '%s\n' "$dest"
}

if [ "${1:-}" = "--prepare" ]; then
    prepare_copy "${2:?usage: scripts/sanity.sh --prepare DIR}"
    exit 0
fi

bash scripts/bootstrap.sh >/dev/null
export PATH="$REPO/.venv/bin:$PATH"

dest="$(prepare_copy "$REPO/.tmp/sanity.$$")"
trap 'rm -rf "$REPO/.tmp/sanity.$$"' EXIT
cd "$dest"
echo "sanity: running ansible-test sanity in $dest"
# Every test that applies runs. ansible-test bootstraps pip into its per-test virtual environments
# with ~/.ansible/test/cache/get_pip_<ver>.py, which scripts/bootstrap.sh installs (offline stand-in);
# the test requirements themselves come from the package index.
ansible-test sanity --python 3.11 --color no "$@"
