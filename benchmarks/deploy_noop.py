"""Figures: a one-Worker deploy with playbooks/deploy.yml against `wrangler deploy` of the same Worker, in
the same run, pair by pair (ours, then wrangler's, then ours ...): a first deploy and a no-op re-run.

The same Worker: examples/books-api (two modules), its KV namespace (created once beforehand for both, so
neither creates it), a plain-text var, the version_metadata binding, workers.dev on; wrangler 4.78.0 from
emulator/runtime/node_modules with the environment tests/clients/conftest.py gives it (no telemetry, its
own HOME). The release does more than wrangler: pre-flight, its secret, the gate at 100% (30 probes), and on
the no-op it reads instead of uploading. Each first deploy starts from a deleted Worker (the deletion is not
timed). Prints each pair's wall times and the median ratio against the goals (1.5x wrangler on the no-op,
2x on the first deploy), and the no-op's API calls (goal: 0 writes). Not a test: it asserts nothing.

    .venv/bin/python benchmarks/deploy_noop.py [--runs N]

Results (2-core machine shared with other jobs' tests, --runs 5, pair by pair):

    kind            pair  ours (s) wrangler (s)   ratio
    first deploy       1      1.36         0.81    1.68
    first deploy       2      1.38         0.80    1.73
    first deploy       3      1.29         0.85    1.51
    first deploy       4      1.27         0.77    1.64
    first deploy       5      1.28         0.78    1.64
    no-op deploy       1      0.83         0.78    1.06
    no-op deploy       2      0.89         0.84    1.06
    no-op deploy       3      0.97         0.86    1.12
    no-op deploy       4      0.99         0.81    1.22
    no-op deploy       5      0.85         0.87    0.99
    first deploy: median ours 1.29 s, wrangler 0.80 s, ratio 1.64 (goal <= 2: met)
    no-op deploy: median ours 0.89 s, wrangler 0.84 s, ratio 1.06 (goal <= 1.5: met)
    no-op API calls: 4 reads, 0 writes (goal 0 writes: met)

Where the first deploy's extra time goes: the gate at 100% (settling, then 30 probes: about 0.4-0.8 s of the
engine's line); the no-op is one task of 4 reads, so it costs about what Ansible's start-up costs.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from release_support import REPO_ROOT, deploy, emulator  # noqa: E402

WRANGLER_JS = os.path.join(REPO_ROOT, "emulator", "runtime", "node_modules", "wrangler", "bin", "wrangler.js")
CACHE_TITLE = "books-api-local-cache"
THEIRS = "books-api-wrangler"


def api(emu, method, path, **kwargs):
    response = httpx.request(method, emu.base_url + "/accounts/%s%s" % (emu.account_id, path),
                             headers={"Authorization": "Bearer " + emu.token}, timeout=30, **kwargs)
    response.raise_for_status()
    return response.json().get("result")


def wrangler_project(emu, directory, namespace_id):
    config = {"name": THEIRS, "main": os.path.join(REPO_ROOT, "examples", "books-api", "src", "index.js"),
              "compatibility_date": "2024-09-23", "workers_dev": True,
              "kv_namespaces": [{"binding": "CACHE", "id": namespace_id}],
              "vars": {"ENVIRONMENT": "local"}, "version_metadata": {"binding": "CF_VERSION_METADATA"}}
    with open(os.path.join(directory, "wrangler.jsonc"), "w") as handle:
        json.dump(config, handle)
    home = os.path.join(directory, "home")
    return {"PATH": os.environ.get("PATH", ""), "HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"), "CLOUDFLARE_API_BASE_URL": emu.base_url,
            "CLOUDFLARE_API_TOKEN": emu.token, "CLOUDFLARE_ACCOUNT_ID": emu.account_id,
            "WRANGLER_SEND_METRICS": "false", "WRANGLER_SEND_ERROR_REPORTS": "false", "WRANGLER_HIDE_BANNER": "true",
            "WRANGLER_LOG_PATH": os.path.join(home, "wrangler-logs"), "CI": "true", "NO_COLOR": "1", "FORCE_COLOR": "0",
            "NO_PROXY": "127.0.0.1,localhost"}


def wrangler_deploy(directory, env):
    started = time.monotonic()
    run = subprocess.run([shutil.which("node"), WRANGLER_JS, "deploy"], cwd=directory, env=env, capture_output=True,
                         text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    if run.returncode != 0:
        raise SystemExit("wrangler deploy failed:\n%s" % (run.stdout + run.stderr)[-3000:])
    return time.monotonic() - started


def ours(emu):
    run, wall, _summary = deploy(emu)
    if run.rc != 0:
        raise SystemExit("playbooks/deploy.yml failed:\n%s" % run.output[-3000:])
    return wall


def delete(emu, name):
    try:
        api(emu, "DELETE", "/workers/scripts/%s" % name, params={"force": "true"})
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 404:
            raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="pairs of each kind (default 5)")
    args = parser.parse_args()
    if not os.path.exists(WRANGLER_JS) or not shutil.which("node"):
        raise SystemExit("wrangler needs node and emulator/runtime/node_modules: run scripts/bootstrap.sh")
    rows = {"first deploy": [], "no-op deploy": []}
    with emulator() as emu, tempfile.TemporaryDirectory() as project:
        namespace = api(emu, "POST", "/storage/kv/namespaces", json={"title": CACHE_TITLE})["id"]
        env = wrangler_project(emu, project, namespace)
        for _pair in range(args.runs):
            delete(emu, "books-api-local")
            delete(emu, THEIRS)
            rows["first deploy"].append((ours(emu), wrangler_deploy(project, env)))
        noop_calls = None
        for _pair in range(args.runs):
            emu.reset_calls()
            mine = ours(emu)
            noop_calls = emu.calls()
            rows["no-op deploy"].append((mine, wrangler_deploy(project, env)))
    print("%-14s %5s %9s %12s %7s" % ("kind", "pair", "ours (s)", "wrangler (s)", "ratio"))
    for kind, pairs in rows.items():
        for number, (mine, theirs) in enumerate(pairs, 1):
            print("%-14s %5d %9.2f %12.2f %7.2f" % (kind, number, mine, theirs, mine / theirs))
    goals = {"first deploy": 2.0, "no-op deploy": 1.5}
    for kind, pairs in rows.items():
        ratio = statistics.median(mine / theirs for mine, theirs in pairs)
        print("%s: median ours %.2f s, wrangler %.2f s, ratio %.2f (goal <= %g: %s)" % (
            kind, statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs), ratio, goals[kind],
            "met" if ratio <= goals[kind] else "NOT met"))
    print("no-op API calls: %d reads, %d writes (goal 0 writes: %s)" % (
        noop_calls["reads"], noop_calls["writes"], "met" if noop_calls["writes"] == 0 else "NOT met"))


if __name__ == "__main__":
    main()
