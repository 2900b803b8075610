"""Figures: where a full rollout's time goes - waiting by design (the analysis windows) and overhead.

An emulator with its edge (workerd) runs examples/books-api; users call /books/1 at a fixed rate on
loopback (release_support.RATE, bounded) so each step's analysis has its sample when its window ends.
A stable release is deployed, then one release goes through the default steps (smoke 0%, 10, 25, 50,
100) with probes and traffic analysis (worker_gate: both), twice:

- "default": the role's defaults (analysis window 60 s, read every 10 s, 100 canary invocations), the
  analytics delay 0 (the emulator answers at once; on Cloudflare it is worker_analysis_delay);
- "local": inventories/local's windows (5 s, read every second).

Printed for each: the whole ansible-playbook run's wall time, the configured windows (steps x window), the
time the engine spent in analysis windows (its summary line), the rest (overhead: Ansible's start,
pre-flight, upload, deployments, settling, probes, reads), and the share of the total spent beyond the
configured windows (goal for the default rollout: at most 20%). Not a test: it asserts nothing.

    .venv/bin/python benchmarks/release_rollout_time.py

Results (2-core machine shared with other jobs' tests, 100 requests/s, 27,335 requests):

    rollout   total (s) engine (s)  windows (s) analysing (s)   overhead       beyond
    default       244.7      243.0          240        240.4       4.3s           2%
    local          25.6       22.7           20         20.1       5.5s          22%
    default rollout: 244.7 s in all, 240.4 s waiting by design (analysis windows), 4.3 s overhead; 2% beyond
    the configured windows (goal <= 20%: met)
    local rollout: 25.6 s in all, 20.1 s waiting by design (analysis windows), 5.5 s overhead; 22% beyond the
    configured windows

The overhead is about the same in both (Ansible's start, pre-flight, upload, five deployments, settling,
30 probes per version and step); with 5 s windows it is a fifth of the total, with the default 60 s ones 2%.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from release_support import RATE, deploy, emulator, release, users  # noqa: E402

STEPS = 4
CONFIGS = {
    "default": {"window": 60, "args": ["-e", "worker_gate=both", "-e", "worker_analysis_window=60",
                                       "-e", "worker_analysis_interval=10", "-e", "worker_analysis_max_window=300",
                                       "-e", "worker_analysis_min_requests=100", "-e", "worker_analysis_delay=0",
                                       "-e", "worker_gate_alpha=0.01"]},
    "local": {"window": 5, "args": ["-e", "worker_gate=both"]},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(CONFIGS), help="one configuration")
    args = parser.parse_args()
    rows = []
    with emulator() as emu, users(emu) as traffic:
        first, _wall, _summary = deploy(emu, *release("stable"), "-e", '{"worker_rollout_steps": [100]}')
        if first.rc != 0:
            raise SystemExit(first.output[-3000:])
        for name, config in CONFIGS.items():
            if args.only and name != args.only:
                continue
            run, wall, summary = deploy(emu, *config["args"], *release("timed-" + name))
            if run.rc != 0 or summary is None:
                raise SystemExit("the %s rollout failed:\n%s" % (name, run.output[-3000:]))
            rows.append((name, config["window"], wall, float(summary.group("seconds")), float(summary.group("waited") or 0)))
        sent = len(traffic.samples)
    print("users: %g requests/s to /books/1 on the edge, %d requests in all" % (RATE, sent))
    print("%-8s %10s %10s %12s %12s %10s %12s" % ("rollout", "total (s)", "engine (s)", "windows (s)", "analysing (s)",
                                                  "overhead", "beyond"))
    for name, window, wall, engine, waited in rows:
        configured = STEPS * window
        beyond = 100.0 * (wall - configured) / wall
        print("%-8s %10.1f %10.1f %12d %12.1f %9.1fs %11.0f%%" % (name, wall, engine, configured, waited, wall - waited, beyond))
    for name, window, wall, _engine, waited in rows:
        share = 100.0 * (wall - STEPS * window) / wall
        goal = (" (goal <= 20%%: %s)" % ("met" if share <= 20 else "NOT met")) if name == "default" else ""
        print("%s rollout: %.1f s in all, %.1f s waiting by design (analysis windows), %.1f s overhead; %.0f%% beyond "
              "the configured windows%s" % (name, wall, waited, wall - waited, share, goal))


if __name__ == "__main__":
    main()
