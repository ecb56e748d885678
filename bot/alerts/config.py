"""The rule thresholds, taken from Settings once, so rules never read the environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from heatpump.settings import Settings


@dataclass(frozen=True, slots=True)
class AlertConfig:
    repeat: timedelta = timedelta(hours=24)
    stale_meter: timedelta = timedelta(minutes=60)
    stale_heatpump: timedelta = timedelta(minutes=60)
    meter_poll: timedelta = timedelta(seconds=10)
    heatpump_poll: timedelta = timedelta(seconds=300)
    warnings: bool = True
    cop_drop_pct: float = 20.0
    cop_days: int = 3
    cop_floor: float | None = None
    cop_min_runtime_h: float = 3.0
    cop_history_days: int = 42
    short_cycle_starts_per_h: float = 3.0  # 0: off

    @classmethod
    def from_settings(cls, s: Settings) -> AlertConfig:
        return cls(
            repeat=timedelta(hours=s.alert_repeat_h),
            stale_meter=timedelta(minutes=s.alert_stale_shelly_min),
            stale_heatpump=timedelta(minutes=s.alert_stale_vicare_min),
            meter_poll=timedelta(seconds=s.shelly_poll_seconds),
            heatpump_poll=timedelta(seconds=s.vicare_poll_seconds),
            warnings=s.alert_warnings,
            cop_drop_pct=s.alert_cop_drop_pct,
            cop_days=s.alert_cop_days,
            cop_floor=s.alert_cop_floor,
            cop_min_runtime_h=s.alert_cop_min_runtime_h,
            cop_history_days=s.alert_cop_history_days,
            short_cycle_starts_per_h=s.alert_short_cycle_starts_per_h,
        )

    def stale_after(self, source: str) -> timedelta:
        return self.stale_meter if source == "meter" else self.stale_heatpump

    def fresh_within(self, source: str) -> timedelta:
        """A source counts as recovered while its latest sample is younger than this.

        Between `fresh_within` and `stale_after` is the hysteresis band: nothing changes."""
        poll = self.meter_poll if source == "meter" else self.heatpump_poll
        return min(self.stale_after(source) / 2, max(3 * poll, timedelta(minutes=5)))
