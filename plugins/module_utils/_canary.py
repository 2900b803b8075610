# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The canary decision: is the new version worse than the stable one, or than the environment allows?

Pure functions, no I/O. A *sample* is what was measured of one version over one window, from probes
or from Cloudflare's analytics: ``{"requests": n, "errors": k, "latency_ms": float or None, "quantile": "p95"}``
(the quantile the latency is: p95 from probes, p99 from analytics, which has no p95).

The tests, and why these:

- **Error rate against the stable version**: Fisher's exact test, one-sided (is the canary's error
  rate higher?). Error counts at a gate are small (0 to a few dozen) and the stable version often has
  none; a two-proportion z-test (even with continuity correction) relies on a normal approximation that
  is poor when an expected count is below 5, which is the usual case here, while the exact test is valid
  at any count. It is conservative (a little less power), so a failure needs ``p < alpha`` *and* an
  increase larger than ``max_error_rate_increase`` (a practical margin: with many requests a
  statistically significant 0.1 point rise is not worth a rollback).
- **Error rate against the environment's threshold** (the seed plans' 5 %, 1 % in prod): an exact
  one-sided binomial test of ``rate <= max_error_rate``, so chance alone fails a release at the threshold
  with probability ``alpha``, whatever the sample size.
- **Latency**: the canary's quantile against ``max_latency_ms``, and against the stable version's times
  ``1 + latency_margin`` plus ``latency_slack_ms`` (quantiles of small samples are noisy, the margin
  absorbs that). Judged only with at least ``min_latency_requests`` responses.
- **Minimum sample**: a *pass* needs ``min_requests`` canary responses. A failure may come earlier, when
  the evidence already is significant (a version failing every request is stopped at once, which keeps
  the blast radius small). Too little traffic: the window is extended up to ``max_window``, then
  ``on_insufficient`` decides (``fail``, the default: an undecided release does not proceed).

