"""The measuring helper: its thread count, interleaving, best and median, out of memory, and the
training thread chooser's rule (never its timings: machines here are shared)."""

import pytest
import torch

from gamlab.errors import GamlabError
from gamlab.experiments import timing
from gamlab.experiments.timing import Timing, cpu_threads_for_training, measure, timing_threads


def test_timing_threads_restores_the_count_also_after_an_error():
    before = torch.get_num_threads()
    with timing_threads("cpu") as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(KeyError):
        with timing_threads("cpu", 2):
            assert torch.get_num_threads() == 2
            raise KeyError("inside")
    assert torch.get_num_threads() == before


def test_measure_runs_on_one_thread_and_restores_the_count_when_a_function_raises():
    before, seen = torch.get_num_threads(), []
    measure({"a": lambda: seen.append(torch.get_num_threads())}, repeats=2, say=None)
    assert seen == [1, 1, 1] and torch.get_num_threads() == before  # warm-up + 2 repeats

    def broken():
        raise ValueError("not a memory error")

    with pytest.raises(ValueError, match="not a memory error"):
        measure({"ok": lambda: None, "broken": broken}, say=None)
    assert torch.get_num_threads() == before


def test_measure_interleaves_the_functions_round_by_round():
    calls = []
    out = measure({n: (lambda n=n: calls.append(n)) for n in ("a", "b", "c")}, repeats=3, warmup=1, say=None)
    assert calls == ["a", "b", "c"] * 4  # one warm-up round, then three timed rounds
    assert all(len(t.runs) == 3 for t in out.values())


def test_best_is_at_most_the_median_and_the_spread_is_their_gap():
    out = measure({"sum": lambda: torch.randn(200, 200).sum()}, repeats=5, say=None)["sum"]
    assert isinstance(out, Timing) and 0 < out.best <= out.median and out.best == min(out.runs)
    assert out.spread == pytest.approx((out.median - out.best) / out.best)
    assert Timing(2.0, 3.0, (2.0, 3.0, 4.0)).spread == 0.5
    assert str(Timing(2.0, 3.0, (2.0, 3.0, 4.0))) == "2.00 ms (median +50%)"


def test_a_budget_adds_rounds_up_to_max_repeats():
    calls = []
    measure({"a": lambda: calls.append(1)}, repeats=2, warmup=0, budget_s=60.0, max_repeats=7, say=None)
    assert len(calls) == 7  # cheap: rounds until max_repeats, the budget is never reached


def test_out_of_memory_is_none_and_not_called_again_while_the_others_go_on():
    calls = {"big": 0, "small": 0}

    def big():
        calls["big"] += 1
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    def small():
        calls["small"] += 1

    out = measure({"big": big, "small": small}, repeats=3, say=None)
    assert out["big"] is None and isinstance(out["small"], Timing)
    assert calls == {"big": 1, "small": 4}

    def host():
        raise MemoryError()

    assert measure({"host": host}, say=None) == {"host": None}


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(GamlabError, match="repeats >= 1"):
        measure({"a": lambda: None}, repeats=0, say=None)


def test_the_allocator_setting_is_applied_once_and_says_why(monkeypatch):
    applied, said = [], []
    monkeypatch.setattr(timing, "_KEPT", {"done": False})
    monkeypatch.setattr(timing, "keep_freed_memory", lambda limit: applied.append(limit) or True)
    measure({"a": lambda: None}, repeats=1, say=said.append)
    measure({"a": lambda: None}, repeats=1, say=said.append)
    assert applied == [timing.KEEP_BYTES] and len(said) == 1 and "bend the curve" in said[0]


def test_the_first_allocator_choice_holds_for_the_process(monkeypatch):
    """The command line keeps up to 1 GiB and a benchmark's --glibc-default keeps glibc's default:
    a later measurement does not change either (it applied its own before)."""
    for first, expected in ((1 << 30, [1 << 30]), (0, [])):
        applied = []
        monkeypatch.setattr(timing, "_KEPT", {"done": False})
        monkeypatch.setattr(timing, "keep_freed_memory", lambda limit: applied.append(limit) or True)
        timing.keep_freed_memory_once(say=None, limit_bytes=first)
        measure({"a": lambda: None}, repeats=1, say=None)
        assert applied == expected


@pytest.mark.parametrize("load, cores, default, expected", [
    (0.1, 2, 2, 2),   # idle: torch's default
    (0.4, 2, 2, 2),
    (1.0, 2, 2, 1),   # one core's worth of other work
    (2.5, 2, 2, 1),   # both cores busy: one thread, never zero
    (9.0, 2, 2, 1),
    (3.0, 16, 8, 8),  # many free cores: at most torch's default
    (10.2, 16, 8, 6),  # the cores the load leaves free
])
def test_training_threads_follow_the_load(load, cores, default, expected):
    assert cpu_threads_for_training(load, cores, default) == expected


def test_training_threads_read_the_load_average(monkeypatch):
    monkeypatch.setattr(timing.os, "getloadavg", lambda: (2.3, 1.0, 1.0))
    monkeypatch.setattr(timing, "usable_cores", lambda: 2)
    assert cpu_threads_for_training(default=2) == 1
    monkeypatch.setattr(timing.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert cpu_threads_for_training(default=2) == 2

    def no_load():
        raise OSError("no load average here")

    monkeypatch.setattr(timing.os, "getloadavg", no_load)
    assert cpu_threads_for_training(default=3) == 3


def test_set_training_threads_sets_the_chosen_count(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(timing, "cpu_threads_for_training", lambda: 1)
    try:
        assert timing.set_training_threads("cpu") == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_lesson00_reference_is_a_saved_run_of_the_lessons_sizes():
    from gamlab.experiments import lesson00_reference as ref

    saved = ref.load()
    assert saved["cpu"] and saved["cores"] >= 1 and saved["sizes"] == ref.SIZES
    assert {(r["name"], r["seq_len"]) for r in saved["rows"]} == {(n, T) for n in ref.BLOCKS for T in ref.SIZES["lengths"]}
    assert saved["time_slopes"] == ref.slopes(saved["rows"])  # the slopes are the rows'
    assert 0.85 < saved["time_slopes"]["gam"] < 1.2 and saved["time_slopes"]["transformer-naive"] > 1.7
    assert saved["command"] in (ref.__doc__ or "")


def test_measure_lesson00_runs_the_grid_at_given_sizes():
    from gamlab.experiments import lesson00_reference as ref

    rows = ref.measure_lesson00(memory=False, lengths=[8, 16], batch=1, d_model=16, n_slots=8)
    assert [(r["name"], r["seq_len"]) for r in rows] == [(n, T) for n in ref.BLOCKS for T in (8, 16)]
    assert all(r["ms"] > 0 and r["ms_median"] >= r["ms"] for r in rows)
    assert set(ref.slopes(rows)) == set(ref.BLOCKS)


def test_one_thread_on_a_cpu_counts_cpu_time_not_the_time_others_take():
    import time

    nap = {"nap": lambda: time.sleep(0.05)}  # holds no core: other programs could run meanwhile
    assert measure(nap, repeats=1, say=None)["nap"].best < 25  # auto: CPU time on one CPU thread
    assert measure(nap, repeats=1, clock="wall", say=None)["nap"].best >= 50
    assert measure(nap, repeats=1, threads=2, say=None)["nap"].best >= 50  # several threads: wall clock
    with pytest.raises(GamlabError, match="clock"):
        measure(nap, clock="gpu", say=None)
