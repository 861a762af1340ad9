from __future__ import annotations

from answer_ninja.supervisor.backoff import BackoffPolicy, CrashTracker


def test_delays_double_from_ten_seconds_up_to_five_minutes() -> None:
    policy = BackoffPolicy()
    assert [policy.delay_for(n) for n in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]


def test_long_good_run_resets_the_back_off() -> None:
    tracker = CrashTracker(BackoffPolicy())
    assert [tracker.record_crash(1.0) for _ in range(3)] == [10, 20, 40]
    assert tracker.record_crash(599.0) == 80  # not quite ten minutes: still crash looping
    assert tracker.record_crash(600.0) == 10  # ten minutes of good running: a fresh start


def test_deliberate_restart_forgets_crashes() -> None:
    tracker = CrashTracker(BackoffPolicy(initial_seconds=1, maximum_seconds=4))
    tracker.record_crash(0)
    tracker.record_crash(0)
    tracker.reset()
    assert tracker.record_crash(0) == 1
