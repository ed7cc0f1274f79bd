"""Lesson 4's exercises: each solution passes, each typical wrong answer gets its message, stubs never raise."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gamlab import ModelConfig, exercises

# ---------------------------------------------------------------- the solutions (as in the lesson)


def block_params(C, S, k):
    return (C * k + C) + S * C + (2 * C * C + 2 * C) + 4 * C + (8 * C * C + 5 * C)


def gam_lm_params(config):
    C = config.d_model
    shell = config.vocab_size * C + config.block_size * C + 2 * C  # tied embedding, positions, final norm
    return shell + config.n_layer * block_params(C, config.n_slots, config.conv_kernel)


def gam_block_forward(block, x):
    h = block.norm1(x)
    local = block.conv(h)
    M = block.memory.slots
    global_ = torch.softmax(h @ M.T, dim=-1) @ M
    g_l, g_g = block.gate(h).chunk(2, dim=-1)
    x = x + torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
    return x + block.ffn(block.norm2(x))


SOLUTIONS = {"4.1": 1024, "4.2": gam_lm_params, "4.3": gam_block_forward}


def test_solution_passes(key, solution):  # one case per entry of SOLUTIONS (conftest.py)
    fb = exercises.check(key, solution, strict=True)
    assert fb.status == "right" and fb.message == "right."


def test_the_solutions_give_the_lessons_numbers():
    assert gam_lm_params(ModelConfig.preset("paper")) == 22_599_680  # Table 1
    C, S, k = 512, 1024, 3
    assert block_params(C, S, k) - ((4 * C * C + 4 * C) + 4 * C + (8 * C * C + 5 * C)) == 1024


def test_other_right_answers_pass():
    assert exercises.check("4.1", np.int64(1024))
    assert exercises.check("4.1", 1024.0)
    assert exercises.check("4.2", lambda c: float(gam_lm_params(c)))
    assert exercises.check("4.2", lambda c: torch.tensor(gam_lm_params(c)))

    def with_raw_ops(block, x):  # section 1's way: F.conv1d on the conv's weight, the memory module
        C, k = x.size(-1), block.conv.weight.size(-1)
        h = block.norm1(x)
        local = F.conv1d(F.pad(h.transpose(1, 2), (k - 1, 0)), block.conv.weight, block.conv.bias,
                         groups=C).transpose(1, 2)
        global_, _ = block.memory(h)
        g_l, g_g = block.gate(h).chunk(2, dim=-1)
        x = x + g_l.sigmoid() * local + g_g.sigmoid() * global_
        return x + block.ffn(block.norm2(x))

    assert exercises.check("4.3", with_raw_ops)


# ---------------------------------------------------------------- typical wrong answers, and what they hear

WRONG_41 = [
    (-1024, "that is Transformer minus GAM"),
    (0, "do cancel attention's 4C², but not the small terms"),
    (-261_120, "the paper's S = 512"),
    (1536, "left out every bias"),
    (3072, "you left out attention's 4C biases"),
    (512, "you left out the convolution's bias"),
    (2, "the difference is C times that"),
    (2048, "that is the convolution alone"),
    (-5000, "the GAM block is no longer the smaller one"),
    (777, "777 is not it; put C = 512, S = 1024, k = 3"),
    (1024.5, "1024.5 is not one"),
    ("1024", "give one whole number"),
    (True, "give one whole number"),
]



def _slip(**changes):
    """gam_lm_params with one part changed: each keyword gives (shell, block) -> the wrong count."""
    def fn(config):
        C, S, k, L = config.d_model, config.n_slots, config.conv_kernel, config.n_layer
        V, T = config.vocab_size, config.block_size
        parts = dict(tok=V * C, head=0, head_bias=0, pos=T * C, norm_f=2 * C, conv=C * k + C, memory=S * C,
                     gate=2 * C * C + 2 * C, norms=4 * C, ffn=8 * C * C + 5 * C, blocks=L)
        parts.update({name: f(V, T, C, L, S, k) for name, f in changes.items()})
        block = sum(parts[p] for p in ("conv", "memory", "gate", "norms", "ffn"))
        return (parts["tok"] + parts["head"] + parts["head_bias"] + parts["pos"] + parts["norm_f"]
                + parts["blocks"] * block)
    return fn


WRONG_42 = [
    (_slip(head=lambda V, T, C, L, S, k: V * C), "the head is tied to the token embedding"),
    (_slip(head_bias=lambda V, T, C, L, S, k: V), "the output head has no bias"),
    (_slip(tok=lambda *a: 0), "you left out the token embedding"),
    (_slip(pos=lambda *a: 0), "you left out the learned position embedding"),
    (_slip(norm_f=lambda *a: 0), "you left out the final LayerNorm"),
    (_slip(blocks=lambda *a: 1), "you counted one block"),
    (_slip(memory=lambda *a: 0), "memory bank M (S·C) is missing"),
    (_slip(conv=lambda V, T, C, L, S, k: C * k), "convolution bias (C) is missing"),
    (_slip(conv=lambda V, T, C, L, S, k: C * C * k + C), "the convolution is depthwise"),
    (_slip(gate=lambda V, T, C, L, S, k: C * C + C), "the gate is Linear(C → 2C)"),
    (_slip(gate=lambda V, T, C, L, S, k: 2 * C * C), "its gate's bias (2C), or one of its two LayerNorms"),
    (_slip(norms=lambda V, T, C, L, S, k: 2 * C), "its gate's bias (2C), or one of its two LayerNorms"),
    (_slip(norms=lambda *a: 0), "two LayerNorms (a weight and a bias each: 4C) are missing"),
    (_slip(ffn=lambda V, T, C, L, S, k: 8 * C * C), "FFN biases (4C + C) are missing"),
    (_slip(ffn=lambda V, T, C, L, S, k: 4 * C * C + 4 * C), "the FFN has two Linears"),
    (_slip(conv=lambda V, T, C, L, S, k: C * k, gate=lambda V, T, C, L, S, k: 2 * C * C,
           ffn=lambda V, T, C, L, S, k: 8 * C * C), "each block's biases are missing"),
    (_slip(head=lambda V, T, C, L, S, k: V * C, pos=lambda *a: 0),
     "the head is tied to the token embedding (one matrix), so count V·C once; and you left out the learned "
     "position embedding"),
    (lambda config: 22_599_680, "with V = 50, block_size = 16, C = 8, L = 3, S = 5, k = 4 you count 22,599,680"),
    (lambda config: "22.6M", "return one whole number of parameters, not '22.6M'"),
    (lambda config: 12.5, "return one whole number of parameters, not 12.5"),
]



def _paths(block, h, softmax=lambda s: torch.softmax(s, dim=-1), gates=torch.sigmoid, swap=False, only=None):
    M = block.memory.slots
    g_l, g_g = block.gate(h).chunk(2, dim=-1)
    if swap:
        g_l, g_g = g_g, g_l
    local, global_ = gates(g_l) * block.conv(h), gates(g_g) * (softmax(h @ M.T) @ M)
    return {"local": local, "global": global_, None: local + global_}[only]


def _forward(update=_paths, *, finish=None, h_of=None, post_norm=False):
    """gam_block_forward with one line changed: update(block, h), finish(block, x1), h_of(block, x)."""
    def fn(block, x):
        if post_norm:  # LayerNorm after each residual add, the paths reading x
            x1 = block.norm1(x + _paths(block, x))
            return block.norm2(x1 + block.ffn(x1))
        h = h_of(block, x) if h_of else block.norm1(x)
        x1 = x + update(block, h)
        return finish(block, x1) if finish else x1 + block.ffn(block.norm2(x1))
    return fn


def no_residual(block, x):
    h = block.norm1(x)
    x1 = _paths(block, h)  # the update replaces x
    return x1 + block.ffn(block.norm2(x1))


def ffn_reads_h(block, x):
    h = block.norm1(x)
    return x + _paths(block, h) + block.ffn(block.norm2(h))


WRONG_43 = [
    (no_residual, "the paths' update is added to the residual stream"),
    (_forward(finish=lambda b, x1: b.ffn(b.norm2(x1))), "the FFN's output is added to x too"),
    (_forward(finish=lambda b, x1: x1), "you stopped after the two paths"),
    (_forward(finish=lambda b, x1: x1 + b.ffn(x1)), "the FFN reads LayerNorm2(x), not x"),
    (ffn_reads_h, "the FFN reads LayerNorm2 of the updated x"),
    (_forward(post_norm=True), "that is a post-norm block"),
    (_forward(h_of=lambda b, x: x), "both paths and the gate read h = LayerNorm1(x), not x"),
    (_forward(update=lambda b, h: _paths(b, h, swap=True)), "the gates are swapped"),
    (_forward(update=lambda b, h: _paths(b, h, gates=lambda g: g)), "pass the gate's logits through a sigmoid"),
    (_forward(update=lambda b, h: _paths(b, h, gates=lambda g: 1)), "that is Lesson 3's sum fusion"),
    (_forward(update=lambda b, h: _paths(b, h, softmax=lambda s: torch.softmax(s, dim=1))),
     "your softmax runs over the T tokens"),
    (_forward(update=lambda b, h: _paths(b, h, softmax=lambda s: s)), "without the softmax"),
    (_forward(update=lambda b, h: _paths(b, h, softmax=lambda s: torch.softmax(s / h.size(-1) ** 0.5, -1))),
     "does not divide the scores by √C"),
    (_forward(update=lambda b, h: _paths(b, h, only="local")), "the global path is missing"),
    (_forward(update=lambda b, h: _paths(b, h, only="global")), "the local path is missing"),
    (lambda block, x: block(x), "you called block(x), the library's forward"),
    (lambda block, x: block.norm1(x)[:, -1], "a (B, T, C) = (2, 7, 8) tensor, not shape (2, 8)"),
    (lambda block, x: 2 * gam_block_forward(block, x), "differs from the GAM block's from token 0 on"),
]
WRONG = {"4.1": WRONG_41, "4.2": WRONG_42, "4.3": WRONG_43}


def test_wrong_answers_are_explained(key, answer, says, wrong):  # one case per row of WRONG (conftest.py)
    assert says in wrong(key, answer)



def test_43_a_late_difference_is_placed():
    def off_at_the_end(block, x):
        y = gam_block_forward(block, x)
        y[:, 5:] += 1.0
        return y
    assert "from token 5 on (by 1 there" in exercises.check("4.3", off_at_the_end).message


# ---------------------------------------------------------------- stubs, errors, hints, side effects


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
@pytest.mark.parametrize("stub", [..., None, "function"])
def test_stubs_are_unanswered_and_never_raise(key, stub):
    if stub == "function":
        stub = (lambda config: None) if key == "4.2" else (lambda block, x: ...)
    if key == "4.1" and callable(stub):
        return
    fb = exercises.check(key, stub)
    assert fb.status == "unanswered" and f"exercises.hint('{key}')" in fb.message


@pytest.mark.parametrize("key", ["4.2", "4.3"])
def test_a_function_that_raises_is_wrong_and_named(key):
    def broken(*args):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
    fb = exercises.check(key, broken)
    assert fb.status == "wrong"
    assert "your answer raised RuntimeError: mat1 and mat2 shapes cannot be multiplied" in fb.message
    with pytest.raises(AssertionError, match=f"Exercise {key}"):
        exercises.check(key, broken, strict=True)


def test_checks_leave_the_notebooks_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    exercises.check("4.3", gam_block_forward)
    assert torch.equal(torch.rand(3), expected)
