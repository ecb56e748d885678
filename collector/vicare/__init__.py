"""Viessmann source: `ViCareReader.read()` -> samples or classified errors (see reader.py)."""

from collector.vicare.reader import ViCareRead, ViCareReader

__all__ = ["ViCareRead", "ViCareReader"]
