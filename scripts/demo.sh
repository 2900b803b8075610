#!/usr/bin/env bash
# The README's first command: set up, start the local Cloudflare emulator, deploy the example
# Worker to it with playbooks/deploy.yml, and show where it landed. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
bash scripts/emulator.sh start
# The release gates probe the Worker on the emulator's edge (workerd).
CFOPS_EDGE_URL="$(bash scripts/emulator.sh edge-url)"
export CFOPS_EDGE_URL

ansible-playbook playbooks/deploy.yml -i inventories/local

# Read back what the API now holds, the way any client would.
python - <<'PY'
import os
import httpx

base = os.environ.get("CLOUDFLARE_API_BASE_URL", "http://127.0.0.1:8791/client/v4")
account = os.environ.get("CLOUDFLARE_ACCOUNT_ID", "023e105f4ecef8ad9ca31a8372d0c353")
token = os.environ.get("CLOUDFLARE_API_TOKEN", "cfops-local-emulator-token")
script = "books-api-local"
headers = {"Authorization": "Bearer " + token}
url = "%s/accounts/%s/workers/scripts/%s/settings" % (base, account, script)
settings = httpx.get(url, headers=headers, timeout=10).json()["result"]
print()
print("The Worker %s landed on the local Cloudflare emulator:" % script)
print("  account   %s" % account)
print("  settings  GET %s" % url)
print("  runtime   compatibility_date %s" % settings["compatibility_date"])
for binding in sorted(settings["bindings"], key=lambda b: b["name"]):
    detail = binding.get("namespace_id") or binding.get("text") or "(value hidden)"
    print("  binding   %-12s %-14s %s" % (binding["name"], binding["type"], detail))
edge = os.environ["CFOPS_EDGE_URL"]
host = "%s.cfops-local.workers.dev" % script
answer = httpx.get(edge + "/health", headers={"Host": host}, timeout=10)
print("  edge      curl -H 'Host: %s' %s/health" % (host, edge))
print("            -> %d %s (served by version %s)" % (answer.status_code, answer.text.strip()[:120],
                                                      answer.headers.get("x-cfops-version-id")))
print()
print("Run ./scripts/demo.sh again: nothing changes. Stop the emulator with ./scripts/emulator.sh stop.")
PY
