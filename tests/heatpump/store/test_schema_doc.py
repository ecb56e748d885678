"""docs/schema.md can never drift from heatpump/schema.py."""

from __future__ import annotations

from heatpump.schema import MEASUREMENTS
from heatpump.store import schema_doc


def test_generated_part_of_the_doc_matches_the_schema():
    doc = schema_doc.DOC.read_text(encoding="utf-8")
    assert schema_doc.current(doc) == schema_doc.render(), (
        "docs/schema.md is stale: run python -m heatpump.store.schema_doc --write")


def test_every_measurement_field_and_rollup_is_documented():
    doc = schema_doc.DOC.read_text(encoding="utf-8")
    for m in MEASUREMENTS.values():
        assert f"### `{m.name}`" in doc
        for f in m.fields:
            assert f"| `{f.name}` | {f.type} |" in doc, f"{m.name}.{f.name}"
        if m.rollup:
            assert f"`{m.name}_1h`" in doc and f"`{m.name}_1d`" in doc


def test_a_stale_doc_is_detected(tmp_path, monkeypatch):
    stale = tmp_path / "schema.md"
    doc = schema_doc.DOC.read_text(encoding="utf-8")
    stale.write_text(doc.replace("| `power_w` | float |", "| `power_w` | int |"))
    monkeypatch.setattr(schema_doc, "DOC", stale)
    assert schema_doc.main([]) == 1
    assert schema_doc.main(["--write"]) == 0
    assert schema_doc.main([]) == 0
    assert stale.read_text() == doc
