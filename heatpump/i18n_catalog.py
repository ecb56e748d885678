"""Keeps the translation catalogs in step with the code's texts.

`python -m heatpump.i18n_catalog` extracts every `_()` / `ngettext()` text from the product's
packages (Babel's extractor), adds new texts to each catalog with an empty translation, drops
texts the code no longer has, and keeps every translation that still applies. A translator
then fills the empty `msgstr` lines. `--check` changes nothing and exits 1 listing what is
missing or stale: the completeness test (tests/heatpump/test_i18n.py) runs the same check, so
a text that exists in one language only fails the tests.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from heatpump.i18n import DOMAIN, LANGUAGES, LOCALES, catalog_path

#: The packages whose texts a person reads.
PACKAGES = ("heatpump", "collector", "bot", "simhouse")
ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "ngettext": (1, 2)}
_HEADER_DATE = datetime(2026, 11, 29, tzinfo=UTC)
_HEADER_COMMENT = ("# Translations of heatpump-monitor's texts ({lang}).\n"
                   "# Update with `python -m heatpump.i18n_catalog`, then fill each empty msgstr.")


def extract(root: Path = ROOT) -> Catalog:
    """Every translatable text of the packages under `root`, with where it occurs."""
    cat = Catalog(domain=DOMAIN, project="heatpump-monitor", charset="utf-8")
    for package in PACKAGES:
        for filename, lineno, message, comments, context in extract_from_dir(
                root / package, method_map=[("**.py", "python")], keywords=KEYWORDS,
                comment_tags=("i18n:",), strip_comment_tags=True):
            cat.add(message, locations=[(f"{package}/{filename}", lineno)],
                    auto_comments=comments, context=context)
    return cat


@dataclass(frozen=True)
class Gaps:
    """What a catalog lacks against the code: untranslated texts and texts the code lost."""

    lang: str
    missing: tuple[str, ...]
    stale: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.missing or self.stale)


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


def _read(lang: str) -> Catalog:
    path = catalog_path(lang)
    if not path.exists():
        return Catalog(locale=LOCALES[lang], domain=DOMAIN)
    with path.open("rb") as f:
        return read_po(f, locale=LOCALES[lang], domain=DOMAIN)


def gaps(lang: str, template: Catalog | None = None) -> Gaps:
    """Texts of the code without a (non-fuzzy) translation in `lang`, and stale entries."""
    template = template or extract()
    cat = _read(lang)
    wanted = {_key(m.id) for m in template if m.id}
    have = {_key(m.id): m for m in cat if m.id}
    missing = sorted(k for k in wanted
                     if k not in have or have[k].fuzzy or not _complete(have[k].string))
    stale = sorted(k for k in have if k not in wanted)
    return Gaps(lang, tuple(missing), tuple(stale))


def _complete(string: str | tuple[str, ...]) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


def update(lang: str, template: Catalog | None = None) -> Path:
    """Bring `lang`'s catalog in step with the code (see the module doc); returns its path."""
    template = template or extract()
    cat = _read(lang)
    cat.update(template, no_fuzzy_matching=True)
    cat.obsolete.clear()
    # A fixed header: regenerating must not change lines nobody edited (merges stay clean).
    cat.project, cat.version, cat.fuzzy = "heatpump-monitor", "", False
    cat.creation_date = cat.revision_date = _HEADER_DATE
    cat.header_comment = _HEADER_COMMENT.format(lang=lang)
    cat.last_translator = cat.language_team = "heatpump-monitor"
    cat.msgid_bugs_address = ""
    path = catalog_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    write_po(buf, cat, width=100, sort_output=True, omit_header=False, include_lineno=False)
    path.write_bytes(buf.getvalue())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m heatpump.i18n_catalog",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a catalog lacks a text or keeps a "
                             "stale one")
    args = parser.parse_args(argv)
    template = extract()
    status = 0
    for lang in LANGUAGES[1:]:
        if args.check:
            g = gaps(lang, template)
            for text in g.missing:
                print(f"{lang}: not translated: {text!r}")
            for text in g.stale:
                print(f"{lang}: no longer in the code: {text!r}")
            status |= int(bool(g))
        else:
            print(f"updated {update(lang, template).relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
