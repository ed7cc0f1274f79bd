"""Lessons 00-04 as text a student can learn from alone, and the figures they draw (no kernel)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from gamlab import plots

ROOT = Path(__file__).resolve().parents[1]
BUILD = ["00_why_linear_time", "01_local_path", "02_global_path", "03_gating", "04_gam_block"]


def source(name: str) -> str:
    return (ROOT / "tools" / "lessons" / f"{name}.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", BUILD)
def test_each_lesson_opens_with_objectives_and_ends_with_a_summary(name):
    text = source(name)
    for part in ("**You will:**", "**Time:** about", "**Paper:**", "**What we saw:**", "**Further reading:**", "**Next:**"):
        assert text.count(part) == 1, f"{name}: {part} missing or repeated"
    assert text.index("**You will:**") < text.index("# %% install") < text.index("**What we saw:**")
    assert text.index("**What we saw:**") < text.index("**Next:**")
    nxt = int(name[:2]) + 1
    assert re.search(rf"\*\*Next:\*\* \[Lesson {nxt}\]\(0{nxt}_\w+\.ipynb\)", text), f"{name}: Next must link lesson {nxt}"
    # "Think!" prompts carry an answer one click away
    assert text.count("**Think!**") == text.count("<details><summary>Answer</summary>") == text.count("</details>")


def test_think_prompts_sit_where_students_ask():
    assert "depthwise" in source("01_local_path").split("**Think!**")[1].split("</details>")[0]
    think_02 = source("02_global_path").split("**Think!**")[1:]
    assert "√C" in think_02[0] and "learned temperature" in think_02[0]
    assert "feed-forward" in think_02[1] and "Mᵀ" in think_02[1]
    assert "softmax over the two paths" in source("03_gating").split("**Think!**")[1]


def test_lesson_00_counts_what_attention_really_projects_and_maps_every_lesson():
    text = source("00_why_linear_time")
    assert "does the same projections" not in text
    assert "24C^2 + 4TC" in text and "20C^2 + 4SC + 2kC" in text and "T = S − C" in text
    assert "batch=1" in text and "flops(\"gam\", T)" not in text  # counted per sequence, not at a second batch size
    assert 'assert slope("gam", "peak_mb") < 1.3' in text  # outside fast mode the measurement is checked
    for lesson in ("05_showdown", "06_inside_gam", "07_beyond_the_paper"):
        assert f"]({lesson}.ipynb)" in text


def test_lessons_01_to_04_fixed_claims():
    one, three, four = source("01_local_path"), source("03_gating"), source("04_gam_block")
    assert "about twice as fast" not in one and "depends on the CPU" in one and "start=3" in one
    assert "882.57" in three and "900.84" in three and "Table 1" in three
    assert "per-token gates" not in three and "averaged over the channels" in three
    assert "replace(tok.UNKNOWN" not in four and "Back to the start" not in four
    assert "S < 2C + 1 − k" in four and "-> GELU -> C -> dropout" in four and "`N` blocks" not in four
    assert "the unknown id 0" in four and "plots.gam_block_diagram()" in four


@pytest.mark.parametrize("name", ["05_showdown", "07_beyond_the_paper"])
def test_lessons_05_and_07_open_and_end_like_the_others(name):
    text = source(name)
    for part in ("**You will:**", "**Time:** about", "**Paper:**", "**What we saw:**", "**Further reading:**", "**Next:**"):
        assert text.count(part) == 1, f"{name}: {part} missing or repeated"
    assert text.index("**You will:**") < text.index("# %% install") < text.index("## Exercises") < text.index("**What we saw:**")
    assert text.count("**Think!**") == text.count("<details><summary>Answer</summary>") == text.count("</details>") >= 1
    assert "# noqa" not in text


def test_lessons_05_and_07_fixed_claims():
    five, seven = source("05_showdown"), source("07_beyond_the_paper")
    assert "a matched parameter budget" not in five and "matched for Mamba only" in five and "7.7%" in five
    assert "in section 1's code cell" in five and "RETRAIN = True" in five.split("tc.replace(seed=1)")[1][:400]
    assert "](06_inside_gam.ipynb)" in five
    assert "`H` heads" not in seven and "`D = C / H`" not in seven and "`S_t" not in seven and "`nh` heads" in seven
    assert "phi(k_s)" not in seven and r"\phi(\kappa_s)" in seven and "$$" in seven
    assert "untrained" in seven.split("## 2.")[1].split("## 3.")[0]
    assert "zig-zag" in seven.split("## 5.")[1].split("## 6.")[0]
    assert "n_pairs=grid.pairs[0]" in seven.split("## 6.")[1]
    assert "[docs/recall.md](https://github.com/gamlab-dev/gamlab/blob/main/docs/recall.md)" in seven
    assert "print(format_table(" not in seven and "display(Markdown(format_table(results)))" in seven
    for paper in ("Zoology", "Secretly Fast", "Katharopoulos", "Gu & Dao"):
        assert paper in seven


def test_flop_crossover_is_where_lesson_00_says():
    from gamlab.bench import flops

    C, S = 128, 512
    assert flops("transformer-naive", 256, batch=1) / flops("gam", 256, batch=1) == pytest.approx(0.89, abs=0.01)
    assert flops("transformer-naive", S - C - 8, batch=1) < flops("gam", S - C - 8, batch=1)
    assert flops("transformer-naive", S - C + 8, batch=1) > flops("gam", S - C + 8, batch=1)


def test_gam_is_the_smaller_block_exactly_while_s_below_2c_plus_1_minus_k():
    import gamlab
    from gamlab import ModelConfig

    C, k = 32, 3
    count = lambda m: sum(p.numel() for p in m.parameters())
    att = count(gamlab.TransformerBlock(ModelConfig(d_model=C, n_head=4, n_slots=8)))
    for S, smaller in ((2 * C + 1 - k - 1, True), (2 * C + 1 - k, False)):
        gam = count(gamlab.GAMBlock(ModelConfig(d_model=C, n_slots=S, conv_kernel=k)))
        assert (gam < att) == smaller, (S, gam, att)


def _rows():
    return [{"name": n, "seq_len": T, "ms": T**p / 100, "peak_mb": T**p / 10, "oom": False}
            for n, p in (("gam", 1), ("transformer-naive", 2)) for T in (256, 512, 1024)]


def test_scaling_curves_colours_ticks_and_slope_guides():
    fig = plots.scaling_curves(_rows())
    assert [t.line.color for t in fig.data] == [plots.MODEL_COLORS["gam"]] * 2 + [plots.MODEL_COLORS["transformer-naive"]] * 2
    assert list(fig.layout.xaxis.tickvals) == [256, 512, 1024] and list(fig.layout.xaxis.ticktext) == ["256", "512", "1024"]
    assert fig.layout.yaxis.exponentformat == "power"
    assert all(np.log10(v) == pytest.approx(round(np.log10(v))) or str(v)[0] in "25" for v in fig.layout.yaxis.tickvals)
    assert "μ" not in "".join(fig.layout.yaxis.ticktext) and "10<sup>4</sup>" in "".join(fig.layout.yaxis2.ticktext)
    guides = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(guides) == 4 and {s.line.dash for s in guides} == {"dash", "dot"}  # slope 1 and 2 in both panels
    for s in guides:
        slope = np.log(s.y1 / s.y0) / np.log(s.x1 / s.x0)
        assert slope == pytest.approx(1 if s.line.dash == "dash" else 2)
    json.loads(fig.to_json())


def test_log_ticks_use_powers_of_ten_beyond_thousands():
    ticks = plots._log_ticks([1e-5, 3e-1])
    assert ticks["tickvals"] == pytest.approx([1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
    assert ticks["ticktext"] == ["1×10<sup>-5</sup>", "1×10<sup>-4</sup>", "0.001", "0.01", "0.1"]
    assert plots._log_ticks([3, 40])["tickvals"] == pytest.approx([2, 5, 10, 20, 50])


def test_receptive_field_starts_at_the_papers_kernel_with_depth_one_on_top():
    T = 10
    reach = {k: torch.stack([(torch.arange(T) >= T - (d * (k - 1) + 1)).float() for d in (1, 2)]) for k in (2, 3, 4)}
    fig = plots.receptive_field_explorer(reach, target=T - 1, start=3)
    assert fig.layout.sliders[0].active == 1 and "k=3" in fig.layout.title.text
    assert np.isnan(np.array(fig.data[0].z, dtype=float)[0, : T - 3]).all()  # k=3 drawn first: depth 1 sees 3
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.data[0].colorbar.title.text


def test_retrieval_draws_the_noisy_query_beside_the_result():
    w = torch.softmax(torch.randn(2, 3), -1)
    r, target, query = torch.randn(2, 4), torch.randn(4), torch.randn(4)
    fig = plots.retrieval_temperature(w, r, target, [0.1, 1.0], ["a", "b", "c"], query=query)
    assert [t.name for t in fig.data] == ["w", "pattern queried", "retrieved", "noisy query"]
    assert np.allclose(fig.data[3].y, query.numpy())
    assert np.allclose(fig.layout.sliders[0].steps[1].args[0]["y"][3], query.numpy())  # stays on every step


def test_gates_colour_bar_is_labelled():
    fig = plots.gates_per_token(torch.rand(3, 2), torch.rand(3, 2), list("abc"))
    assert fig.data[1].colorbar.title.text == "gate σ"


def test_gam_block_diagram_draws_both_paths_gates_residuals_and_ffn():
    fig = plots.gam_block_diagram()
    texts = " ".join(a.text for a in fig.layout.annotations)
    for part in ("LayerNorm₁", "causal depthwise conv", "softmax(h Mᵀ) M", "σ(g_l)", "σ(g_g)", "residual x",
                 "FFN: C → 4C, GELU, 4C → C, dropout", "LayerNorm₂"):
        assert part in texts, part
    assert sum(a.text in ("+", "×") for a in fig.layout.annotations) == 4  # two gate products, two residual sums
    json.loads(fig.to_json())
