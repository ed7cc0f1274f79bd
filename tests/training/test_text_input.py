"""User text enters gamlab in one place that knows what it read (gamlab/training/text.py), and the
tokenizers give back what they were given.

Every way in (a file, a folder of .txt files, hub rows, reproduce's local folders, a string
given to a tokenizer) is swept over the same faults: each either loads exactly what the clean
text loads, or ends in one GamlabError line naming the file (or row) and the cause.
"""

import codecs
import contextlib
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamlab import GamlabError
from gamlab.training.corpus import make_corpus
from gamlab.training.data import hub_rows, load_data, load_texts
from gamlab.training.text import as_text, read_text_file
from gamlab.training.tokenizer import tokenizer_from_dict, train_tokenizer

CLEAN = "".join(f"Line {i}: the quick brown fox, number {i}, jumps.\n" for i in range(40))
RAW = CLEAN.encode()
K = 300  # a byte offset in the middle of RAW (an ASCII text: byte offsets are character offsets)


def one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and msg.endswith("."), msg
    return msg


# ---------------------------------------------------------------- the examples

def test_a_leading_bom_is_not_text(tmp_path):
    plain, bom = tmp_path / "plain.txt", tmp_path / "bom.txt"
    plain.write_bytes(RAW)
    bom.write_bytes(codecs.BOM_UTF8 + RAW)
    assert load_texts(str(bom)) == load_texts(str(plain))
    for kind in ("char", "bpe"):
        a = load_data(str(plain), tokenizer=kind, vocab_size=200, block_size=8, batch_size=2)
        b = load_data(str(bom), tokenizer=kind, vocab_size=200, block_size=8, batch_size=2)
        assert a.vocab_size == b.vocab_size
        assert a.train.tolist() == b.train.tolist() and a.val.tolist() == b.val.tolist()
    assert "\ufeff" not in load_data(str(bom), block_size=8, batch_size=2).tokenizer.chars


