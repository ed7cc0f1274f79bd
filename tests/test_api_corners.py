"""The public API's corners (issue 15, kind 3): every model name accepts what its signature and
docstring allow, and refuses the rest with one GamlabError sentence, never another exception.

The three reported examples each have a test; the hypothesis sweeps below cover the kind:
every model in the registry x id dtypes x empty and edge shapes x sampling options x probe,
context and explorer entry points. A sweep knows which inputs are valid, so it asserts the
exact outcome: a correct result (shapes, finite values) for those, a GamlabError for the rest.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamlab import GamlabError, ModelConfig, build_model
from gamlab.experiments.runs import sample
from gamlab.inspection.context import context_profile, effective_length
from gamlab.inspection.probes import can_probe, probe, probeable_models, slot_table, slot_usage
from gamlab.inspection.views import VIEWS
from gamlab.inspection.widgets import explore
from gamlab.model import MODELS
from gamlab.training.tokenizer import BPETokenizer, CharTokenizer

V, BLOCK = 11, 16
CFG = ModelConfig.preset("tiny", d_model=16, n_layer=1, block_size=BLOCK, vocab_size=V, n_slots=8,
                         d_state=4, n_head=2)
TOK = CharTokenizer.train("abcdefghij")  # 10 characters + id 0 for unknown ones: vocab 11
SWEEP = settings(max_examples=60, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
_models: dict[str, torch.nn.Module] = {}


def tiny(name: str):
    """One eval-mode model per name, built once (the sweeps only read it)."""
    if name not in _models:
        torch.manual_seed(0)
        _models[name] = build_model(name, CFG).eval()
    return _models[name]


def refused(fn) -> str:
    """Run fn, which must raise GamlabError with a one-line sentence; return the message."""
    with pytest.raises(GamlabError) as info:
        fn()
    message = str(info.value)
    assert message.strip() and "\n" not in message, message
    return message


# ---------------------------------------------------------------- the three reported examples

def test_top_k_zero_or_none_means_no_filtering_and_a_large_one_clamps():
    model, idx = tiny("gam"), torch.tensor([[1, 2, 3]])
    runs = [model.generate(idx, 8, top_k=k, generator=torch.Generator().manual_seed(0)) for k in (None, 0, V, V + 50)]
    assert all(torch.equal(r, runs[0]) for r in runs) and runs[0].shape == (1, 11)
    assert refused(lambda: model.generate(idx, 8, top_k=-1)) == "top_k must be a whole number >= 0, got -1."
    refused(lambda: model.generate(idx, 8, top_k=2.5))


def test_an_empty_prompt_is_one_sentence_for_generate_and_sample():
    model = tiny("gam")
    empty = "the prompt is empty; give at least one token"
    assert refused(lambda: model.generate(torch.zeros((1, 0), dtype=torch.long), 5)).startswith(empty)
    assert refused(lambda: model.generate(torch.zeros((0, 0), dtype=torch.long), 5)).startswith(empty)
    assert refused(lambda: sample(model, TOK, prompt="")).startswith(empty)
    bpe = BPETokenizer.train("the cat sat on the mat\na dog ran home\n" * 5, vocab_size=V + 4)
    assert refused(lambda: sample(model, bpe, prompt="")).startswith(empty)

    class Dropping:  # a tokenizer that drops what it does not know, returning an Encoding-like object
        def encode(self, text):
            return type("Encoding", (), {"ids": [TOK.stoi[c] for c in text if c in TOK.stoi]})()

    assert "'???' gave none after tokenizing" in refused(lambda: sample(model, Dropping(), prompt="???"))
    # unknown characters are not nothing: the char tokenizer gives them id 0, so sampling goes on
    assert TOK.encode("???") == [0, 0, 0] and len(sample(model, TOK, prompt="???", n=4)) == 7


def test_explore_draws_the_views_each_model_has(monkeypatch):
    monkeypatch.delenv("GAMLAB_WIDGETS", raising=False)
    gated, slotted = ["gates", "channels"], ["top_slots", "retrieval", "slot_tokens"]
    e = explore(tiny("gam-sum"), TOK, ["Once upon a time"], mode="static")  # was: make_subplots ValueError
    assert {"contributions", *slotted} <= set(e.figures) and not set(gated) & set(e.figures)
    assert set(e.figures) == views_needing({None, "slots"})
    e = explore(tiny("gam-local"), TOK, ["Once upon a time"], mode="static")  # was: a GamlabError
    assert {"contributions", *gated} <= set(e.figures) and not set(slotted) & set(e.figures)
    assert set(e.figures) == views_needing({None, "gates"})
    figures = set(explore(tiny("gam"), TOK, ["abc"], mode="static").figures)
    assert {"contributions", *gated, *slotted} <= figures and figures == views_needing({None, "gates", "slots"})


def views_needing(met: set) -> set[str]:
    """The explorer's views (gamlab.inspection.views.VIEWS) whose needs are among `met`."""
    return {view.name for view in VIEWS if view.needs in met}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_name_is_explored_or_refused_by_capability(name, monkeypatch):
    monkeypatch.delenv("GAMLAB_WIDGETS", raising=False)
    model = tiny(name)
    if not can_probe(model):
        message = refused(lambda: explore(model, TOK, ["abc"], mode="static"))
        assert f"model {name!r} has no GAM blocks the explorer can read" in message
        assert message.endswith(f"explore one of {', '.join(probeable_models())}.")
        return
    internals = probe(model, torch.tensor(TOK.encode("abcab")))
    gates = internals.gate_local is not None or internals.gate_global is not None
    memory = internals.weights is not None
    want = {"contributions"} | ({"gates", "channels"} if gates else set()) | \
        ({"top_slots", "retrieval", "slot_tokens"} if memory else set())
    figures = set(explore(model, TOK, ["Once upon a time"], mode="static").figures)
    assert want <= figures
    assert figures == views_needing({None} | ({"gates"} if gates else set()) | ({"slots"} if memory else set()))


