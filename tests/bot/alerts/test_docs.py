"""docs/alerts.md shows the real messages and every alert setting."""

from pathlib import Path

from bot.alerts import examples
from heatpump.settings import SPECS

DOC = (Path(__file__).resolve().parents[3] / "docs" / "alerts.md").read_text()


def test_every_example_message_is_in_the_docs():
    texts = [n.text for make in examples.ALL.values() for n in make()]
    assert len(texts) >= 9
    missing = [t for t in texts if t not in DOC]
    assert not missing, "regenerate with python -m bot.alerts.examples:\n" + "\n".join(missing)


def test_every_alert_setting_is_documented_with_its_default():
    specs = [s for s in SPECS if s.env.startswith(("ALERT_", "APPRISE_"))]
    assert len(specs) == 15
    for s in specs:
        row = next((line for line in DOC.splitlines() if line.startswith(f"| `{s.env}` |")),
                   None)
        assert row is not None, s.env
        assert f"| {s.default or '(empty)'} |" in row, (s.env, row)
