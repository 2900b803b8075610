"""Figures: the blast radius of a bad release under users' traffic, until the stable version serves all of it again.

An emulator with its edge (workerd) runs examples/books-api; users call /books/1 at a fixed rate on
loopback (release_support.RATE, bounded in time and count) for the whole benchmark. A stable release is
deployed, then --runs times:

- a release whose user-facing routes throw on 20% of the requests (ERROR_RATE=0.2; its /health answers,
  so the smoke test passes and Cloudflare's analytics must catch it), released with the canary settings of
  release_support.CANARY. Printed: the failed user requests (5xx) from the release's start until the stable
  version serves all traffic again (the rollback deployment), the seconds from the first failed request to
  that point, and the step it was stopped at;
- a release whose /health answers 500 (FAIL_HEALTH=true): stopped by the smoke test at 0%, before any user
  reaches it. Printed: its failed user requests (the goal is 0).

Not a test: it asserts nothing and prints figures.

    .venv/bin/python benchmarks/release_rollback.py [--runs N]

Results (2-core machine shared with other jobs' tests, --runs 5, 100 requests/s, 7,185 requests):

    release                  stopped failed requests exposure (s)  failed afterwards  wall (s)
    20% of requests fail         10%              12          6.6                  0       9.7
    /health answers 500     smoke 0%               0          0.0                  0       3.4
    20% of requests fail         10%              15          9.0                  1      12.1
    /health answers 500     smoke 0%               0          0.0                  0       2.5
    20% of requests fail         10%              20          8.9                  0      11.6
    /health answers 500     smoke 0%               0          0.0                  0       2.7
    20% of requests fail         10%              18          9.1                  0      11.7
    /health answers 500     smoke 0%               0          0.0                  0       2.0
    20% of requests fail         10%              16          8.0                  0      11.5
    /health answers 500     smoke 0%               0          0.0                  0       1.8
    20% of requests fail: median 16 failed user requests, median 8.9 s from the first failed request to the stable
    version serving all traffic again
    /health answers 500: median 0 failed user requests, median 0.0 s ...

"failed afterwards" counts requests that failed after the rollback deployment was made: ones already on
their way while the edge switched (it serves a change within about 100 ms).
"""
import argparse
import datetime
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from release_support import CANARY, RATE, deploy, deployments, emulator, release, rolled_back_at, users  # noqa: E402


def epoch(timestamp):
    return datetime.datetime.strptime(timestamp.rstrip("Z")[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def one_release(emu, traffic, args, label):
    started = time.time()
    run, wall, _summary = deploy(emu, *CANARY, *args)
    if run.rc == 0:
        raise SystemExit("%s was not stopped:\n%s" % (label, run.stdout[-3000:]))
    rollback = deployments(emu)[0]
    back_at = epoch(rollback["created_on"])
    failed = [s for s in traffic.failed(since=started) if s[0] <= back_at]
    after = traffic.failed(since=back_at)
    return {"label": label, "failed": len(failed), "after": len(after), "step": rolled_back_at(run.output),
            "exposure": (back_at - failed[0][0]) if failed else 0.0, "wall": wall}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="releases of each kind (default 5)")
    args = parser.parse_args()
    rows = []
    with emulator() as emu:
        with users(emu) as traffic:
            first, _wall, _summary = deploy(emu, *release("stable"), "-e", '{"worker_rollout_steps": [100]}')
            if first.rc != 0:
                raise SystemExit(first.output[-3000:])
            for number in range(1, args.runs + 1):
                rows.append(one_release(emu, traffic, release("bad20-%d" % number, error_rate=0.2), "20% of requests fail"))
                rows.append(one_release(emu, traffic, release("bad5xx-%d" % number, extra_vars={"FAIL_HEALTH": "true"}),
                                        "/health answers 500"))
            sent = len(traffic.samples)
    print("users: %g requests/s to /books/1 on the edge, %d requests in all" % (RATE, sent))
    print("%-22s %9s %15s %12s %18s %9s" % ("release", "stopped", "failed requests", "exposure (s)", "failed afterwards",
                                            "wall (s)"))
    for row in rows:
        print("%-22s %9s %15d %12.1f %18d %9.1f" % (row["label"], row["step"], row["failed"], row["exposure"], row["after"],
                                                    row["wall"]))
    for label in ("20% of requests fail", "/health answers 500"):
        mine = [row for row in rows if row["label"] == label]
        print("%s: median %g failed user requests, median %.1f s from the first failed request to the stable version "
              "serving all traffic again" % (label, statistics.median(r["failed"] for r in mine),
                                             statistics.median(r["exposure"] for r in mine)))


if __name__ == "__main__":
    main()
