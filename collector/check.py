"""One section of `heatpump doctor`'s report: a verdict, what was found, the next step."""

from __future__ import annotations

from dataclasses import dataclass, field

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass
class Check:
    """One section of the report: a verdict, what was found, and the next step if any."""

    title: str
    verdict: str = OK
    lines: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)

    def fail(self, line: str, fix: str) -> None:
        self.verdict = FAIL
        self.lines.append(line)
        self.fixes.append(fix)

    def warn(self, line: str, fix: str = "") -> None:
        if self.verdict == OK:
            self.verdict = WARN
        self.lines.append(line)
        if fix:
            self.fixes.append(fix)
