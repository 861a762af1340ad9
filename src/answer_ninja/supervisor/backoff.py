"""Crash-loop back-off as Kubernetes applies it to a container: pure, so it is tested without processes.

Delays double from ``initial`` (10 s, 20 s, 40 s ...) up to ``maximum`` (5 min). A process that ran for
``reset_after`` (10 min) before exiting is considered to have been healthy: its next crash starts over at 10 s.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    initial_seconds: float = 10.0
    maximum_seconds: float = 300.0
    reset_after_seconds: float = 600.0

    def delay_for(self, consecutive_crashes: int) -> float:
        """Wait before restart number ``consecutive_crashes`` (1 = the first crash)."""
        if consecutive_crashes <= 0:
            return 0.0
        exponent = min(consecutive_crashes - 1, 32)  # 2**32 * 10 s is far past any sane cap
        delay: float = min(self.initial_seconds * (2**exponent), self.maximum_seconds)
        return delay


@dataclass
class CrashTracker:
    """Counts consecutive crashes of one process and answers how long to wait before the next start."""

    policy: BackoffPolicy
    consecutive_crashes: int = 0

    def record_crash(self, ran_for_seconds: float) -> float:
        """Register an unexpected exit after ``ran_for_seconds`` of running; return the back-off delay."""
        if ran_for_seconds >= self.policy.reset_after_seconds:
            self.consecutive_crashes = 0
        self.consecutive_crashes += 1
        return self.policy.delay_for(self.consecutive_crashes)

    def reset(self) -> None:
        """A deliberate restart (a new rollout) starts with a clean slate, as a new pod would."""
        self.consecutive_crashes = 0
