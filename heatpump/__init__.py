"""Shared core of heatpump-monitor: settings, the stored schema and the store backends.

The collector and the bot are separate processes; this package is what both import.
"""

__version__ = "0.1.0"