Every decision carries its reasons as sentences with the measured numbers.
"""

from __future__ import annotations

import math

PASS = "pass"
FAIL = "fail"
INSUFFICIENT = "insufficient"
WAIT = "wait"

POLICY_DEFAULTS = {
    "alpha": 0.01,
    "min_requests": 30,
    "min_latency_requests": 20,
    "max_error_rate": 0.05,
    "max_error_rate_increase": 0.01,
    "max_latency_ms": 500.0,
    "latency_margin": 0.5,
    "latency_slack_ms": 50.0,
    "on_insufficient": FAIL,
}


class PolicyError(ValueError):
    """A canary policy that cannot be applied; the message names the setting."""


def policy(**settings):
    """The defaults overridden by ``settings`` (None values ignored), checked."""
    merged = dict(POLICY_DEFAULTS)
    merged.update({key: value for key, value in settings.items() if value is not None})
    unknown = sorted(set(merged) - set(POLICY_DEFAULTS))
    if unknown:
        raise PolicyError("unknown canary setting(s): %s" % ", ".join(unknown))
    if not 0 < merged["alpha"] < 0.5:
        raise PolicyError("alpha must be above 0 and below 0.5, got %g" % merged["alpha"])
    for name in ("max_error_rate", "max_error_rate_increase"):
        if not 0 <= merged[name] <= 1:
            raise PolicyError("%s is a share from 0 to 1 (0.05 is 5%%), got %g" % (name, merged[name]))
    for name in ("min_requests", "min_latency_requests"):
        if int(merged[name]) < 1:
            raise PolicyError("%s must be at least 1, got %s" % (name, merged[name]))
        merged[name] = int(merged[name])
    if merged["max_latency_ms"] <= 0:
        raise PolicyError("max_latency_ms must be above 0, got %g" % merged["max_latency_ms"])
    if merged["latency_margin"] < 0 or merged["latency_slack_ms"] < 0:
        raise PolicyError("latency_margin and latency_slack_ms must not be negative")
    if merged["on_insufficient"] not in (FAIL, PASS):
        raise PolicyError("on_insufficient is 'fail' or 'pass', got %r" % merged["on_insufficient"])
    return merged


# --- exact tests ------------------------------------------------------------------------------------------

def _log_choose(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _upper_tail(log_term, first, last):
    """sum(exp(log_term(x)) for x in first..last), stopping once the terms are negligible."""
    total = 0.0
    peak = None
    for x in range(first, last + 1):
        value = log_term(x)
        peak = value if peak is None else max(peak, value)
        term = math.exp(value)
        total += term
        # Past the mode the terms only shrink: stop when they no longer change the sum.
        if value < peak and term < total * 1e-17:
            break
    return min(1.0, total)


def binomial_upper_p(errors, requests, rate):
    """P(X >= errors) for X ~ Binomial(requests, rate): how surprising ``errors`` is if the true rate is ``rate``."""
    if errors <= 0:
        return 1.0
    if rate <= 0:
        return 0.0
    if rate >= 1:
        return 1.0
    log_p, log_q = math.log(rate), math.log1p(-rate)
    return _upper_tail(lambda x: _log_choose(requests, x) + x * log_p + (requests - x) * log_q, errors, requests)


def fisher_one_sided_p(canary_errors, canary_requests, stable_errors, stable_requests):
    """One-sided Fisher exact test: P(canary errors >= observed) given both versions' totals (margins fixed).

    Small values mean the canary's error rate is higher than the stable version's beyond chance."""
    total = canary_requests + stable_requests
    failed = canary_errors + stable_errors
    if canary_errors <= 0 or total == 0:
        return 1.0
    base = _log_choose(total, canary_requests)
    last = min(failed, canary_requests)
    return _upper_tail(lambda x: _log_choose(failed, x) + _log_choose(total - failed, canary_requests - x) - base,
                       canary_errors, last)


# --- the decision -------------------------------------------------------------------------------------------

def rate(sample):
    return sample["errors"] / float(sample["requests"]) if sample and sample["requests"] else 0.0


def _pct(value):
    """A share as a percentage without a needless decimal: 5%, 3.3%, 100%."""
    value = round(value * 100, 1)
    return ("%d%%" % value) if value == int(value) else ("%.1f%%" % value)


def _points(value):
    value = round(value * 100, 1)
    return ("%d" % value) if value == int(value) else ("%.1f" % value)


def judge(canary, stable, settings, alpha=None, latency=True):
    """The verdict on one window: ``{"decision", "reasons", "checks"}``.

    ``decision`` is PASS, FAIL or INSUFFICIENT (too few canary responses to pass; nothing failed).
    ``stable`` may be None (at 100 % there is no other version): the relative checks are skipped.
    ``checks`` lists each check with its measured value, threshold and outcome, for the step's line.
    ``alpha`` overrides the settings' level (an interim look of a sequential analysis spends a share of
    it, see looks()); ``latency=False`` leaves latency to the final look (quantiles of part of a window).
    """
    settings = dict(settings, alpha=alpha if alpha is not None else settings["alpha"])
    checks = []
    n, k = canary["requests"], canary["errors"]
    canary_rate = rate(canary)

    if n:
        p_abs = binomial_upper_p(k, n, settings["max_error_rate"])
        failed = canary_rate > settings["max_error_rate"] and p_abs < settings["alpha"]
        checks.append({"check": "error_rate", "measured": canary_rate, "threshold": settings["max_error_rate"],
                       "p_value": p_abs, "failed": failed,
                       "message": "error rate %s > %s (%d of %d requests, p=%.2g)"
                       % (_pct(canary_rate), _pct(settings["max_error_rate"]), k, n, p_abs)})

    comparable = stable is not None and stable["requests"] > 0 and n > 0
    if comparable:
        stable_rate = rate(stable)
        p_rel = fisher_one_sided_p(k, n, stable["errors"], stable["requests"])
        increase = canary_rate - stable_rate
        failed = p_rel < settings["alpha"] and increase > settings["max_error_rate_increase"]
        checks.append({"check": "error_rate_vs_stable", "measured": canary_rate, "threshold": stable_rate
                       + settings["max_error_rate_increase"], "p_value": p_rel, "failed": failed,
                       "message": "error rate %s vs stable %s (+%s points > %s, Fisher p=%.2g < %g)"
                       % (_pct(canary_rate), _pct(stable_rate), _points(increase),
                          _points(settings["max_error_rate_increase"]), p_rel, settings["alpha"])})

    latency_judged = latency and canary.get("latency_ms") is not None and n >= settings["min_latency_requests"]
    if latency_judged:
        latency, label = float(canary["latency_ms"]), canary.get("quantile") or "p95"
        checks.append({"check": "latency", "measured": latency, "threshold": settings["max_latency_ms"],
                       "failed": latency > settings["max_latency_ms"],
                       "message": "%s %.0f ms > %.0f ms" % (label, latency, settings["max_latency_ms"])})
        if comparable and stable.get("latency_ms") is not None and stable["requests"] >= settings["min_latency_requests"]:
            limit = float(stable["latency_ms"]) * (1 + settings["latency_margin"]) + settings["latency_slack_ms"]
            checks.append({"check": "latency_vs_stable", "measured": latency, "threshold": limit,
                           "failed": latency > limit,
                           "message": "%s %.0f ms > stable's %.0f ms x %.2f + %.0f ms = %.0f ms"
                           % (label, latency, stable["latency_ms"], 1 + settings["latency_margin"],
                              settings["latency_slack_ms"], limit)})

    failures = [check["message"] for check in checks if check["failed"]]
    if failures:
        return {"decision": FAIL, "reasons": failures, "checks": checks}
    if n < settings["min_requests"]:
        return {"decision": INSUFFICIENT, "checks": checks,
                "reasons": ["%d of the %d canary requests needed to pass" % (n, settings["min_requests"])]}
    return {"decision": PASS, "reasons": [], "checks": checks}


def looks(min_requests):
    """The canary sample sizes at which a sequential analysis judges: a quarter, half and all of the
    minimum sample. Each look tests at ``alpha / len(looks)`` (Bonferroni), so the chance that a step
    of a release as good as its stable version fails at any look stays below ``alpha``, however often
    the analytics are read; a release that fails every request is stopped at the first quarter."""
    thresholds = sorted({max(1, int(math.ceil(min_requests * share))) for share in (0.25, 0.5, 1.0)})
    return thresholds


def next_action(verdict, elapsed, max_window, settings):
    """What the rollout does after a verdict: PASS, FAIL or WAIT (extend the window).

    An INSUFFICIENT verdict waits while ``elapsed < max_window``, then takes ``on_insufficient``.
    """
    if verdict["decision"] in (PASS, FAIL):
        return verdict["decision"]
    if elapsed < max_window:
        return WAIT
    return settings["on_insufficient"]