def test_a_latin1_file_names_the_file_the_byte_and_the_fix(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes(RAW + "café au lait\n".encode("latin-1"))
    with pytest.raises(GamlabError) as e:
        load_texts(str(f))
    assert one_line(e) == (f"{str(f)!r} is not UTF-8: byte 0xE9 at byte offset {len(RAW) + 3} (line 41) is not valid "
                           "UTF-8; re-save it as UTF-8 (for example `iconv -f latin1 -t utf-8 OLD > NEW`, or your "
                           "editor's Save as UTF-8).")


def test_an_empty_file_says_it_is_empty(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_bytes(b"")
    with pytest.raises(GamlabError) as e:
        load_texts(str(f))
    assert one_line(e).startswith(f"{str(f)!r} is empty (0 bytes); ")


def test_a_folder_names_its_bad_file(tmp_path):
    (tmp_path / "a.txt").write_bytes(RAW)
    (tmp_path / "sub").mkdir()
    bad = tmp_path / "sub" / "b.txt"
    bad.write_bytes(RAW[:K] + b"\xff" + RAW[K:])
    (tmp_path / "c.txt").write_bytes(RAW)
    with pytest.raises(GamlabError) as e:
        load_texts(str(tmp_path))
    msg = one_line(e)
    assert msg.startswith(f"{str(bad)!r} is not UTF-8: byte 0xFF at byte offset {K} ") and "a.txt" not in msg.replace(str(bad), "")


def test_a_folder_reads_every_file_the_same_way(tmp_path):
    """Each file's own BOM and line ends go; the folder equals the files' text, in sorted order."""
    (tmp_path / "a.txt").write_bytes(codecs.BOM_UTF8 + RAW.replace(b"\n", b"\r\n"))
    (tmp_path / "b.txt").write_bytes(codecs.BOM_UTF8 + b"last words here")  # no final newline
    (tmp_path / "dir.txt").mkdir()  # a folder named like a text file is not read
    train, val = load_texts(str(tmp_path))
    assert "\ufeff" not in train + val and "\r" not in train + val
    assert train + val == CLEAN + "last words here" and val.endswith("\nlast words here")


# ---------------------------------------------------------------- the sweep: entry paths x faults

UTF16 = CLEAN.encode("utf-16")  # with its byte-order mark
# fault -> (bytes of the file, None if it loads as CLEAN does, else what the file message says)
FAULTS = {
    "bom": (codecs.BOM_UTF8 + RAW, None),
    "crlf": (RAW.replace(b"\n", b"\r\n"), None),
    "cr": (RAW.replace(b"\n", b"\r"), None),
    "bom+crlf": (codecs.BOM_UTF8 + RAW.replace(b"\n", b"\r\n"), None),
    "bad byte at start": (b"\xe9" + RAW, "is not UTF-8: byte 0xE9 at byte offset 0 (line 1)"),
    "bad byte in the middle": (RAW[:K] + b"\x80" + RAW[K:], f"is not UTF-8: byte 0x80 at byte offset {K} "),
    "bad byte at the end": (RAW + b"\xe9", f"is not UTF-8: byte 0xE9 at byte offset {len(RAW)} "),
    "cut multi-byte character": (RAW + "é".encode()[:1], f"is not UTF-8: byte 0xC3 at byte offset {len(RAW)} "),
    "empty": (b"", "is empty (0 bytes)"),
    "whitespace only": (b" \n\t\n\r\n" * 40, "holds only whitespace"),
    "BOM only": (codecs.BOM_UTF8, "holds only whitespace"),
    "NUL byte": (RAW[:K] + b"\x00" + RAW[K:], f"holds a NUL byte at byte offset {K}"),
    "UTF-16 with BOM": (UTF16, "is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8"),
    "UTF-16 big-endian": (CLEAN.encode("utf-16-be").join([codecs.BOM_UTF16_BE, b""]), "is UTF-16"),
    "UTF-16 without BOM": (CLEAN.encode("utf-16-le"), "holds a NUL byte at byte offset 1"),
    "UTF-32 with BOM": (CLEAN.encode("utf-32"), "is UTF-32"),
}
# What the same fault says when it arrives as a str (decoded with surrogateescape, as
# open(errors="surrogateescape") would), given straight to a tokenizer.
STRING_SAYS = {
    "bad byte at start": "unpaired surrogate (U+DCE9) at character 0",
    "bad byte in the middle": f"unpaired surrogate (U+DC80) at character {K}",
    "bad byte at the end": f"unpaired surrogate (U+DCE9) at character {len(RAW)}",
    "cut multi-byte character": f"unpaired surrogate (U+DCC3) at character {len(RAW)}",
    "empty": "the training text is empty or only whitespace",
    "whitespace only": "the training text is empty or only whitespace",
    "BOM only": "the training text is empty or only whitespace",
    "NUL byte": f"holds a NUL character at character {K}",
    "UTF-16 with BOM": "holds a NUL character at character 3",
    "UTF-16 big-endian": "holds a NUL character at character 2",
    "UTF-16 without BOM": "holds a NUL character at character 1",
    "UTF-32 with BOM": "holds a NUL character at character 2",
}


def _file(tmp_path, data):
    f = tmp_path / "in.txt"
    f.write_bytes(data)
    return f, load_texts(str(f))


def _folder(tmp_path, data):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a_good.txt").write_bytes(RAW)
    f = tmp_path / "d" / "b_faulty.txt"
    f.write_bytes(data)
    train, val = load_texts(str(tmp_path / "d"))
    return f, (train + "\n" + val)[len(CLEAN):]  # what b_faulty.txt contributed


def _reproduce(tmp_path, data):
    from gamlab.experiments.reproduce import load_rows

    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "validation.txt").write_bytes(RAW)
    f = tmp_path / "w" / "train.txt"
    f.write_bytes(data)
    return f, load_rows("wikitext2", tmp_path / "w", None)[0]


def _clean_result(entry, tmp_path):
    sub = tmp_path / "clean"
    sub.mkdir()
    return entry(sub, RAW)[1]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("entry", [_file, _folder, _reproduce], ids=["file", "folder", "reproduce-folder"])
def test_every_local_path_reads_every_fault_the_same_way(entry, fault, tmp_path):
    data, says = FAULTS[fault]
    if says is None:
        assert entry(tmp_path, data)[1] == _clean_result(entry, tmp_path)
        return
    f = tmp_path / {"_file": "in.txt", "_folder": "d/b_faulty.txt", "_reproduce": "w/train.txt"}[entry.__name__]
    with pytest.raises(GamlabError) as e:
        entry(tmp_path, data)
    msg = one_line(e)
    assert msg.startswith(f"{str(f)!r} ") and says in msg, msg
    if "UTF-8" in msg or "UTF-16" in msg:
        assert "re-save it as UTF-8" in msg


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_a_string_given_to_a_tokenizer_reads_every_fault_the_same_way(kind, fault):
    data, _ = FAULTS[fault]
    text = data.decode("utf-8", errors="surrogateescape")
    says = STRING_SAYS.get(fault)
    with pytest.raises(GamlabError) as e:
        train_tokenizer(kind, data)  # bytes are not text
    assert one_line(e).startswith("the training text is a bytes, not text; decode it first")
    if says is None:
        tok, clean = train_tokenizer(kind, text, 200), train_tokenizer(kind, CLEAN, 200)
        assert tok.vocab_size == clean.vocab_size and tok.encode(text) == clean.encode(CLEAN)
        return
    with pytest.raises(GamlabError) as e:
        train_tokenizer(kind, text, 200)
    assert says in one_line(e)
    if "surrogate" in says or "NUL" in says:  # a prompt with the same fault is refused the same way
        with pytest.raises(GamlabError) as e:
            train_tokenizer(kind, CLEAN, 200).encode(text)
        assert says.split(" at ")[0] in one_line(e)


def test_hub_rows_are_read_like_files(monkeypatch):
    import datasets

    splits = {"train": {"text": ["\ufeff = A = \r\n", "", " one line .\r\n"]}, "validation": {"text": [" val .\n"]}}
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: splits)
    assert load_texts("wikitext2") == (" = A = \n one line .\n", " val .\n")
    splits["train"]["text"][1] = None
    with pytest.raises(GamlabError) as e:
        hub_rows("wikitext2")
    assert one_line(e) == "WikiText-2 train row 1 is a NoneType, not text; give a str."


