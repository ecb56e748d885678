"""The bot's layout: every store access is in bot/store_reads.py, so replies, charts,
analytics and the alert rules stay pure functions over the data it returns."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from heatpump.store.base import Store

BOT = Path(__file__).resolve().parents[2] / "bot"
STORE_METHODS = {name for name, _ in inspect.getmembers(Store, inspect.isfunction)
                 if not name.startswith("_")}


def _is_store(node: ast.expr) -> bool:
    """`store`, `self.store`, `ctx.store`, ...: what the bot calls its Store."""
    return ((isinstance(node, ast.Name) and node.id == "store")
            or (isinstance(node, ast.Attribute) and node.attr == "store"))


def store_calls(path: Path) -> list[str]:
    """`line: receiver.method` of every call of a Store method in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in STORE_METHODS and _is_store(node.func.value)):
            found.append(f"{path.relative_to(BOT.parent)}:{node.lineno}: "
                         f"{ast.unparse(node.func)}")
    return found


def test_the_scan_finds_store_calls():
    reads = store_calls(BOT / "store_reads.py")
    assert {"latest", "series", "sums", "points", "tag_values", "info"} <= {
        line.rsplit(".", 1)[1] for line in reads}


def test_only_store_reads_calls_the_store():
    outside = [line for path in sorted(BOT.rglob("*.py")) if path.name != "store_reads.py"
               for line in store_calls(path)]
    assert outside == [], "read through bot/store_reads.py:\n" + "\n".join(outside)
