"""Energy accounting: from a device's readings to the energy stored, as pure functions.

- `meter`: the meter's cumulative counter -> electricity per UTC minute, running time,
  starts, counter resets and glitches.
- `counters`: the heat pump's own energy counters between two readings, by their own
  evidence of rollovers (never our clock), glitches and the plausibility cap.
- `heat`: the heat pump's counters (or flow, modulation, runtime) -> heat per poll
  interval, and the device's own electricity figure.
- `running`: the meter's running time, kept so heat accounting can ask for any interval.

Everything here is plain data in, plain data out: no I/O, no clock, no store.
"""
