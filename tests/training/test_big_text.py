"""Big text and big numbers (issue 22, kind A): loading does not copy the corpus (ids go straight into
one int64 array, a file is split by position, the digest reads the ids in place), the data's
memory is checked before reading, and seeds stay in the range torch takes."""

import hashlib
import json
import os
import subprocess
import sys

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamlab.errors import GamlabError
from gamlab.host_memory import available_memory
from gamlab.runtime import SEED_LIMIT, seed_everything
from gamlab.training import data as data_module
from gamlab.training.corpus import make_corpus
from gamlab.training.data import BYTES_PER_TEXT_BYTE, TextData, load_data, load_texts
from gamlab.training.text import read_text_file, text_lines
from gamlab.training.tokenizer import CharTokenizer, encode_tensor, train_tokenizer
from gamlab.training.train import TrainConfig, hash_ids, run_meta


def split_by_lines(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """The split as a list of lines gave it before (the last lines validate)."""
    lines = text_lines(text if text.endswith("\n") else text + "\n")
    n_val = max(1, int(len(lines) * val_fraction))
    return "\n".join(lines[:-n_val]) + "\n", "\n".join(lines[-n_val:])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(st.sampled_from(["", " ", "word", "Once upon a time.", "x" * 40, "é ü 中"]), min_size=12,
                      max_size=60), end=st.sampled_from(["", "\n", "\n\n"]))
def test_a_file_is_split_by_position_as_by_lines(lines, end, tmp_path_factory):
    text = "\n".join(["a line long enough to pass the 100 characters of text check, " * 2, *lines]) + end
    path = tmp_path_factory.mktemp("t") / "t.txt"
    path.write_text(text, encoding="utf-8")
    assert load_texts(str(path)) == split_by_lines(read_text_file(path))


@pytest.mark.parametrize("kind", ["char", "bpe", "bpe-paper"])
def test_encode_tensor_gives_encodes_ids(kind):
    train = make_corpus(30, seed=1)
    tok = train_tokenizer(kind, train, 300)
    other = "Unseen: ÆØÅ \u2603 and blank lines\n\n\nafter them " + make_corpus(3, seed=5)
    for text in (train, other, ""):
        ids = encode_tensor(tok, text)
        assert ids.dtype == torch.int64 and ids.tolist() == tok.encode(text)


def test_the_digest_reads_ids_in_place_and_is_unchanged():
    idx = torch.randint(0, 300, (3 * (1 << 20) + 7,))
    want = hashlib.sha256(idx.numpy().tobytes()).hexdigest()  # what run_meta saved before: resumes compare it
    for same in (idx, idx.to(torch.int32), idx.view(-1, 1)[:, 0], torch.stack([idx, idx], 1)[:, 0]):
        d = hashlib.sha256()
        hash_ids(d, same)
        assert d.hexdigest() == want


def test_run_meta_digest_is_that_of_both_splits(tmp_path):
    data = load_data(n_stories=60, block_size=16, batch_size=4)

    class Model:
        name, config = "gam", type("C", (), {"to_dict": lambda self: {}})()
    digest = hashlib.sha256(data.train.numpy().tobytes() + data.val.numpy().tobytes()).hexdigest()[:16]
    assert run_meta(Model(), data)["data_digest"] == digest


def test_text_that_will_not_fit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text("a few words of text on a line\n" * 40_000)  # 1.2 MB
    monkeypatch.setattr(data_module, "available_memory", lambda: 5 * 2**20)
    monkeypatch.setattr(data_module, "read_text_file", lambda *a: pytest.fail("read although it cannot fit"))
    with pytest.raises(GamlabError, match=r"^'.*big.txt' holds 1 MB of text, which needs about 0.0 GiB of memory to "
                                          r"load and tokenize, but only 0.0 GiB is free; use a part of it"):
        load_data(str(path))


def test_running_out_of_memory_while_loading_is_one_sentence(tmp_path, monkeypatch):
    def no_memory(*args):
        raise MemoryError
    monkeypatch.setattr(data_module, "encode_tensor", no_memory)
    with pytest.raises(GamlabError, match="ran out of memory loading and tokenizing 'embedded'; use a smaller part"):
        load_data(n_stories=60)


def test_an_address_space_limit_counts_as_memory(monkeypatch):
    import resource

    from gamlab.host_memory import proc_bytes

    used = proc_bytes("VmSize")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (used + 50 * 2**20, resource.RLIM_INFINITY)
                        if which == resource.RLIMIT_AS else (resource.RLIM_INFINITY,) * 2)
    assert available_memory("cpu") <= 50 * 2**20 + 2**20  # what `ulimit -v` leaves, not the machine's


def test_loading_text_stays_within_its_estimate(tmp_path):
    """Peak memory of load_data on a 6 MB file, per byte, under BYTES_PER_TEXT_BYTE (what check_text_fits
    assumes; the list of ids and the copies before took 16 bytes per byte)."""
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    story = make_corpus(200, seed=2)
    small.write_text(story)
    big.write_text(story * (6_000_000 // len(story)))
    script = ("import json, resource, sys\nfrom gamlab.training.data import load_data\n"
              "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
              "load_data(sys.argv[1], block_size=16); before = peak()\n"
              "d = load_data(sys.argv[2], block_size=16); print(json.dumps([before, peak(), d.train.numel()]))")
    r = subprocess.run([sys.executable, "-c", script, str(small), str(big)], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=300)
    assert r.returncode == 0, r.stderr
    before, after, tokens = json.loads(r.stdout.strip().splitlines()[-1])
    per_byte = (after - before) / big.stat().st_size
    assert tokens > 5_000_000 and per_byte < BYTES_PER_TEXT_BYTE, per_byte


def test_seeds_stay_in_torchs_range():
    with pytest.raises(GamlabError, match=r"TrainConfig.seed must be a whole number from 0 to 4294967295, got 35184372088832"):
        TrainConfig(seed=2**45)
    with pytest.raises(GamlabError, match="seed must be a whole number"):
        seed_everything(2**64)
    TrainConfig(seed=SEED_LIMIT - 1)
    tok = CharTokenizer.train("abcdefgh")
    ids = torch.arange(200) % 8
    for seed in (0, SEED_LIMIT - 1, 2**45, 2**70):  # a TextData built by hand: the derived seed is reduced
        idx, _ = TextData(ids, ids, tok, 8, 2, seed=seed).get_batch("train", 3)
        assert idx.shape == (2, 8)
