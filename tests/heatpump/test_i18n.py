"""The owner's language: catalogs complete, texts switched per context, numbers per locale."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heatpump import i18n, i18n_catalog
from heatpump.settings import Settings, SettingsError


def test_every_text_of_the_code_exists_in_every_language() -> None:
    """The completeness rule of issue 19: a text in one language only fails here. Run
    `python -m heatpump.i18n_catalog` to add new texts to the catalogs, then translate them."""
    template = i18n_catalog.extract()
    for lang in i18n.LANGUAGES[1:]:
        gaps = i18n_catalog.gaps(lang, template)
        assert not gaps.missing, f"{lang}: not translated: {list(gaps.missing)[:20]}"
        assert not gaps.stale, f"{lang}: no longer in the code: {list(gaps.stale)[:20]}"


def _package(tmp_path: Path, source: str) -> Path:
    for package in i18n_catalog.PACKAGES:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
    (tmp_path / "bot" / "texts.py").write_text(source, encoding="utf-8")
    return tmp_path


def test_the_check_finds_an_untranslated_text_and_a_stale_one(tmp_path: Path) -> None:
    root = _package(tmp_path, 'from heatpump.i18n import _, ngettext\n'
                              'A = _("A text nobody translated")\n'
                              'B = ngettext("{n} start", "{n} starts", 2)\n')
    template = i18n_catalog.extract(root)
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id} == {
        "A text nobody translated", "{n} start"}
    gaps = i18n_catalog.gaps("de", template)
    assert "A text nobody translated" in gaps.missing
    assert "{n} start" in gaps.missing


@pytest.fixture
def catalog_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    po = tmp_path / "de" / "LC_MESSAGES" / "heatpump.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: de_DE\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Heat"\nmsgstr "Wärme"\n\n'
        'msgid "{n} start"\nmsgid_plural "{n} starts"\n'
        'msgstr[0] "{n} Start"\nmsgstr[1] "{n} Starts"\n\n'
        '#, fuzzy\nmsgid "Guessed"\nmsgstr "Geraten"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n._translations.cache_clear()
    yield tmp_path
    i18n._translations.cache_clear()


def test_texts_follow_the_language_of_the_context(catalog_dir: Path) -> None:
    assert i18n._("Heat") == "Heat"
    with i18n.using("de"):
        assert i18n.language() == "de"
        assert i18n._("Heat") == "Wärme"
        assert i18n.ngettext("{n} start", "{n} starts", 1).format(n=1) == "1 Start"
        assert i18n.ngettext("{n} start", "{n} starts", 3).format(n=3) == "3 Starts"
        assert i18n._("Guessed") == "Guessed"  # a fuzzy guess is never shown
        assert i18n._("Not in the catalog") == "Not in the catalog"
    assert i18n.language() == "en"
    assert i18n.ngettext("{n} start", "{n} starts", 1).format(n=1) == "1 start"


def test_numbers_dates_and_times_per_locale() -> None:
    t = datetime(2026, 11, 29, 22, 5, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    assert i18n.number(1234.56, 1) == "1,234.6"
    assert i18n.number(3.456, 2) == "3.46"
    assert i18n.percent(0.873) == "87%"
    with i18n.using("de"):
        assert i18n.number(1234.56, 1) == "1.234,6"
        assert i18n.number(3.456, 2) == "3,46"
        assert i18n.number(3.456, 2, grouping=False) == "3,46"
        assert i18n.percent(0.873) == "87\u00a0%"
        assert i18n.percent(0.8734, 1) == "87,3\u00a0%"
        assert i18n.date(date(2026, 11, 29), "short") == "29.11.26"
        assert i18n.date(date(2026, 11, 29)) == "29.11.2026"
        assert i18n.local_time(t, berlin) == "29.11.26, 23:05"
        assert i18n.local_time(t, berlin, with_date=False) == "23:05"
    assert i18n.local_time(t, berlin, with_date=False) == "23:05"


def test_the_language_setting() -> None:
    assert Settings.from_env({"HEATPUMP_LANG": "DE"}, env_file=None).lang == "de"
    assert Settings.from_env({}, env_file=None).lang == "en"
    with pytest.raises(SettingsError, match=r"HEATPUMP_LANG.*en, de"):
        Settings.from_env({"HEATPUMP_LANG": "fr"}, env_file=None)
    with pytest.raises(ValueError, match="en, de"):
        i18n.set_language("fr")


def test_the_process_language_reaches_worker_threads(catalog_dir: Path) -> None:
    """Charts render on a worker thread, which starts with an empty context."""
    import threading

    seen: list[str] = []
    i18n.set_language("de")
    try:
        worker = threading.Thread(target=lambda: seen.append(i18n._("Heat")))
        worker.start()
        worker.join()
    finally:
        i18n.set_language("en")
    assert seen == ["Wärme"]
