"""Viessmann source: `ViCareSource(settings).poll(now)` -> PollResult (see source.py)."""

from collector.vicare.source import HealthEvent, PollResult, ViCareSource

__all__ = ["HealthEvent", "PollResult", "ViCareSource"]
