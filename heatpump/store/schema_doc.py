"""Renders the measurement tables of docs/schema.md from heatpump/schema.py.

    python -m heatpump.store.schema_doc          # check: exit 1 when the doc is stale
    python -m heatpump.store.schema_doc --write  # rewrite the generated part

Only the part between the BEGIN/END markers is generated; the prose around it is written by
hand. tests/heatpump/store/test_schema_doc.py fails when the two drift apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from heatpump.schema import MEASUREMENTS, Measurement, rollup_name
from heatpump.store.rollup import rollup_fields

BEGIN = ("<!-- BEGIN GENERATED from heatpump/schema.py: "
         "python -m heatpump.store.schema_doc --write -->")
END = "<!-- END GENERATED -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _measurement(m: Measurement) -> list[str]:
    out = [f"### `{m.name}`", "", _cell(m.doc), "",
           "Tags: " + ", ".join(f"`{t}`" for t in m.tags) + ".", "",
           "| field | type | unit | rollup | meaning |", "| --- | --- | --- | --- | --- |"]
    for f in m.fields:
        out.append(f"| `{f.name}` | {f.type} | {f.unit or '—'} | "
                   f"{'yes' if f.name in rollup_fields(m) else ''} | {_cell(f.doc)} |")
    if m.rollup:
        names = ", ".join(f"`{f}_sum`, `{f}_count`" for f in rollup_fields(m))
        out += ["", f"Rollups: `{rollup_name(m.name, '1h')}` (tags {', '.join(m.tags)}) and "
                f"`{rollup_name(m.name, '1d')}` (tags {', '.join(m.tags)}, tz) with {names}."]
    return [*out, ""]


def render() -> str:
    """The generated part of docs/schema.md, markers included."""
    lines = [BEGIN, ""]
    for m in MEASUREMENTS.values():
        lines += _measurement(m)
    return "\n".join([*lines, END])


def current(doc: str) -> str:
    """The generated part as it stands in the doc ('' when the markers are missing)."""
    if BEGIN not in doc or END not in doc:
        return ""
    return doc[doc.index(BEGIN):doc.index(END) + len(END)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite docs/schema.md")
    args = ap.parse_args(argv)
    doc = DOC.read_text(encoding="utf-8")
    old = current(doc)
    if not old:
        print(f"{DOC}: the BEGIN/END GENERATED markers are missing", file=sys.stderr)
        return 1
    new = render()
    if old == new:
        return 0
    if args.write:
        DOC.write_text(doc.replace(old, new), encoding="utf-8")
        print(f"rewrote the generated part of {DOC}")
        return 0
    print(f"{DOC} is stale: run python -m heatpump.store.schema_doc --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