def test_as_text_is_the_one_reading():
    assert as_text("\ufeffa\r\nb\rc\n") == "a\nb\nc\n"
    assert as_text("a\ufeffb") == "a\ufeffb"  # only a leading BOM is not text
    for bad, says in [(b"abc", "is a bytes"), (None, "is a NoneType"), (["a"], "is a list"),
                      ("a\x00b", "NUL character at character 1"), ("ab\udce9", "surrogate (U+DCE9) at character 2")]:
        with pytest.raises(GamlabError) as e:
            as_text(bad, "the prompt")
        assert one_line(e).startswith("the prompt ") and says in str(e.value)


def test_unreadable_paths_get_one_line(tmp_path):
    with pytest.raises(GamlabError) as e:
        read_text_file(tmp_path)  # a folder
    assert one_line(e).startswith(f"could not read {str(tmp_path)!r} (")
    with pytest.raises(GamlabError) as e:
        load_texts(None)
    assert one_line(e).startswith("dataset must be a name (embedded, wikitext2, tinystories) or a path")


# ---------------------------------------------------------------- BPE gives back what it was given

CAT = "the cat sat on the mat\n" * 200


def test_bpe_shows_unknown_characters_and_keeps_the_spaces():
    tok = train_tokenizer("bpe", CAT, vocab_size=100)
    ids = tok.encode("the café sat")  # neither "f" nor "é" was seen
    assert tok.decode(ids) == "the ca\ufffd\ufffd sat"
    assert tok.encode(tok.decode(ids)) == ids
    assert tok.decode(tok.encode(CAT)) == CAT
    assert tok.decode([10_000, -1]) == "\ufffd\ufffd"  # ids outside the vocabulary show too


STORIES = make_corpus(40, seed=2) + "\n\nTom  said: \"Hi,  Mia!\"\t(twice)\n\n\n  The end, 42 days later.  \n"


@pytest.fixture(scope="module")
def story_bpe():
    return train_tokenizer("bpe", STORIES, vocab_size=400)


