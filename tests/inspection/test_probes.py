"""gamlab.inspection.probes: per-token internals have the right shapes and leave the model's outputs alone."""

import pytest
import torch

import gamlab
from gamlab.inspection.probes import gam_blocks, probe, slot_table, slot_usage


def tiny(name="gam", **changes):
    torch.manual_seed(0)
    return gamlab.build_model(name, gamlab.ModelConfig.preset("tiny", **changes))


def test_probe_shapes_and_values():
    model = tiny(n_layer=3)
    L, T, C, S = 3, 17, model.config.d_model, model.config.n_slots
    idx = torch.randint(0, model.config.vocab_size, (T,))
    p = probe(model, idx)
    assert p.gate_local.shape == p.gate_global.shape == (L, T, C)
    assert p.weights.shape == (L, T, S)
    assert p.local_norm.shape == p.global_norm.shape == p.update_norm.shape == (L, T)
    assert p.logits.shape == (T, model.config.vocab_size) and torch.equal(p.ids, idx)
    assert 0 < p.gate_local.min() and p.gate_local.max() < 1  # sigmoid values
    torch.testing.assert_close(p.weights.sum(-1), torch.ones(L, T))
    # The update is the sum of the two gated paths, so its norm is at most the sum of theirs.
    assert (p.update_norm <= p.local_norm + p.global_norm + 1e-5).all()
    slots, w = p.top_slots(layer=1, token=4, k=3)
    assert w.shape == (3,) and torch.equal(w, p.weights[1, 4, slots]) and w[0] == p.weights[1, 4].max()


def test_probe_matches_a_hand_computation_of_layer_0():
    model = tiny()
    idx = torch.randint(0, 256, (1, 9))
    p = probe(model, idx)
    with torch.no_grad():
        x = model.tok_emb(idx) + model.pos_emb(torch.arange(9))
        block = model.blocks[0]
        h = block.norm1(x)
        g_l, g_g = block.gate(h).sigmoid().chunk(2, -1)
        w = (h @ block.memory.slots.T).softmax(-1)
        local = block.conv(h)
    torch.testing.assert_close(p.gate_global[0], g_g[0])
    torch.testing.assert_close(p.weights[0], w[0])
    torch.testing.assert_close(p.local_norm[0], (g_l * local)[0].norm(dim=-1))


