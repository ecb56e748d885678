"""Properties of the alert life cycle on arbitrary source timelines (hypothesis)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alert_data import DeviceMessage, MessagePoll, Snapshot, SourceSeen
from bot.alerts.engine import empty_state, evaluate
from heatpump.settings import Settings

TZ = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)
CFG = Settings(alert_repeat_h=3)
F = DeviceMessage("error", "F.1", "error")

# runs of 5-minute checks: does the source deliver, is the fault listed, for how many checks
runs = st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(1, 40)), min_size=1,
                max_size=30)


def timeline(run_list):
    flags = [(d, f) for d, f, n in run_list for _ in range(n)]
    last = T0
    for i, (delivers, fault) in enumerate(flags):
        now = T0 + timedelta(minutes=5 * i)
        if delivers:
            last = now
        poll = MessagePoll("hp", last, (F,) if fault and delivers else (), 0)
        yield Snapshot(now, polls=(poll,), sources=(SourceSeen("heatpump", "hp", last),))


@settings(max_examples=150, deadline=None)
@given(runs)
def test_never_spams(flags):
    state = empty_state()
    history: dict[str, list[tuple[datetime, str]]] = {}
    for snap in timeline(flags):
        state, notes = evaluate(snap, state, CFG, TZ)
        assert len({n.key for n in notes}) == len(notes)  # one message per alert per check
        for n in notes:
            history.setdefault(n.key, []).append((snap.now, n.event))
    for events in history.values():
        active = False
        last_sent = None
        for t, event in events:
            if event == "raised":
                assert not active
                active, last_sent = True, t
            elif event == "repeat":
                assert active and t - last_sent >= CFG.alert_repeat
                last_sent = t
            else:
                assert active  # "resolved" only for something raised, and only once
                active = False