def test_bpe_round_trips_the_text_it_learned_from(story_bpe):
    assert story_bpe.decode(story_bpe.encode(STORIES)) == STORIES
    assert story_bpe.decode(story_bpe.encode("Mia, ran.\n\n Tom  hugged\tPip.")) == "Mia, ran.\n\n Tom  hugged\tPip."


UNSEEN = "é\u00a0😀Ω\u3000\u0301\x0b½Ⅻ$"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(sorted(set(STORIES)) + list(UNSEEN)), max_size=80))
def test_bpe_round_trips_any_text(story_bpe, text):
    all_seen = not set(text) & set(UNSEEN)
    ids = story_bpe.encode(text)
    back = story_bpe.decode(ids)
    assert back == re.sub(f"[{re.escape(UNSEEN)}]", "\ufffd", text)
    assert (back == text) == all_seen
    assert story_bpe.encode(back) == ids


def test_bpe_cuts_long_lines_where_it_would_cut_anyway(story_bpe):
    line = (STORIES.replace("\n", " ") + " é  \u00a0x ") * 3  # one line, over the 2000-character cut
    assert len(line) > 10_000
    assert story_bpe.encode(line) == story_bpe.tk.encode(line.replace("é", "\ufffd").replace("\u00a0", "\ufffd")).ids
    back = tokenizer_from_dict(story_bpe.to_dict())
    assert back.encode(line) == story_bpe.encode(line) and back.decode(back.encode(STORIES)) == STORIES


def _old_bpe(text, vocab_size):
    """A BPE tokenizer built as gamlab built them before the lossless one (whitespace words, "</w>")."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE(unk_token="[UNK]", end_of_word_suffix="</w>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["[UNK]"], end_of_word_suffix="</w>",
                                  show_progress=False)
    tk.train_from_iterator([text.splitlines()], trainer=trainer)
    return {"kind": "bpe", "json": tk.to_str()}, tk


def test_tokenizers_saved_the_old_way_still_load_and_decode():
    saved, tk = _old_bpe(STORIES, 300)
    tok = tokenizer_from_dict(saved)
    text = "Mia had a red kite.\nThen Tom hugged Pip."
    ids = tok.encode(text)
    assert ids == [i for enc in tk.encode_batch(text.splitlines()) for i in enc.ids]  # the ids it gave before
    assert tok.decode(ids) == "Mia had a red kite . Then Tom hugged Pip ."
    assert tok.encode(tok.decode(ids)) == ids
    assert "\ufffd" in tok.decode(tok.encode("the café sat"))  # unknown pieces no longer vanish


def test_cli_sample_keeps_every_letter_of_the_prompt(tmp_path):
    from gamlab.cli import main

    f = tmp_path / "stories.txt"
    f.write_text(make_corpus(120, seed=1).replace("O", "o"))  # no capital O: "Once" starts with an unknown
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "--model", "gam", "--fast", "--no-progress", "--steps", "2", "--tokenizer", "bpe",
                     "--dataset", str(f), "--out", str(tmp_path / "run")])
    assert code == 0
    sample = next(line for line in out.getvalue().splitlines() if line.startswith("sample: "))
    assert sample.startswith("sample: '\ufffdnce upon a time"), sample


def test_the_cli_says_it_in_one_line(tmp_path, capsys):
    from gamlab.cli import main

    f = tmp_path / "latin.txt"
    f.write_bytes(RAW + "naïve\n".encode("latin-1"))
    code = main(["train", "--model", "gam", "--fast", "--no-progress", "--dataset", str(f), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1, err
    assert f"{str(f)!r} is not UTF-8: byte 0xEF at byte offset {len(RAW) + 2} (line 41)" in err[0]
    assert not (tmp_path / "r").exists()


def test_a_tiny_file_still_says_it_is_too_small(tmp_path):
    f = tmp_path / "tiny.txt"
    f.write_bytes(codecs.BOM_UTF8 + b"0123456789")
    with pytest.raises(GamlabError) as e:
        load_texts(str(f))
    assert one_line(e).startswith(f"{str(f)!r} holds under 100 characters of text")
