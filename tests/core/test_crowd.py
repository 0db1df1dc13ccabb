"""The crowd signal's maths: Poisson tails, the test, the baseline and the onset."""

from __future__ import annotations

import math

import pytest

from bot.core.crowd import CrowdParams, assess, baseline_from_history, hour_of_week, onset, poisson_sf


def brute_sf(n: int, mu: float) -> float:
    return 1.0 - sum(math.exp(-mu) * mu**k / math.factorial(k) for k in range(n))


@pytest.mark.parametrize(("n", "mu"), [(0, 2.0), (1, 0.5), (3, 3.0), (5, 2.0), (10, 4.0), (2, 10.0)])
def test_the_poisson_tail_matches_the_textbook_sum(n: int, mu: float) -> None:
    assert poisson_sf(n, mu) == pytest.approx(brute_sf(n, mu), rel=1e-9, abs=1e-15)


def test_the_far_tail_stays_accurate_where_one_minus_a_sum_would_round_to_zero() -> None:
    # P(X >= 30 | mu = 1) = e^-1 / 30! * (1 + 1/31 + ...) ≈ 1.4e-33
    expected = math.exp(-1) / math.factorial(30) * sum(1 / math.prod(range(31, 31 + k)) for k in range(10))
    assert poisson_sf(30, 1.0) == pytest.approx(expected, rel=1e-9)
    assert brute_sf(30, 1.0) == 0.0 or brute_sf(30, 1.0) < 1e-15


def test_no_expected_reports_means_any_report_is_impossible_and_none_is_certain() -> None:
    assert poisson_sf(0, 0.0) == 1.0
    assert poisson_sf(1, 0.0) == 0.0


def test_it_fires_only_with_enough_distinct_reporters_even_when_wildly_unlikely() -> None:
    params = CrowdParams(min_reporters=6, alpha=1e-5, floor_per_hour=1.0)
    five = [0] * 25 + [1] * 5
    assert not assess(five, 0.0, params).active
    six = [0] * 24 + [1] * 6
    verdict = assess(six, 0.0, params)
    assert verdict.active and verdict.count == 6 and verdict.window_minutes == 15


def test_it_does_not_fire_on_a_busy_hours_ordinary_volume() -> None:
    params = CrowdParams()
    ordinary = [1 if m % 5 == 0 else 0 for m in range(30)]  # 12 an hour, as expected
    assert not assess(ordinary, 12.0, params).active
    surge = ordinary[:15] + [2] * 15
    verdict = assess(surge, 12.0, params)
    assert verdict.active and verdict.p_value < params.alpha
    assert verdict.expected == pytest.approx(12.0 * verdict.window_minutes / 60)


def test_the_floor_applies_when_the_baseline_is_lower() -> None:
    params = CrowdParams(floor_per_hour=4.0)
    assert assess([0] * 30, 0.0, params).expected == pytest.approx(2.0)


def test_a_service_without_history_gets_the_floor_everywhere() -> None:
    params = CrowdParams(floor_per_hour=1.0)
    baseline = baseline_from_history({}, first_hour=0, end_hour=4 * 168, params=params)
    assert len(baseline) == 168 and set(baseline) == {1.0}


def test_the_baseline_follows_the_hour_of_the_week_and_caps_a_past_outage() -> None:
    params = CrowdParams(floor_per_hour=0.1, confidence_sds=0.0)
    first = 96  # a Monday 00:00 UTC
    hourly = {first + week * 168 + 10: 8 for week in range(4)}  # Mondays 10:00 UTC: 8 reports
    calm = baseline_from_history(hourly, first_hour=first, end_hour=first + 4 * 168, params=params)
    assert hour_of_week(first + 10) == 10
    assert calm[10] > calm[3] and calm[10] >= 4.0
    hourly[first + 10] = 500  # one outage in the history
    stormy = baseline_from_history(hourly, first_hour=first, end_hour=first + 4 * 168, params=params)
    assert stormy[10] < 2 * calm[10], "an old outage must not teach that outages are normal"


def test_the_baseline_is_an_upper_bound_not_a_mean() -> None:
    first = 96
    hourly = {h: 3 for h in range(first, first + 4 * 168)}
    mean = baseline_from_history(hourly, first_hour=first, end_hour=first + 4 * 168,
                                 params=CrowdParams(confidence_sds=0.0))
    upper = baseline_from_history(hourly, first_hour=first, end_hour=first + 4 * 168, params=CrowdParams())
    assert mean[50] == pytest.approx(3.0)
    assert upper[50] > 3.0


def test_onset_finds_where_the_current_run_of_firing_minutes_began() -> None:
    params = CrowdParams(min_reporters=6, alpha=1e-5)
    recent = [0] * 60 + [1] * 20
    rates = [1.0] * len(recent)
    ago = onset(recent, rates, params)
    assert ago is not None
    assert not assess(recent[: len(recent) - ago - 1], 1.0, params).active
    assert all(assess(recent[: len(recent) - k], 1.0, params).active for k in range(ago + 1))
    assert onset([0] * 80, rates, params) is None
    with pytest.raises(ValueError):
        onset(recent, rates[:-1], params)
