"""_auth_answers.slowed: a tarpit told apart from a server answering attempts in turn."""

from __future__ import annotations

from middlebrick.checks.authentication._auth_answers import slowed


def test_slowed_reads_answers_held_back_past_the_sixth_as_a_tarpit() -> None:
    times = [0.02] * 5 + [2.0] * 6
    assert slowed(times, ends=times, alone=0.02)


def test_slowed_reads_answers_in_turn_at_the_servers_own_pace_as_not_held_back() -> None:
    times = [0.15 * n for n in range(1, 12)]  # the last waits 1.65 s, only for the others
    assert not slowed(times, ends=times, alone=0.15)


def test_slowed_reads_the_same_pace_as_held_back_when_one_attempt_alone_is_fast() -> None:
    times = [0.15 * n for n in range(1, 12)]  # a limiter letting one through every 0.15 s
    assert slowed(times, ends=times, alone=0.01)


def test_slowed_without_a_lone_attempt_compares_the_slowest_with_the_fastest() -> None:
    assert slowed([0.1, 0.2, 1.5])
    assert not slowed([0.1, 0.2, 0.9])
    assert not slowed([1.0, 1.2, 1.5])
