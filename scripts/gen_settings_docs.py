"""Regenerate docs/settings.md and .env.example from heatpump/settings.py.

    python scripts/gen_settings_docs.py          # rewrite both files
    python scripts/gen_settings_docs.py --check  # exit 1 if either is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heatpump.settings_docs import render_env_example, render_markdown  # noqa: E402

TARGETS = {
    ROOT / "docs" / "settings.md": render_markdown,
    ROOT / ".env.example": render_env_example,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, render in TARGETS.items():
        text = render()
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date (run python scripts/gen_settings_docs.py): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    for p in stale:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
