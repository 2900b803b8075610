#!/usr/bin/env bash
# Check the publishable artifact the way Galaxy and the docs site would (scripts/test.sh artifact):
#   1. ansible-galaxy collection build (galaxy.yml's build_ignore decides what ships)
#   2. galaxy-importer on the tarball, with local settings: no container engine (run_ansible_test =
#      False; ansible-test sanity runs in the sanity stage), ansible-lint offline; any WARNING or ERROR
#      line fails
#   3. antsibull-docs lint-collection-docs --plugin-docs on a copy installed from the tarball
# Both tools run from their own venv (scripts/venv.sh galaxy-importer), never from the shared .venv.
#
#   scripts/artifact.sh [WORKDIR]      WORKDIR defaults to .tmp/artifact (emptied first)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$REPO/.tmp/artifact}"
rm -rf "$WORK"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd -P)"

TOOLS="$(bash "$REPO/scripts/venv.sh" galaxy-importer)"
# Nothing of the checkout's Ansible configuration (./ansible.cfg puts the checkout on the collections
# path): the tools see the artifact only.
: >"$WORK/ansible.cfg"
export ANSIBLE_CONFIG="$WORK/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ANSIBLE_LOCAL_TEMP="$WORK/ansible-tmp"

echo "--- ansible-galaxy collection build"
"$REPO/.venv/bin/ansible-galaxy" collection build --output-path "$WORK" "$REPO" >/dev/null
tarball="$(ls "$WORK"/cfops-cloudflare-*.tar.gz)"
echo "$tarball ($(du -k "$tarball" | cut -f1) KiB, $(tar -tzf "$tarball" | grep -vc '/$') files)"

echo "--- galaxy-importer $("$TOOLS/bin/python" -c 'import importlib.metadata as m; print(m.version("galaxy-importer"))')"
cat >"$WORK/galaxy-importer.cfg" <<EOF
[galaxy-importer]
run_ansible_test = False
run_ansible_lint = True
offline_ansible_lint = True
check_changelog = True
ansible_local_tmp = $WORK/ansible-tmp
tmp_root_dir = $WORK
EOF
rc=0
(cd "$WORK" && GALAXY_IMPORTER_CONFIG="$WORK/galaxy-importer.cfg" PATH="$TOOLS/bin:$PATH" \
    "$TOOLS/bin/python" -m galaxy_importer.main "$tarball") >"$WORK/galaxy-importer.log" 2>&1 || rc=$?
# galaxy-importer prints INFO lines bare and every other level as "LEVEL: message".
if [ "$rc" -ne 0 ] || grep -Eq '^(WARNING|ERROR|CRITICAL):' "$WORK/galaxy-importer.log"; then
    cat "$WORK/galaxy-importer.log"
    echo "artifact.sh: galaxy-importer found problems (exit $rc)" >&2
    exit 1
fi
tail -1 "$WORK/galaxy-importer.log"

echo "--- antsibull-docs lint-collection-docs --plugin-docs (installed copy)"
"$REPO/.venv/bin/ansible-galaxy" collection install --force -p "$WORK/collections" "$tarball" >/dev/null
(cd "$WORK/collections/ansible_collections/cfops/cloudflare" \
    && PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/antsibull-docs" lint-collection-docs --plugin-docs .)
echo "antsibull-docs: no problems"
