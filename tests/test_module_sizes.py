"""One idea per module (issue 24): no module of gamlab/ is over 400 lines. A module that grows
past it holds two ideas; split it, keeping the names its callers import (re-exported)."""

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gamlab"
LIMIT = 400


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LIMIT, f"gamlab/{path.relative_to(PACKAGE)} has {lines} lines (at most {LIMIT}): split it by idea"


def test_the_package_has_modules_to_measure():
    assert len(list(PACKAGE.rglob("*.py"))) > 20