def _layers(model):
    """What probing must leave as it was: each module's class and every tensor of the state."""
    return [type(m) for m in model.modules()], {k: v.clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return a[0] == b[0] and a[1].keys() == b[1].keys() and all(torch.equal(a[1][k], b[1][k]) for k in a[1])


def test_probing_changes_nothing_and_leaves_nothing_behind():
    model = tiny(dropout=0.1)
    layers = _layers(model)
    model.train()
    idx = torch.randint(0, 256, (1, 20))
    model.eval()
    with torch.no_grad():
        before, _ = model(idx)
    model.train()
    p = probe(model, idx)
    # Probed blocks compute w explicitly instead of through the fused kernel (gamlab/blocks/gam.py),
    # so the logits agree to float rounding, not bit for bit.
    torch.testing.assert_close(p.logits, before[0], rtol=1e-5, atol=1e-5)
    assert model.training  # mode restored
    assert _same(_layers(model), layers) and not any(hasattr(b, "capture") for b in gam_blocks(model))
    model.eval()
    with torch.no_grad():
        after, _ = model(idx)
    assert torch.equal(after, before)  # and nothing in the model changed: bitwise the same


def test_a_failed_probe_leaves_the_model_as_it_was():
    model = tiny()
    layers = _layers(model)
    model.train()
    with pytest.raises(gamlab.GamlabError):
        probe(model, torch.full((1, 5), 10_000))  # token id outside the vocabulary
    assert model.training and _same(_layers(model), layers)


def test_ablations_report_missing_paths_as_none():
    p = probe(tiny("gam-global"), torch.randint(0, 256, (8,)))
    assert p.gate_local is None and p.local_norm is None and p.weights.shape == (2, 8, 64)
    p = probe(tiny("gam-sum"), torch.randint(0, 256, (8,)))
    assert p.gate_global is None and p.global_norm.shape == (2, 8)


def test_probe_refuses_a_model_without_gam_blocks():
    with pytest.raises(gamlab.GamlabError, match="no GAM blocks"):
        probe(tiny("transformer"), torch.randint(0, 256, (8,)))


def test_slot_usage_finds_the_tokens_that_read_a_slot():
    model = tiny()
    batches = [torch.randint(0, 256, (4, 32)) for _ in range(3)]
    table = slot_table(model, batches, layer=1)
    # Recompute the mean weight of one token id for one slot by brute force.
    token, slot = int(batches[0][0, 0]), 7
    ws = [probe(model, b[i]).weights[1][b[i] == token, slot] for b in batches for i in range(len(b))]
    torch.testing.assert_close(table.mean[token, slot], torch.cat(ws).mean())
    ids, w = slot_usage(model, batches, layer=1, slot=slot, top=5)
    assert ids.shape == w.shape == (5,) and (w[:-1] >= w[1:]).all()
    assert w[0] == table.mean[table.count > 0, slot].max()
    assert not any(hasattr(b, "capture") for b in gam_blocks(model))
    with pytest.raises(gamlab.GamlabError, match="slot 64"):
        table.top_tokens(64)


def test_probe_works_on_gam_fw_and_gives_its_read_weights():
    """gam-fw is probed through the same block interface; its weights are over earlier tokens."""
    model = tiny("gam-fw", n_layer=2)
    L, T, nh = 2, 11, model.config.n_head
    idx = torch.randint(0, 256, (T,))
    p = probe(model, idx)
    assert p.weights is None and p.read_weights.shape == (L, nh, T, T)
    torch.testing.assert_close(p.read_weights.sum(-1), torch.ones(L, nh, T), atol=1e-5, rtol=0)
    assert torch.all(p.read_weights.triu(1) == 0)  # causal: no query reads a later token
    assert p.gate_local.shape == (L, T, model.config.d_model) and p.update_norm.shape == (L, T)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(p.logits, model(idx[None])[0][0], rtol=1e-5, atol=1e-5)
    with pytest.raises(gamlab.GamlabError, match="read earlier tokens, not memory slots"):
        slot_table(model, [idx], layer=0)  # the slot views still refuse it, in one sentence


def test_gate_means_and_what_a_probe_has():
    """The explorer's statistics live with the data: gate means on GAMInternals (over channels)."""
    idx = torch.randint(0, 256, (9,))
    p = probe(tiny(n_layer=2), idx)
    local, global_ = p.gate_means()
    torch.testing.assert_close(local, p.gate_local.mean(-1))
    assert global_.shape == (2, 9) and p.has_gates and p.has_slots
    s = probe(tiny("gam-sum"), idx)  # no gates: both means None, slots still there
    assert s.gate_means() == (None, None) and not s.has_gates and s.has_slots
    local_only = probe(tiny("gam-local"), idx)
    assert local_only.gate_means()[1] is None and local_only.has_gates and not local_only.has_slots
    assert not probe(tiny("gam-fw", n_layer=2), idx).has_slots  # it reads earlier tokens, not slots


def test_busiest_slots_are_the_ones_the_corpus_reads_most():
    model = tiny()
    batches = [torch.randint(0, 256, (2, 16)) for _ in range(2)]
    table = slot_table(model, batches, layer=0)
    by_hand = sum(probe(model, b[i]).weights[0].sum(0) for b in batches for i in range(len(b)))  # (S,) over every token
    assert table.busiest(3) == torch.topk(by_hand, 3).indices.tolist()
    assert len(table.busiest(10_000)) == model.config.n_slots  # no more than there are
