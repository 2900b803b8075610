"""What the release benchmarks share: an emulator with its edge, playbook runs that are timed, users' traffic,
the engine's summary line, the canary settings the traffic figures use and their exact error bounds.

Not a benchmark itself (no main)."""
import contextlib
import json
import math
import os
import re
import sys
import tempfile
import time

import httpx

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
# The checkout is the collection through this link (scripts/bootstrap.sh).
sys.path.insert(0, os.path.join(REPO_ROOT, ".collections"))

from ansible_collections.cfops.cloudflare.plugins.module_utils._canary import (  # noqa: E402
    binomial_upper_p,
    fisher_one_sided_p,
    looks,
)
from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.e2e.traffic import Traffic  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

WORKER = "books-api-local"
HOST = WORKER + ".cfops-local.workers.dev"
SUMMARY = re.compile(r"^%s: (?P<what>.*), (?P<seconds>[\d.]+) s(?:, (?P<waited>[\d.]+) s of it analysing traffic)?, "
                     r"(?P<reads>\d+) reads, (?P<writes>\d+) writes" % WORKER, re.M)

# The canary settings of the traffic figures (docs/deploying-workers.md, "How sure is a verdict"): users'
# traffic judged by Cloudflare's analytics (and the probes), 300 canary invocations before a step may pass,
# read every second, looks at 75/150/300 invocations each at alpha/3.
RATE = 100.0           # users' requests per second, loopback, to /books/1
ALPHA = 0.00075        # per step and error-rate test, over all its looks
MIN_REQUESTS = 300
MAX_ERROR_RATE = 0.05
MAX_INCREASE = 0.01
CANARY = ["-e", "worker_gate=both", "-e", "worker_analysis_window=5", "-e", "worker_analysis_interval=1",
          "-e", "worker_analysis_max_window=90", "-e", "worker_analysis_delay=0",
          "-e", "worker_analysis_min_requests=%d" % MIN_REQUESTS, "-e", "worker_gate_alpha=%g" % ALPHA,
          "-e", "worker_gate_max_error_rate=%g" % MAX_ERROR_RATE,
          "-e", "worker_gate_max_error_rate_increase=%g" % MAX_INCREASE]


@contextlib.contextmanager
def emulator():
    with tempfile.TemporaryDirectory() as data_dir, EmulatorProcess(data_dir=data_dir, edge=True, startup_timeout=120) as emu:
        yield emu


def deploy(emu, *args, env=None, playbook="playbooks/deploy.yml"):
    """``(run, wall seconds, summary match or None)`` of one ansible-playbook run."""
    started = time.monotonic()
    run = run_playbook(emu, *args, env=env, playbook=playbook, timeout=1800)
    wall = time.monotonic() - started
    return run, wall, SUMMARY.search(run.stdout)


def release(name, error_rate=None, extra_vars=None):
    """Extra vars for a release named ``name`` whose user-facing routes throw at ``error_rate``."""
    worker_vars = {"ENVIRONMENT": "local", "RELEASE": name}
    if error_rate:
        worker_vars["ERROR_RATE"] = str(error_rate)
    worker_vars.update(extra_vars or {})
    return ["-e", "worker_release_tag=%s" % name, "-e", json.dumps({"worker_vars": worker_vars})]


def users(emu, rate=RATE, limit=1800):
    """Users of the Worker: GET /books/1 at a fixed rate on the emulator's edge (loopback), bounded."""
    return Traffic(emu.edge_url, HOST, rate=rate, limit=limit, max_requests=int(rate * limit), workers=8)


def deployments(emu):
    response = httpx.get(emu.base_url + "/accounts/%s/workers/scripts/%s/deployments" % (emu.account_id, WORKER),
                         headers={"Authorization": "Bearer " + emu.token}, timeout=10)
    response.raise_for_status()
    return response.json()["result"]["deployments"]


def serving(emu):
    return {v["version_id"]: v["percentage"] for v in deployments(emu)[0]["versions"]}


def rolled_back_at(output):
    """The step a failed release stopped at ("10%", "smoke 0%"), or None when it did not fail."""
    match = re.search(r"failed at (smoke 0%|\d+%)", output)
    return match.group(1) if match else None


# --- exact bounds of the decision (the same functions the engine judges with) ---------------------------------

def _pmf(n, k, p):
    if p <= 0:
        return 1.0 if k == 0 else 0.0
    return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p)
                    + (n - k) * math.log1p(-p))


def _support(n, p, cut=1e-13):
    return [(k, _pmf(n, k, p)) for k in range(n + 1) if _pmf(n, k, p) > cut]


def look_reject_probability(n_canary, n_stable, canary_rate, stable_rate, alpha):
    """P(one look fails the step) for binomial error counts: either error-rate test at ``alpha`` (only the
    absolute one when ``n_stable`` is 0: at 100% no other version serves)."""
    total = 0.0
    stable = _support(n_stable, stable_rate) if n_stable else []
    for k_canary, p_canary in _support(n_canary, canary_rate):
        rate = k_canary / float(n_canary)
        absolute = rate > MAX_ERROR_RATE and binomial_upper_p(k_canary, n_canary, MAX_ERROR_RATE) < alpha
        if absolute:
            total += p_canary
            continue
        for k_stable, p_stable in stable:
            if rate - k_stable / float(n_stable) > MAX_INCREASE and fisher_one_sided_p(k_canary, n_canary, k_stable, n_stable) < alpha:
                total += p_canary * p_stable
    return total


def bounds(share, canary_rate, stable_rate, min_requests=MIN_REQUESTS, alpha=ALPHA):
    """``(upper bound of P(step fails), lower bound of P(step fails))`` at the canary's ``share`` (0-100):
    the union over the looks (Bonferroni) and the final look alone."""
    thresholds = looks(min_requests)
    per_look = alpha / len(thresholds)
    stable_factor = (100.0 - share) / share
    probabilities = [look_reject_probability(n, int(round(n * stable_factor)), canary_rate, stable_rate, per_look)
                     for n in thresholds]
    return min(1.0, sum(probabilities)), probabilities[-1]
