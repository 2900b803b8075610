"""The canary decision: exact tests against hand-computed values, and the verdicts a release gets."""
import random

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._canary import (
    FAIL,
    INSUFFICIENT,
    PASS,
    WAIT,
    PolicyError,
    binomial_upper_p,
    fisher_one_sided_p,
    judge,
    looks,
    next_action,
    policy,
)


def sample(requests, errors, latency_ms=None, quantile="p95"):
    return {"requests": requests, "errors": errors, "latency_ms": latency_ms, "quantile": quantile}


# --- the exact tests --------------------------------------------------------------------------------------

def test_fisher_matches_the_lady_tasting_tea_table():
    # 3 of 4 vs 1 of 4: P = (C(4,3)C(4,1) + C(4,4)C(4,0)) / C(8,4) = 17/70.
    assert fisher_one_sided_p(3, 4, 1, 4) == pytest.approx(17 / 70.0, rel=1e-9)


def test_fisher_with_a_stable_version_without_errors():
    # 2 of 10 vs 0 of 90: P(X >= 2) = C(10,2) / C(100,2).
    assert fisher_one_sided_p(2, 10, 0, 90) == pytest.approx(45 / 4950.0, rel=1e-9)


def test_fisher_of_no_canary_error_is_one():
    assert fisher_one_sided_p(0, 100, 5, 900) == 1.0


def test_binomial_tail_matches_the_closed_form():
    assert binomial_upper_p(1, 10, 0.1) == pytest.approx(1 - 0.9 ** 10, rel=1e-12)
    assert binomial_upper_p(10, 10, 0.5) == pytest.approx(0.5 ** 10, rel=1e-12)
    assert binomial_upper_p(0, 10, 0.5) == 1.0


def test_large_samples_stay_fast_and_finite():
    p = fisher_one_sided_p(300, 100000, 2000, 900000)
    assert 0.0 <= p <= 1.0
    assert binomial_upper_p(2000, 1000000, 0.001) < 1e-100


# --- verdicts ----------------------------------------------------------------------------------------------

DEFAULTS = policy()


def test_two_good_responses_never_pass_a_release():
    verdict = judge(sample(2, 0, 30.0), sample(2, 0, 30.0), DEFAULTS)
    assert verdict["decision"] == INSUFFICIENT
    assert verdict["reasons"] == ["2 of the 30 canary requests needed to pass"]


def test_one_error_in_three_responses_is_chance_not_a_failure():
    assert judge(sample(3, 1), None, DEFAULTS)["decision"] == INSUFFICIENT


def test_a_version_failing_every_request_fails_before_the_minimum_sample():
    verdict = judge(sample(5, 5), sample(45, 0), DEFAULTS)
    assert verdict["decision"] == FAIL
    assert "error rate 100% > 5% (5 of 5 requests" in verdict["reasons"][0]


def test_relative_failure_names_both_rates_and_the_test():
    verdict = judge(sample(200, 12), sample(1800, 18), policy(max_error_rate=0.10))
    assert verdict["decision"] == FAIL
    [reason] = verdict["reasons"]
    assert reason.startswith("error rate 6% vs stable 1% (+5 points > 1, Fisher p=")


def test_a_significant_but_tiny_increase_passes():
    # 1.3% vs 1.0% over a million requests is significant, and not worth a rollback.
    verdict = judge(sample(100000, 1300), sample(900000, 9000), DEFAULTS)
    assert verdict["decision"] == PASS


def test_latency_absolute_and_relative():
    slow = judge(sample(50, 0, 900.0), sample(50, 0, 40.0), DEFAULTS)
    assert slow["decision"] == FAIL
    assert slow["reasons"] == ["p95 900 ms > 500 ms", "p95 900 ms > stable's 40 ms x 1.50 + 50 ms = 110 ms"]
    assert judge(sample(50, 0, 100.0), sample(50, 0, 40.0), DEFAULTS)["decision"] == PASS


