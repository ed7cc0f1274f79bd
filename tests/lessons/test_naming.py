"""docs/naming.md holds: one name for one thing, and docstrings that point at the right lesson."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from gamlab.inspection.context import context_profile
from gamlab.inspection.probes import probe
from gamlab.model import MODELS, LanguageModel

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "gamlab").rglob("*.py"))
LESSONS = ROOT / "tools" / "lessons"
POINTER = re.compile(r"(taught|used) in notebooks/", re.IGNORECASE)


def pointers(source: str) -> list[tuple[str, list[str], str | None]]:
    """(paragraph, lesson stems it names, module it says the lessons go through) per docstring paragraph
    with a "Taught in notebooks/..." or "Used in notebooks/..." sentence."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
            continue
        for para in re.split(r"\n\s*\n", ast.get_docstring(node) or ""):
            if POINTER.search(para):
                para = " ".join(para.split())
                via = re.search(r"through gamlab\.([\w.]*\w)", para)
                found.append((para, re.findall(r"\b(\d\d_\w+?)\.ipynb", para), via and via.group(1)))
    return found


def dotted(path: Path) -> str:
    """gamlab/blocks/conv.py -> "blocks.conv": the module's name under gamlab."""
    return ".".join(path.relative_to(ROOT / "gamlab").with_suffix("").parts)


def mentions(lesson: str, module: str, source: str) -> bool:
    """The lesson imports the module (`module` as in gamlab.<module>), names one of its public
    names, or its registry name ("mamba")."""
    names = {n.name for n in ast.parse(source).body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    words = set(re.findall(r"\w+", lesson))
    stem = module.rsplit(".", 1)[-1]
    registry = stem in MODELS and f'"{stem}"' in lesson  # a model built by name, e.g. build_model("mamba")
    return f"gamlab.{module}" in lesson or registry or bool(words & {n for n in names if n[0] != "_"})


@pytest.mark.parametrize("path", MODULES, ids=[dotted(p) for p in MODULES])
def test_taught_and_used_lines_name_lessons_that_use_the_module(path):
    source = path.read_text(encoding="utf-8")
    for para, stems, via in pointers(source):
        assert stems, f"{path.name}: {para!r} names no notebooks/NN_name.ipynb"
        for stem in stems:
            lesson_path = LESSONS / f"{stem}.py"
            assert lesson_path.exists(), f"{path.name} points at {stem}.ipynb, which no lesson source builds"
            lesson = lesson_path.read_text(encoding="utf-8")
            if via:
                assert f"gamlab.{via}" in lesson, f"{path.name}: {stem} does not use gamlab.{via}"
            else:
                assert mentions(lesson, dotted(path), source), f"{path.name}: {stem} never uses gamlab.{dotted(path)}"


def test_pointers_are_found():
    """The parser above sees the lines it checks (else the test above checks nothing)."""
    stems = {s for p in MODULES for _, found, _ in pointers(p.read_text(encoding="utf-8")) for s in found}
    assert {"00_why_linear_time", "01_local_path", "02_global_path", "03_gating", "04_gam_block",
            "05_showdown", "06_inside_gam", "07_beyond_the_paper"} <= stems
    conv = pointers((ROOT / "gamlab" / "blocks" / "conv.py").read_text(encoding="utf-8"))
    assert [p[0] for p in conv] == ["Taught in notebooks/01_local_path.ipynb."]


def test_token_ids_are_idx_in_the_model_and_the_guide():
    assert "**Token ids are `idx`**" in (ROOT / "docs" / "naming.md").read_text(encoding="utf-8")
    assert list(inspect.signature(LanguageModel.forward).parameters)[1:3] == ["idx", "targets"]
    assert list(inspect.signature(LanguageModel.generate).parameters)[1] == "idx"
    assert list(inspect.signature(probe).parameters)[1] == "idx"
    assert list(inspect.signature(context_profile).parameters)[1] == "idx"


def dimension_names(source: str) -> set[str]:
    """Names bound to a size: from x.shape, x.size(..), x.numel() or config.<field>."""
    def is_size(v):
        if isinstance(v, ast.Attribute):
            return v.attr == "shape" or (isinstance(v.value, ast.Name) and v.value.id == "config")
        return isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr in ("size", "numel")

    bound = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                bound |= {t.id for t, v in zip(target.elts, node.value.elts) if isinstance(t, ast.Name) and is_size(v)}
            elif isinstance(target, ast.Tuple) and is_size(node.value):
                bound |= {t.id for t in target.elts if isinstance(t, ast.Name)}
            elif isinstance(target, ast.Name) and is_size(node.value):
                bound.add(target.id)
    return bound


def stored_names(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


@pytest.mark.parametrize("module", ["mamba.py", "optimized/mamba.py"])
def test_mamba_keeps_its_capitals_for_matrices(module):
    """A, B, C, D are Mamba's matrices and skip vector; no size in its scans takes a capital letter."""
    source = (ROOT / "gamlab" / "blocks" / module).read_text(encoding="utf-8")
    capitals = {n for n in dimension_names(source) if n.isupper()}
    assert not capitals, f"{module} names sizes {sorted(capitals)}; use lower case or spelled-out names"
    assert dimension_names("B, T, D = u.shape\nN = A.size(1)") == {"B", "T", "D", "N"}  # the check sees them


def test_fast_weight_state_is_not_s_and_heads_are_not_h():
    """S counts slots and h is LayerNorm1(x): the fast-weight state is `state`, heads are `nh`."""
    source = (ROOT / "gamlab" / "blocks" / "fastweight.py").read_text(encoding="utf-8")
    clash = stored_names(source) & {"S", "H", "D", "A", "L"}
    assert not clash, f"fastweight.py binds {sorted(clash)}; see docs/naming.md"
    for path in MODULES:
        for pattern in re.findall(r'rearrange\([^"]*"([^"]+)"', path.read_text(encoding="utf-8")):
            assert "h" not in pattern.replace("->", " ").replace("(", " ").replace(")", " ").split(), (
                f"{path.name}: einops pattern {pattern!r} calls heads h; use nh")


def test_fast_means_fast_mode_only():
    """docs/naming.md rule 7: the faster forms of layers are "optimized", never "fast"."""
    from gamlab.experiments.bench import build_block
    from gamlab.model import build_model, shapes_only

    assert '**"Fast" means fast mode only**' in (ROOT / "docs" / "naming.md").read_text(encoding="utf-8")
    assert not [p for p in MODULES if p.stem == "fast" or p.parent.name == "fast"]
    for fn in (build_model, shapes_only, build_block):
        assert "fast" not in inspect.signature(fn).parameters and "optimized" in inspect.signature(fn).parameters
    for path in MODULES:
        said = re.findall(r"blocks[./]fast\b|fast[ _]forms?\b|fast=", path.read_text(encoding="utf-8"))
        assert not said, f"{dotted(path)} says {said}; the faster forms are the optimized forms"
