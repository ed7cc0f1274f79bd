"""gamlab.inspection.text: printed lines wrapped at word boundaries for a notebook at 150% zoom."""

import textwrap

from hypothesis import given
from hypothesis import strategies as st

from gamlab.experiments.timing import WHY_KEEP
from gamlab.inspection.text import WIDTH, say, wrap

RUN = ("loaded /home/student/gamlab/gamlab/experiments/small_gam.pt: gam, 128,064 parameters, 300 "
       "steps of preset 'tiny' at lr 0.002 on embedded (char tokens, vocabulary 49), val loss 0.602")


def test_a_long_line_breaks_at_spaces_within_80_columns_and_loses_no_word():
    lines = wrap(RUN).split("\n")
    assert len(lines) == 3 and all(len(line) <= WIDTH for line in lines)
    assert lines[1].startswith("  ") and not lines[0].startswith(" ")  # continuation indented
    assert " ".join(line.strip() for line in lines) == RUN  # broken only where a space was
    assert "300 steps" in wrap(RUN) or "300\n  steps" in wrap(RUN)  # never "300 ste" / "ps"


def test_a_result_at_the_end_never_stands_alone_on_the_last_line():
    line = "the validation loss of the GAM trained here on your own text after 300 steps is 0.602"
    assert textwrap.fill(line, WIDTH, subsequent_indent="  ").split("\n")[-1] == "  0.602"  # what plain filling does
    lines = wrap(line).split("\n")
    assert lines[-1] == "  is 0.602" and all(len(x) <= WIDTH for x in lines)
    assert " ".join(x.strip() for x in lines) == line


def test_short_lines_and_their_alignment_stay_as_they_are():
    table = "gam              time ~ T^0.96\ntransformer-naive time ~ T^2.03\n\nlast"
    assert wrap(table) == table


def test_a_word_longer_than_the_width_stays_whole():
    path = "/" + "x" * 100
    assert wrap(f"saved: {path} done") == f"saved:\n  {path}\n  done"


def test_say_prints_like_print(capsys):
    say("learning rates:", "gam 0.002", 3)
    say("a", "b", sep=", ")
    say()
    assert capsys.readouterr().out == "learning rates: gam 0.002 3\na, b\n\n"


def test_the_timing_note_fits_80_columns():
    assert max(map(len, WHY_KEEP.split("\n"))) <= WIDTH


@given(st.lists(st.text(alphabet="abc ", min_size=1, max_size=12), min_size=1, max_size=40))
def test_any_text_of_short_words_fits_and_keeps_its_words(parts):
    text = " ".join(parts)
    out = wrap(text, width=20)
    assert all(len(line) <= 20 for line in out.split("\n"))
    assert out.split() == text.split()
