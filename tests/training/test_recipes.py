"""The paper author's recipe beside gamlab's: each difference unit by unit, then `gamlab reproduce
--recipe careful,paper` end to end, and Table 3's real (ungated) ablations."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before `datasets` is imported: hub calls fail at once

import json
import math

import pytest
import torch

from gamlab.cli import main
from gamlab.config import ModelConfig
from gamlab.errors import GamlabError
from gamlab.experiments.paper import EXPERIMENTS, TABLE3
from gamlab.experiments.reproduce import load_splits
from gamlab.model import build_model, shapes_only
from gamlab.training.corpus import make_corpus
from gamlab.training.recipes import RECIPES, differences, get_recipe
from gamlab.training.tokenizer import PaperBPETokenizer, tokenizer_from_dict
from gamlab.training.train import TrainConfig, Trainer, evaluate

CAREFUL, PAPER = RECIPES["careful"], RECIPES["paper"]
TINY = ModelConfig.preset("tiny", vocab_size=50, d_model=32, n_layer=1, block_size=16, n_slots=8, d_state=4)


def trainer(model_name: str, recipe, steps: int = 20, out=None, **changes) -> Trainer:
    tc = TrainConfig.preset("tiny", **{**recipe.train_changes(), "steps": steps, "warmup_steps": 2,
                                       "device": "cpu", **changes})
    batch = lambda split, step: (torch.zeros(16, 16, dtype=torch.long),) * 2  # noqa: E731
    return Trainer(build_model(model_name, TINY), tc, batch, out=out, progress=False)


# ---------------------------------------------------------------- each difference

def test_every_difference_has_a_one_line_reason_on_both_sides():
    rows = differences()
    assert [r[0] for r in rows] == ["decay", "warmup_from_zero", "min_lr_ratio", "tokenizer", "tokenizer_splits",
                                    "tinystories_rows", "init", "keep_partial", "val_average"]
    for name, careful, paper, why_careful, why_paper in rows:
        assert careful != paper, name
        assert why_careful and why_paper and "\n" not in why_careful + why_paper, name
        assert "benchmark.py" in why_paper, name  # each paper choice cites the author's script


def test_unknown_recipe_is_refused_in_one_sentence():
    with pytest.raises(GamlabError, match=r"^Unknown recipe 'nanogpt'; choose one of careful, paper\.$"):
        get_recipe("nanogpt")
    with pytest.raises(GamlabError, match="Unknown recipe 'bogus'"):
        TrainConfig(recipe="bogus")


def test_weight_decay_groups_careful_matrices_paper_everything():
    for model_name in ("gam", "mamba"):
        t = trainer(model_name, CAREFUL)
        decayed, kept = t.optimizer.param_groups
        names = {id(p): n for n, p in t.model.named_parameters()}
        assert decayed["weight_decay"] == 0.1 and kept["weight_decay"] == 0.0
        assert all(p.dim() >= 2 and not names[id(p)].endswith("A_log") for p in decayed["params"])
        assert any(p.dim() == 1 for p in kept["params"])  # biases and LayerNorm gains are not decayed
        if model_name == "mamba":
            assert any(names[id(p)].endswith("A_log") for p in kept["params"])
        t = trainer(model_name, PAPER)
        decayed, kept = t.optimizer.param_groups
        assert decayed["weight_decay"] == 0.1 and kept["params"] == []
        assert len(decayed["params"]) == len(list(t.model.parameters()))  # every parameter, tied one once
    with pytest.raises(GamlabError, match="decay='some'"):
        from gamlab.training.train import make_optimizer
        make_optimizer(build_model("gam", TINY), decay="some")


def test_schedule_at_the_first_and_the_last_step():
    lr, warmup, total = 2e-3, 2, 20
    for recipe, first, last in ((CAREFUL, lr / warmup, lr * 0.1), (PAPER, 0.0, 0.0)):
        t = trainer("gam", recipe, steps=total)
        assert t.scheduler.get_last_lr()[0] == pytest.approx(first, abs=1e-12), recipe.name  # the first update's lr
        for _ in range(total):
            t.optimizer.step()
            t.scheduler.step()
        assert t.scheduler.get_last_lr()[0] == pytest.approx(last, abs=1e-12), recipe.name
    assert PAPER.train_changes() == {"recipe": "paper", "min_lr_ratio": 0.0}


def test_paper_tokenizer_learns_from_validation_and_has_the_four_specials():
    train = make_corpus(30, seed=2)
    val = "The quokka smiled. A quokka waved. " * 3
    assert "quokka" not in train
    splits = {"train": train, "validation": val}
    paper = PAPER.tokenizer_for(splits, 400)
    careful = CAREFUL.tokenizer_for(splits, 400)
    assert isinstance(paper, PaperBPETokenizer) and paper.kind == "bpe-paper"
    assert [paper.tk.id_to_token(i) for i in range(4)] == ["[UNK]", "[PAD]", "[SOS]", "[EOS]"]
    # The validation leak: a word seen only in validation is one token of the paper's vocabulary.
    assert "quokka" in paper.tk.get_vocab() and len(paper.encode("quokka")) == 1
    assert not {"quokka", " quokka"} & set(careful.tk.get_vocab())  # gamlab's learned from train only
    assert paper.tk.token_to_id("quokka</w>") is None  # no end-of-word suffix
    assert paper.decode(paper.encode("Mia, ran.")) == "Mia , ran ."  # Whitespace: lossy, as the author's
    back = tokenizer_from_dict(paper.to_dict())
    assert isinstance(back, PaperBPETokenizer) and back.encode(val) == paper.encode(val)
    # every split it is given, test included
    assert "wombat" in PAPER.tokenizer_for(dict(splits, test="wombat " * 20), 2000).tk.get_vocab()


class FakeStream:
    def __init__(self, split, taken):
        self.split, self.taken = split, taken

    def take(self, n):
        self.taken[self.split] = n
        return [{"text": f"{self.split} story {i}."} for i in range(min(n, 3))]


def test_tinystories_rows_5000_vs_50000_and_wikitext_test_split(monkeypatch):
    import datasets

    taken, calls = {}, []
    wiki = {s: {"text": [f" {s} line .\n"]} for s in ("train", "validation", "test")}

    def load_dataset(*args, streaming=False):
        calls.append(args)
        return {s: FakeStream(s, taken) for s in ("train", "validation")} if streaming else wiki
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    load_splits("tinystories", None, None, CAREFUL)
    assert taken == {"train": 50_000, "validation": 50_000}
    load_splits("tinystories", None, None, PAPER)
    assert taken == {"train": 50_000, "validation": 5_000}
    load_splits("tinystories", None, 40, PAPER)  # --max-rows caps both
    assert taken == {"train": 40, "validation": 40}
    assert set(load_splits("wikitext2", None, None, CAREFUL)) == {"train", "validation"}
    assert load_splits("wikitext2", None, None, PAPER)["test"] == " test line ."


def test_local_folder_test_split_is_read_only_by_the_paper_recipe(tmp_path):
    for name, text in (("train", "a b c"), ("validation", "d e"), ("test", "f g")):
        (tmp_path / f"{name}.txt").write_text(text)
    assert load_splits("wikitext2", tmp_path, None, PAPER)["test"] == "f g"
    assert "test" not in load_splits("wikitext2", tmp_path, None, CAREFUL)


def test_position_embedding_init_n01_vs_002():
    config = ModelConfig.preset("tiny", d_model=128, block_size=256)
    torch.manual_seed(0)
    careful, paper = build_model("gam", config), build_model("gam", config, init="paper")
    assert careful.pos_emb.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert paper.pos_emb.weight.std().item() == pytest.approx(1.0, rel=0.05)
    bound = 1 / math.sqrt(128)  # nn.Linear's kaiming_uniform(a=sqrt(5)): U(-1/sqrt(C), 1/sqrt(C))
    w = paper.tok_emb.weight
    assert w is paper.head.weight and w.abs().max().item() <= bound
    assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert careful.tok_emb.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert PAPER.build("gam", config).pos_emb.weight.std().item() == pytest.approx(1.0, rel=0.05)
    with pytest.raises(GamlabError, match="init='big'"):
        build_model("gam", config, init="big")


def _data(recipe, n_chunks: int = 10, B: int = 4, T: int = 8):
    ids = torch.arange(n_chunks * (T + 1)) % 50
    return recipe.text_data(ids, ids.clone(), None, T, B, 0, "made")


def test_last_partial_batch_kept_by_paper_dropped_by_careful():
    careful, paper = _data(CAREFUL), _data(PAPER)  # 10 chunks, batches of 4
    assert careful.steps_per_epoch == 2 and paper.steps_per_epoch == 3
    sizes = [paper.get_batch("train", s)[0].size(0) for s in range(3)]
    assert sizes == [4, 4, 2]
    seen = torch.cat([paper.get_batch("train", s)[0] for s in range(3)])
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, paper.chunks("train")[:, :-1].tolist()))
    assert paper.get_batch("train", 3)[0].size(0) == 4  # the next epoch starts with a full batch


def test_validation_loss_mean_of_per_batch_means():
    data = _data(PAPER)  # validation batches of 4, 4, 2 rows
    torch.manual_seed(0)
    model = build_model("gam", ModelConfig.preset("tiny", vocab_size=50, block_size=8, d_model=16, n_layer=1))
    with torch.no_grad():
        per_batch = [float(model.eval()(x, y)[1]) for x, y in data.val_batches()]
    sizes = [x.size(0) for x, _ in data.val_batches()]
    assert sizes == [4, 4, 2]
    by_batch = evaluate(model, data.val_batches(), "cpu", average="batch")
    by_token = evaluate(model, data.val_batches(), "cpu")
    assert by_batch == pytest.approx(sum(per_batch) / 3, rel=1e-6)
    assert by_token == pytest.approx(sum(l * n for l, n in zip(per_batch, sizes)) / sum(sizes), rel=1e-6)
    assert by_batch != pytest.approx(by_token, rel=1e-9)
    tc = TrainConfig.preset("tiny", **PAPER.train_changes(), batch_size=4, steps=1, device="cpu")
    t = Trainer(model, tc, data.get_batch, val_batches=data.val_batches, progress=False)
    assert t.evaluate_full() == pytest.approx(by_batch, rel=1e-6)  # the Trainer reads tc.recipe


# ---------------------------------------------------------------- Table 3 and the command

def test_table3_is_the_papers_ungated_ablation_with_its_own_full_gam():
    t3 = {e.model: e for e in EXPERIMENTS if e.table == 3}
    assert [m for m, e in t3.items() if not e.fair] == ["gam", "gam-global-nogate", "gam-sum", "gam-local-nogate"]
    assert {m for m, e in t3.items() if e.fair} == {"gam-global", "gam-local"}  # gated: gamlab's variants
    paper = ModelConfig.preset("paper")
    counts = {m: shapes_only(m, paper).num_params() for m in ("gam-global-nogate", "gam-sum", "gam-local-nogate")}
    assert counts == {"gam-global-nogate": 19_435_520, "gam-sum": 19_447_808, "gam-local-nogate": 17_874_944}
    for m, n in counts.items():  # the README's 19.4M / 19.4M / 17.9M
        assert round(n / 1e5) / 10 == TABLE3[m].params / 1e6
    t1_gam = next(e for e in EXPERIMENTS if e.table == 1 and e.model == "gam" and e.dataset == "wikitext2")
    assert t3["gam"].run_name == "wikitext2-gam-table3" != t1_gam.run_name
    assert t3["gam"].paper.ppl == 900.84 and t1_gam.paper.ppl == 882.57
    assert t3["gam-global"].paper is TABLE3["gam-global-nogate"]  # read against the paper's row


SETS = ["--set", "d_model=32", "--set", "n_layer=1", "--set", "n_slots=16", "--set", "block_size=32",
        "--set", "batch_size=4", "--set", "vocab_size=300", "--set", "eval_every=2", "--set", "eval_batches=2",
        "--device", "cpu", "--no-progress"]


def test_reproduce_both_recipes_side_by_side(tmp_path, capsys):
    root = tmp_path / "wikitext2"
    root.mkdir()
    stories = make_corpus(90, seed=4).split("\n\n")
    (root / "train.txt").write_text("\n".join(stories[:75]))
    (root / "validation.txt").write_text("\n".join(stories[75:85]) + "\nThe quokka hopped.")
    (root / "test.txt").write_text("\n".join(stories[85:]))
    out = tmp_path / "out"
    argv = ["reproduce", "--wikitext2", str(root), "--tinystories", str(root), "--tables", "3", "--models", "gam-sum",
            "--recipe", "careful,paper", "--steps", "2", "--out", str(out), *SETS]
    assert main(argv) == 0
    text = (out / "table.txt").read_text()
    assert "Table 3, WikiText-2, recipe careful (gamlab's)" in text
    assert "Table 3, WikiText-2, recipe paper (the author's benchmark.py)" in text
    results = json.loads((out / "results.json").read_text())
    assert [(r["model"], r["recipe"]) for r in results["rows"]] == [("gam-sum", "careful"), ("gam-sum", "paper")]
    assert results["train_config"]["paper"]["recipe"] == "paper" and results["train_config"]["paper"]["min_lr_ratio"] == 0
    assert results["data"]["paper"]["wikitext2"]["tokenizer"] == "bpe-paper"
    assert results["data"]["careful"]["wikitext2"]["tokenizer"] == "bpe"
    # the last partial batch is a step of its own under the paper recipe (chunks of 33 tokens, batches of 4)
    for name, rounding in (("careful", math.floor), ("paper", math.ceil)):
        d = results["data"][name]["wikitext2"]
        assert d["steps_per_epoch"] == rounding(d["train_tokens"] // 33 / 4), name
    lr = results["train_config"]["careful"]["lr"]
    assert results["histories"]["careful/wikitext2-gam-sum-table3"][-1]["lr"] == pytest.approx(lr * 0.1)
    assert results["histories"]["paper/wikitext2-gam-sum-table3"][-1]["lr"] == 0.0
    assert (out / "runs" / "paper" / "wikitext2-gam-sum-table3" / "checkpoint.pt").is_file()
    assert (out / "runs" / "careful" / "wikitext2-gam-sum-table3" / "checkpoint.pt").is_file()
    capsys.readouterr()
    assert main(argv) == 0  # run again: each recipe's run resumes with its own tokenizer
    assert capsys.readouterr().out.count("resumed wikitext2-gam-sum-table3 at step 2 of 2") == 2


@pytest.mark.parametrize("value", ["nanogpt", "", "paper,bogus"])
def test_bad_recipe_option_is_one_line(tmp_path, capsys, value):
    out = tmp_path / "out"
    assert main(["reproduce", "--recipe", value, "--out", str(out), "--tables", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "choose careful, paper or careful,paper" in err[0], err
    assert not out.exists()


def test_a_checkpoint_saved_before_recipes_resumes_as_careful_and_not_as_paper(tmp_path):
    t = trainer("gam", CAREFUL, steps=2, out=tmp_path)
    t.fit()
    t.save()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del state["train_config"]["recipe"]  # as gamlab wrote it before this field
    torch.save(state, tmp_path / "checkpoint.pt")
    again = trainer("gam", CAREFUL, steps=2, out=tmp_path)
    assert again.resume() == 2
    with pytest.raises(GamlabError, match="recipe"):
        paper = trainer("gam", PAPER, steps=2, min_lr_ratio=0.1, out=tmp_path)
        paper.resume()
