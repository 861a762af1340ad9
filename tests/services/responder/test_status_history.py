"""90 days of status, per component and day: time in each state, the worst state, uptime, old days forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from answer_ninja.services.responder.status_history import HISTORY_DAYS, StatusHistory
from answer_ninja.services.responder.status_model import COMPONENTS

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _all(state: str) -> dict[str, str]:
    return dict.fromkeys(COMPONENTS, state)  # type: ignore[arg-type]


def test_a_day_keeps_its_worst_state_and_uptime(tmp_path: Path) -> None:
    history = StatusHistory(tmp_path)
    history.record(_all("operational"), seconds=30, at=NOON)  # type: ignore[arg-type]
    history.record({**_all("operational"), "phone-gateway": "down"}, seconds=10, at=NOON)  # type: ignore[dict-item]
    history.record(_all("operational"), seconds=60, at=NOON)  # type: ignore[arg-type]
    days = history.days(today=NOON.date(), days=3)
    assert [day["day"] for day in days] == ["2026-11-30", "2026-12-01", "2026-12-02"]
    today = days[-1]["components"]
    assert today["phone-gateway"]["worst"] == "down"
    assert today["phone-gateway"]["uptime"] == 0.9  # 10 s down of 100
    assert today["ai"]["worst"] == "operational"
    assert days[0]["components"]["ai"] is None  # no data that day
    assert history.uptime("phone-gateway", days) == 0.9


def test_days_past_the_window_are_forgotten(tmp_path: Path) -> None:
    history = StatusHistory(tmp_path)
    old = NOON - timedelta(days=HISTORY_DAYS + 5)
    history.record(_all("down"), seconds=30, at=old)  # type: ignore[arg-type]
    history.record(_all("operational"), seconds=30, at=NOON)  # type: ignore[arg-type]
    import sqlite3

    with sqlite3.connect(history.path) as db:
        days = {row[0] for row in db.execute("SELECT day FROM status_days")}
    assert days == {"2026-12-02"}
    assert len(history.days(today=NOON.date())) == HISTORY_DAYS


def test_it_survives_a_restart(tmp_path: Path) -> None:
    StatusHistory(tmp_path).record(_all("degraded"), seconds=30, at=NOON)  # type: ignore[arg-type]
    again = StatusHistory(tmp_path).days(today=NOON.date(), days=1)
    assert again[0]["components"]["speech"]["worst"] == "degraded"
