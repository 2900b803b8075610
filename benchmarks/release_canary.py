"""Figures: how often the canary analysis is wrong, on generated traffic, next to its exact bounds.

An emulator with its edge (workerd) runs examples/books-api; users call /books/1 at a fixed rate on
loopback (release_support.RATE, bounded) for the whole benchmark. The stable version has a 1% background
error rate (ERROR_RATE=0.01: 1% of the invocations throw, which Cloudflare's analytics count as errors).
With the canary settings of release_support.CANARY (300 canary invocations before a step may pass, looks
at 75/150/300 each at alpha/3, alpha 0.00075 per step and test):

- --runs healthy releases (the same 1% background errors): the rollbacks (the goal is 0);
- --runs releases with 10% errors: how many are caught at the first step, 10% (the goal is all).

Before running, it prints the bounds the decision gives by construction (exact binomial sums over the
same tests the engine runs): the chance that a healthy release is rolled back (the union over the steps
and looks) and the chance that a 10% release passes the first step (its final look alone), and what they
mean for --runs runs. Not a test: it asserts nothing.

    .venv/bin/python benchmarks/release_canary.py [--runs N]

Results (2-core machine shared with other jobs' tests, --runs 20, 100 requests/s, 157,360 requests):

    by construction (alpha 0.00075, 300 canary invocations per step, looks at 75/150/300):
      healthy release (1% vs 1%) rolled back by the error-rate tests: at most 4.23e-04 a run; P(no rollback in 20 runs) >= 0.9916
      10% release caught at the first step (10%): at least 0.999895 a run; P(all 20 caught) >= 0.9979
    healthy releases against a stable version with 1% errors: 0 rollbacks in 20 runs (goal 0), median 62.3 s a run
    releases with 10% errors: caught at the first step (10%) in 20 of 20 runs (goal all), median 14.3 s a run
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from release_support import ALPHA, CANARY, MIN_REQUESTS, RATE, bounds, deploy, emulator, release, rolled_back_at, users  # noqa: E402

STEPS = (10, 25, 50, 100)


def print_bounds(runs):
    false_rollback = sum(bounds(share, 0.01, 0.01)[0] for share in STEPS)
    _upper, caught = bounds(10, 0.10, 0.01)
    print("by construction (alpha %g, %d canary invocations per step, looks at %s):" % (ALPHA, MIN_REQUESTS, "/".join(
        str(n) for n in (MIN_REQUESTS // 4, MIN_REQUESTS // 2, MIN_REQUESTS))))
    print("  healthy release (1%% vs 1%%) rolled back by the error-rate tests: at most %.2e a run; "
          "P(no rollback in %d runs) >= %.4f" % (false_rollback, runs, (1 - false_rollback) ** runs))
    print("  10%% release caught at the first step (10%%): at least %.6f a run; P(all %d caught) >= %.4f"
          % (caught, runs, caught ** runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="releases of each kind (default 20)")
    args = parser.parse_args()
    print_bounds(args.runs)
    healthy, bad = [], []
    with emulator() as emu, users(emu, limit=4 * 3600) as traffic:
        first, _wall, _summary = deploy(emu, *release("stable", error_rate=0.01), "-e", '{"worker_rollout_steps": [100]}')
        if first.rc != 0:
            raise SystemExit(first.output[-3000:])
        for number in range(1, args.runs + 1):
            run, wall, _summary = deploy(emu, *CANARY, *release("healthy-%d" % number, error_rate=0.01))
            healthy.append({"rolled back": run.rc != 0, "step": rolled_back_at(run.output), "wall": wall,
                            "why": run.output[run.output.find("failed at"):][:300] if run.rc != 0 else ""})
            verdict = "ROLLED BACK at %s: %s" % (healthy[-1]["step"], healthy[-1]["why"]) if run.rc else "released"
            print("healthy #%d: %s, %.1f s" % (number, verdict, wall), flush=True)
        for number in range(1, args.runs + 1):
            run, wall, _summary = deploy(emu, *CANARY, *release("bad10-%d" % number, error_rate=0.10))
            bad.append({"step": rolled_back_at(run.output) if run.rc else "released", "wall": wall})
            print("10%% errors #%d: stopped at %s, %.1f s" % (number, bad[-1]["step"], wall), flush=True)
        sent = len(traffic.samples)
    print("users: %g requests/s to /books/1 on the edge, %d requests in all" % (RATE, sent))
    print("healthy releases against a stable version with 1%% errors: %d rollbacks in %d runs (goal 0), median %.1f s a run"
          % (sum(r["rolled back"] for r in healthy), len(healthy), statistics.median(r["wall"] for r in healthy)))
    print("releases with 10%% errors: caught at the first step (10%%) in %d of %d runs (goal all), median %.1f s a run"
          % (sum(1 for r in bad if r["step"] == "10%"), len(bad), statistics.median(r["wall"] for r in bad)))


if __name__ == "__main__":
    main()