@pytest.mark.parametrize("name", ["gam-sum", "gam-local"])
def test_the_widget_explorer_of_an_ablation_has_its_views_and_controls(name, monkeypatch):
    monkeypatch.delenv("GAMLAB_WIDGETS", raising=False)
    e = explore(tiny(name), TOK, ["Once upon a time", "abc"], mode="widget")
    static = explore(tiny(name), TOK, ["Once upon a time"], mode="static")
    assert set(e.figures) == set(static.figures)
    e.layer.value, e.token.value, e.text.value = 0, 2, "bad cab"  # callbacks redraw only the views that exist
    assert e.figures["contributions"].data[0].y.shape == (7,)
    if "slot_tokens" in e.figures:
        e.slot.value = 3
        assert "slot 3" in e.figures["slot_tokens"].layout.title.text
    assert (e.slot in e.box.children[3].children) == ("slot_tokens" in e.figures)  # no slot picker without slots


def test_probeable_models_are_found_by_capability():
    names = probeable_models()
    assert "gam" in names and "transformer" not in names and "mamba" not in names and "gam-fw" not in names
    assert all(name in MODELS for name in names)


# ---------------------------------------------------------------- decided semantics, each pinned

def test_temperature_zero_is_greedy_and_bad_temperatures_are_refused():
    model, idx = tiny("gam"), torch.tensor([[4, 5]])
    out = model.generate(idx, 3, temperature=0)
    x = idx
    for _ in range(3):
        x = torch.cat([x, model(x)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, x)
    assert torch.equal(model.generate(idx, 3, top_k=1), out)  # top_k 1 is greedy too
    tiny_t = model.generate(idx, 3, temperature=1e-300, generator=torch.Generator().manual_seed(1))
    assert torch.equal(tiny_t, out)  # no inf - inf = NaN at a vanishing temperature
    for bad in (-0.5, float("nan"), float("inf"), "hot", None):
        assert refused(lambda: model.generate(idx, 3, temperature=bad)).startswith("temperature must be a finite number >= 0")


def test_max_new_tokens_zero_returns_the_prompt_and_a_long_prompt_still_generates():
    model = tiny("gam")
    idx = torch.tensor([[1, 2, 3]], dtype=torch.int16)
    out = model.generate(idx, 0)
    assert torch.equal(out, idx.long()) and out.dtype == torch.int64
    assert model.generate(idx, np.int64(2)).shape == (1, 5)  # numpy ints are whole numbers too
    assert refused(lambda: model.generate(idx, -1)) == "max_new_tokens must be a whole number >= 0, got -1."
    refused(lambda: model.generate(idx, 2.0))
    long = torch.randint(0, V, (2, BLOCK + 5))
    out = model.generate(long, 4)
    assert out.shape == (2, BLOCK + 9) and torch.equal(out[:, : BLOCK + 5], long)


def test_forward_takes_every_integer_dtype_and_refuses_the_rest():
    model = tiny("gam")
    idx = torch.randint(0, V, (2, 5))
    ref = model(idx)[0]
    for dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        torch.testing.assert_close(model(idx.to(dtype))[0], ref)
    assert refused(lambda: model(idx.float())) == "token ids must be integers, got torch.float32; convert them with .long()."
    refused(lambda: model(idx.bool()))
    assert "add a batch dimension with idx[None]" in refused(lambda: model(idx[0]))
    refused(lambda: model(idx[0, 0]))
    refused(lambda: model([[1, 2]]))


def test_targets_are_checked_and_ignored_positions_are_not_scored():
    model = tiny("gam")
    idx = torch.randint(0, V, (2, 5))
    y = idx.roll(-1, 1)
    _, full = model(idx, y)
    y_ignored = y.clone()
    y_ignored[:, :2] = -100
    _, part = model(idx, y_ignored)
    assert torch.isfinite(full) and torch.isfinite(part) and not torch.equal(full, part)
    assert torch.isnan(model(idx, torch.full_like(y, -100))[1])  # nothing scored: NaN, as F.cross_entropy
    assert refused(lambda: model(idx, y[:, :4])).startswith("targets must be integer token ids of the same shape")
    refused(lambda: model(idx, y.float()))
    assert refused(lambda: model(idx, y.masked_fill(y == y[0, 0], V))).startswith(f"target {V} is outside the vocabulary")
    refused(lambda: model(idx, y.masked_fill(y == y[0, 0], -1)))
    assert model(idx, y.to(torch.int32))[1] == full


def test_an_empty_batch_runs():
    model = tiny("gam")
    logits, loss = model(torch.zeros((0, 4), dtype=torch.long), torch.zeros((0, 4), dtype=torch.long))
    assert logits.shape == (0, 4, V) and torch.isnan(loss)
    assert model.generate(torch.zeros((0, 4), dtype=torch.long), 3).shape == (0, 7)


def test_explorer_arguments_are_checked(monkeypatch):
    monkeypatch.delenv("GAMLAB_WIDGETS", raising=False)
    model = tiny("gam")
    assert refused(lambda: explore(model, TOK, [""], mode="static")).startswith("the text is empty")
    assert refused(lambda: explore(model, TOK, [], mode="static")).startswith("give at least one example text")
    assert refused(lambda: explore(model, TOK, ["abc"], mode="static", k=0)) == "k must be a whole number >= 1, got 0."
    refused(lambda: explore(model, TOK, ["abc"], mode="static", top=-2))
    refused(lambda: explore(model, TOK, ["abc"], mode="sometimes"))
    assert set(explore(model, TOK, "a single text", mode="static").figures)  # a str is one text, not a list of letters


# ---------------------------------------------------------------- the sweeps

DTYPES = [torch.int64, torch.int32, torch.int16, torch.uint8, torch.float32, torch.bool]
SHAPES = ["0-d", "1-d", (1, 0), (0, 3), (2, 1), (2, BLOCK), (1, BLOCK + 1)]
IDS = [-1, 0, V - 1, V]


def make_ids(shape, dtype, value, data) -> torch.Tensor:
    shape = {"0-d": (), "1-d": (4,)}.get(shape, shape)
    idx = torch.randint(0, V, shape) if shape else torch.tensor(3)
    if idx.numel():
        idx.view(-1)[data.draw(st.integers(0, idx.numel() - 1))] = value
    if dtype == torch.uint8:
        idx = idx.clamp(min=0)  # -1 does not exist in uint8
    return idx.to(dtype)


def valid_ids(idx: torch.Tensor, T_max: int = BLOCK) -> bool:
    ok_dtype = not (idx.dtype.is_floating_point or idx.dtype == torch.bool)
    return (idx.dim() == 2 and ok_dtype and 1 <= idx.size(1) <= T_max
            and (not idx.numel() or 0 <= int(idx.long().min()) and int(idx.long().max()) < V))


@SWEEP
@given(name=st.sampled_from(list(MODELS)), dtype=st.sampled_from(DTYPES), shape=st.sampled_from(SHAPES),
       value=st.sampled_from(IDS), targets=st.sampled_from(["none", "shifted", "ignored", "all-ignored", "wrong-shape",
                                                            "out-of-vocab"]), data=st.data())
def test_sweep_forward(name, dtype, shape, value, targets, data):
    model = tiny(name)
    idx = make_ids(shape, dtype, value, data)
    y = None
    if targets != "none" and idx.dim() == 2:
        y = torch.randint(0, V, idx.shape)
        if targets in ("ignored", "all-ignored") and y.numel():
            y[..., : (1 if targets == "ignored" else None)] = -100
        y = {"wrong-shape": y[:, :-1] if y.size(1) else y[:, :0].T, "out-of-vocab": y + V}.get(targets, y)
    ok = valid_ids(idx) and (y is None or (y.shape == idx.shape and (targets != "out-of-vocab" or not y.numel())))
    if not ok:
        refused(lambda: model(idx, y))
        return
    logits, loss = model(idx, y)
    assert logits.shape == (*idx.shape, V) and torch.isfinite(logits).all()
    scored = y is not None and bool((y != -100).any())
    assert loss is None if y is None else (torch.isfinite(loss) if scored else torch.isnan(loss))


@SWEEP
@given(name=st.sampled_from(list(MODELS)), dtype=st.sampled_from(DTYPES), shape=st.sampled_from(SHAPES),
       value=st.sampled_from([0, V - 1, V]), n=st.sampled_from([0, 1, 3, -1]),
       temperature=st.sampled_from([0, 1e-30, 0.7, 1, 50.0, -1.0, math.nan, math.inf]),
       top_k=st.sampled_from([None, 0, 1, V - 1, V, V + 5, -1]), data=st.data())
def test_sweep_generate(name, dtype, shape, value, n, temperature, top_k, data):
    model = tiny(name)
    idx = make_ids(shape, dtype, value, data)
    ok_options = n >= 0 and (top_k is None or top_k >= 0) and 0 <= temperature < math.inf
    if not (ok_options and valid_ids(idx, T_max=math.inf)):  # a prompt longer than block_size is cropped, not refused
        refused(lambda: model.generate(idx, n, temperature=temperature, top_k=top_k))
        return
    out = model.generate(idx, n, temperature=temperature, top_k=top_k, generator=torch.Generator().manual_seed(0))
    assert out.shape == (idx.size(0), idx.size(1) + n) and out.dtype == torch.int64
    assert torch.equal(out[:, : idx.size(1)], idx.long())
    assert not out.numel() or (0 <= int(out.min()) and int(out.max()) < V)


@SWEEP
@given(name=st.sampled_from(list(MODELS)), T=st.sampled_from([0, 1, 5, BLOCK, BLOCK + 1]),
       batch=st.sampled_from([None, 1, 2]), t=st.sampled_from([None, -1, 0, 3, BLOCK]),
       layer=st.sampled_from([-1, 0, 1]), slot=st.sampled_from([-1, 0, 7, 8]),
       mass=st.sampled_from([0.0, 0.5, 1.0, 1.5, math.nan]))
def test_sweep_probes_and_context(name, T, batch, t, layer, slot, mass):
    model = tiny(name)
    ids = torch.randint(0, V, (T,) if batch is None else (batch, T))
    one = batch in (None, 1)
    # probe: one sequence of a model with GAM blocks (gam-fw's too: the same block interface)
    if can_probe(model, slots=False) and one and 1 <= T <= BLOCK:
        p = probe(model, ids)
        assert p.logits.shape == (T, V) and p.update_norm.shape == (1, T) and torch.isfinite(p.logits).all()
        if p.weights is not None:
            top, w = p.top_slots(0, T - 1, k=slot + 2)
            assert len(top) == len(w) == min(max(slot + 2, 0), CFG.n_slots)
    else:
        refused(lambda: probe(model, ids))
    # slot tables: a probeable model with a memory, an existing layer and slot
    memory = can_probe(model) and any(getattr(b, "memory", None) is not None for b in model.blocks)
    if memory and layer == 0 and 0 <= slot < CFG.n_slots and 1 <= T <= BLOCK:
        got, w = slot_usage(model, [ids], layer, slot, top=3)
        assert len(got) == len(w) <= 3 and torch.isfinite(w).all()
    else:
        refused(lambda: slot_table(model, [ids], layer).top_tokens(slot))
    # effective context: (B, T) ids and a position inside them
    if batch is not None and 1 <= T <= BLOCK and (t is None or 0 <= t < T):
        profile = context_profile(model, ids, t, n_probes=1)
        assert profile.shape == ((T if t is None else t + 1),) and torch.isfinite(profile).all()
        if 0 < mass <= 1:
            assert 1 <= effective_length(profile, mass) <= len(profile)
        else:
            refused(lambda: effective_length(profile, mass))
    else:
        refused(lambda: context_profile(model, ids, t, n_probes=1))


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(list(MODELS)), mode=st.sampled_from(["static", "widget", "auto", "bogus"]),
       texts=st.sampled_from([["Once upon a time"], [""], [], ["j" * (BLOCK + 9), "a"], "just one text", ["???"]]),
       k=st.sampled_from([1, 5, 100, 0]), top=st.sampled_from([1, 10, -1]))
def test_sweep_explorer(name, mode, texts, k, top, monkeypatch):
    monkeypatch.delenv("GAMLAB_WIDGETS", raising=False)
    model = tiny(name)
    ok = (mode != "bogus" and can_probe(model) and texts not in ([], [""]) and k >= 1 and top >= 1)
    if not ok:
        refused(lambda: explore(model, TOK, texts, mode=mode, k=k, top=top))
        return
    e = explore(model, TOK, texts, mode=mode, k=k, top=top)
    assert "contributions" in e.figures and all(f.data for f in e.figures.values())