def test_analytics_latency_is_named_by_its_quantile():
    verdict = judge(sample(50, 0, 700.0, "p99"), None, DEFAULTS)
    assert verdict["reasons"] == ["p99 700 ms > 500 ms"]


def test_latency_of_a_few_responses_is_not_judged():
    assert judge(sample(5, 0, 5000.0), None, DEFAULTS)["decision"] == INSUFFICIENT


def test_at_100_percent_without_stable_only_absolute_checks_run():
    verdict = judge(sample(40, 0, 20.0), None, DEFAULTS)
    assert verdict["decision"] == PASS
    assert [c["check"] for c in verdict["checks"]] == ["error_rate", "latency"]


def test_window_extension_then_the_configured_decision():
    thin = judge(sample(10, 0), sample(90, 0), DEFAULTS)
    assert next_action(thin, elapsed=30, max_window=120, settings=DEFAULTS) == WAIT
    assert next_action(thin, elapsed=120, max_window=120, settings=DEFAULTS) == FAIL
    lenient = policy(on_insufficient="pass")
    assert next_action(thin, elapsed=120, max_window=120, settings=lenient) == PASS
    failed = judge(sample(10, 10), None, DEFAULTS)
    assert next_action(failed, elapsed=1, max_window=120, settings=DEFAULTS) == FAIL


@pytest.mark.parametrize("settings, message", [
    ({"alpha": 0}, "alpha must be above 0"),
    ({"max_error_rate": 5}, "max_error_rate is a share from 0 to 1"),
    ({"min_requests": 0}, "min_requests must be at least 1"),
    ({"on_insufficient": "maybe"}, "on_insufficient is 'fail' or 'pass'"),
    ({"colour": "red"}, "unknown canary setting(s): colour"),
])
def test_bad_policy_is_refused_with_the_setting_named(settings, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        policy(**settings)


# --- operating characteristics (seeded simulations of the scenarios) --------------------------------

def simulate(canary_rate, stable_rate, canary_n, stable_n, runs, seed, settings=None):
    settings = settings or DEFAULTS
    rng = random.Random(seed)
    decisions = {PASS: 0, FAIL: 0, INSUFFICIENT: 0}
    for _run in range(runs):
        canary = sum(rng.random() < canary_rate for _request in range(canary_n))
        stable = sum(rng.random() < stable_rate for _request in range(stable_n))
        decisions[judge(sample(canary_n, canary), sample(stable_n, stable), settings)["decision"]] += 1
    return decisions


def test_healthy_release_against_a_stable_with_1_percent_errors_is_rarely_rolled_back():
    # 10% step: 200 canary and 1800 stable requests, both at 1% errors, 4 steps x 20 releases and more.
    decisions = simulate(0.01, 0.01, 200, 1800, runs=400, seed=7)
    assert decisions[FAIL] <= 2, decisions


def test_release_with_10_percent_errors_is_caught_at_the_first_step():
    decisions = simulate(0.10, 0.01, 200, 1800, runs=200, seed=11)
    assert decisions[FAIL] == 200, decisions


def test_probes_of_30_catch_a_release_failing_half_its_requests():
    decisions = simulate(0.5, 0.0, 30, 30, runs=200, seed=3)
    assert decisions[FAIL] == 200, decisions


def test_a_sequential_analysis_looks_at_a_quarter_half_and_all_of_the_minimum_sample():
    assert looks(300) == [75, 150, 300]
    assert looks(2) == [1, 2]
    # An interim look spends a share of alpha and leaves latency to the final look.
    canary = {"requests": 75, "errors": 3, "latency_ms": 900.0, "quantile": "p99"}
    stable = {"requests": 675, "errors": 7, "latency_ms": 10.0, "quantile": "p99"}
    settings = policy(min_requests=300, max_latency_ms=500)
    assert judge(canary, stable, settings)["decision"] == FAIL                      # latency
    interim = judge(canary, stable, settings, alpha=settings["alpha"] / 3, latency=False)
    assert interim["decision"] == INSUFFICIENT and not any(c["check"].startswith("latency") for c in interim["checks"])
