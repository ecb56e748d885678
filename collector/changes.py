"""Settings changes of the heat pump, read off two successive polls (pure).

The owner's settings the device reports (heatpump.schema.SETTING_FIELDS: the heating
curve's slope and shift, the room target, the hot-water target, the operating modes) are
compared between a device's previous poll and this one; each that differs becomes a
`setting_change` point (collector.points.setting_change_point). The previous poll comes
from the heat accounting state, which survives restarts, so a change made while the
collector was down is found at its first poll after.

Not a change: a field only one of the two polls has (a feature that failed to answer, a
device that gained a feature), a number that moved less than `TOLERANCE` (the device
rounds), and the room target while the active program switched (the time schedule moving
from normal to reduced is no change of a setting).
"""

from __future__ import annotations

from collections.abc import Mapping

from heatpump.schema import SETTING_FIELDS
from heatpump.store.base import FieldValue

TOLERANCE = 0.05  # the finest step the device offers is 0.1 (curve slope)


def as_text(value: FieldValue) -> str:
    """A setting's value as the `old`/`new` fields hold it: 0.6, 4, 45.5, heating."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return f"{float(value):g}"
    return str(value)


def setting_changes(before: Mapping[str, FieldValue], after: Mapping[str, FieldValue]
                    ) -> list[tuple[str, str, str]]:
    """(setting, old, new) for each setting that differs between two polls of one device,
    in SETTING_FIELDS order."""
    out = []
    for name in SETTING_FIELDS:
        if name not in before or name not in after:
            continue
        if (name == "heating_target_temp_c"
                and before.get("heating_program") != after.get("heating_program")):
            continue
        old, new = before[name], after[name]
        numbers = (isinstance(old, int | float) and isinstance(new, int | float)
                   and not isinstance(old, bool) and not isinstance(new, bool))
        if numbers and abs(float(old) - float(new)) < TOLERANCE:
            continue
        if not numbers and old == new:
            continue
        out.append((name, as_text(old), as_text(new)))
    return out
