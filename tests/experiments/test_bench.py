"""The scaling benchmark: tiny sizes, correctness of what it reports (never its timings)."""

import json
import os

import pytest
import torch

from gamlab.cli import main
from gamlab.commands.bench import table
from gamlab.errors import GamlabError
from gamlab.experiments.bench import BLOCKS, flops, growth_exponent, measure_block, run_grid
from gamlab.inspection.plots import scaling_chart

TINY = dict(batch=2, d_model=16, n_slots=8, repeats=1)


@pytest.mark.parametrize("name", list(BLOCKS))
def test_measure_block_in_process(name):
    r = measure_block(name, 12, memory=False, **TINY)
    assert r["oom"] is False and r["ms"] > 0 and r["peak_mb"] is None


def test_measure_block_subprocess_reports_memory_that_grows_with_length():
    small = measure_block("gam-reference", 32, batch=2, d_model=32, n_slots=64, repeats=1)
    large = measure_block("gam-reference", 2048, batch=2, d_model=32, n_slots=64, repeats=1)
    assert small["peak_mb"] is not None and large["peak_mb"] > small["peak_mb"]
    # the (B, T, S) weights alone are 2*2048*64*4 bytes = 1 MiB
    assert large["peak_mb"] > 1.0


def test_the_memory_subprocess_imports_this_gamlab(monkeypatch):
    """The fresh process that measures memory gets the folder holding this gamlab on its path."""
    import subprocess
    from pathlib import Path

    import gamlab
    from gamlab.experiments import bench

    seen = {}

    def fake_run(cmd, **kwargs):
        seen.update(kwargs["env"])
        return subprocess.CompletedProcess(cmd, 0, stdout='{"peak_mb": 1.0, "oom": false}\n', stderr="")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert bench.block_memory("gam", 8, 1, 16, 8, torch.device("cpu"), mem_limit_mb=100) == {"peak_mb": 1.0, "oom": False}
    root = Path(seen["PYTHONPATH"].split(os.pathsep)[0])
    assert root == Path(gamlab.__file__).resolve().parents[1]


def test_out_of_memory_is_a_row_not_a_crash():
    r = measure_block("transformer-naive", 4096, batch=2, d_model=16, n_slots=8, repeats=1, mem_limit_mb=64)
    assert r == {"ms": None, "peak_mb": None, "oom": True}


def _grid_with_measured_peaks(monkeypatch, peaks, free_bytes):
    """run_grid at T = 8, 16 (lengths together) with the fresh process's peaks given and the memory
    available now set: which (name, T) steps the timing process ran, and the rows."""
    from gamlab.experiments import bench

    ran = []
    monkeypatch.setattr(bench, "block_memories", lambda runs, *a, **k: {r: peaks[r] for r in runs})
    monkeypatch.setattr(bench, "available_memory", lambda device=None: free_bytes)
    real_step = bench.train_step
    monkeypatch.setattr(bench, "train_step", lambda m, x, dy, device: ran.append(x.shape[1]) or real_step(m, x, dy, device))
    rows = run_grid(["gam"], [8, 16], lengths_together=True, **TINY)
    return set(ran), {r["seq_len"]: r for r in rows}


def test_a_step_that_ran_out_of_memory_when_measured_is_not_timed(monkeypatch):
    """The memory process found gam at T=16 out of memory: the timing process must not run it
    (on a CPU under a container limit the kernel would kill it, not raise)."""
    ran, rows = _grid_with_measured_peaks(monkeypatch, {("gam", 8): {"peak_mb": 1.0, "oom": False},
                                                        ("gam", 16): {"peak_mb": None, "oom": True}}, 1 << 40)
    assert ran == {8} and rows[16]["oom"] and not rows[8]["oom"]


def test_a_step_too_big_for_the_memory_left_now_is_reported_not_run(monkeypatch):
    """Binder's case: measured fine in its own process, but the timing process has less room."""
    from gamlab.experiments.bench import FIT_MARGIN, KEEP_BYTES
    free = KEEP_BYTES + int(100 * 2**20 * FIT_MARGIN)  # room for a 100 MiB step, not a 200 MiB one
    ran, rows = _grid_with_measured_peaks(monkeypatch, {("gam", 8): {"peak_mb": 100.0, "oom": False},
                                                        ("gam", 16): {"peak_mb": 200.0, "oom": False}}, free)
    assert ran == {8} and rows[16] == {**rows[16], "ms": None, "peak_mb": None, "oom": True}
    assert rows[8]["peak_mb"] == 100.0 and rows[8]["ms"] > 0


def test_flops_formula():
    C, S, T, B = 128, 512, 1024, 8
    assert flops("gam", T, B, C, S) == 3 * B * T * (20 * C * C + 4 * S * C + 2 * 3 * C)
    # naive attention computes the whole T x T matrix, the fused kernel the causal half
    assert flops("transformer-naive", T, B, C) - flops("transformer", T, B, C) == 3 * B * T * 2 * T * C
    # Mamba (expand 2, d_state 16, d_conv 4, dt_rank C/16) and the reference GAM block: the blocks count
    D, N, R = 2 * C, 16, C // 16
    assert flops("mamba", T, B, C) == 3 * B * T * (4 * C * D + 2 * D * (R + 2 * N) + 2 * R * D + 2 * D * C + 8 * D + 6 * D * N)
    assert flops("gam-reference", T, B, C, S) == flops("gam", T, B, C, S)
    hs, tc = C // 8, 64  # gam-fw: 8 heads, chunks of 64 tokens
    assert flops("gam-fw", T, B, C, S) == 3 * B * T * (20 * C * C + 6 * C + 8 * C * C + 4 * tc * C + 4 * hs * C)


def test_growth_exponent():
    assert growth_exponent([1, 2, 4], [3, 6, 12]) == pytest.approx(1.0)
    assert growth_exponent([1, 2, 4], [1, 4, 16]) == pytest.approx(2.0)
    assert growth_exponent([1, 2], [5, None]) is None


def test_grid_table_and_chart():
    rows = run_grid(["gam", "transformer"], [8, 16], memory=False, rate=1e9, **TINY)
    assert len(rows) == 4 and all(r["fraction"] > 0 for r in rows)
    text = table(rows, ["gam", "transformer"])
    assert "gam ms" in text and text.count("\n") == 3
    fig = scaling_chart(rows, {"gam": 1.0, "transformer": None})
    assert any(t.name == "gam (time ~ T^1.00)" for t in fig.data)


def test_cli_writes_json_and_html(tmp_path, capsys):
    code = main(["bench", "--blocks", "gam,mamba", "--lengths", "8,16", "--batch", "2", "--d-model", "16",
                 "--slots", "8", "--repeats", "1", "--no-memory", "--out", str(tmp_path)])
    assert code == 0
    record = json.loads((tmp_path / "bench.json").read_text())
    assert {r["name"] for r in record["rows"]} == {"gam", "mamba"}
    assert (tmp_path / "bench.html").stat().st_size > 1000
    assert "matmul rate" in capsys.readouterr().out


def test_cli_writes_the_numbers_without_plotly(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gamlab.inspection.plots", None)  # as on a GPU image without plotly
    code = main(["bench", "--blocks", "gam", "--lengths", "8,16", "--batch", "2", "--d-model", "16",
                 "--slots", "8", "--repeats", "1", "--no-memory", "--out", str(tmp_path)])
    assert code == 0 and (tmp_path / "bench.json").is_file() and not (tmp_path / "bench.html").exists()
    assert "no chart: plotly is not installed" in capsys.readouterr().out


def test_cli_rejects_unknown_block(capsys):
    assert main(["bench", "--blocks", "gpt", "--no-memory"]) == 2
    with pytest.raises(GamlabError):
        measure_block("gpt", 8)


def test_device_check_script_runs_every_check_on_cpu_at_tiny_sizes(tmp_path):
    """benchmarks/device_check.py is what a session lent a GPU runs first; here its --quick
    form proves the script itself works, so that device time is not lost to a typo."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    # as on the GPU image: no plotly, datasets or widgets (sitecustomize runs before the script)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "sitecustomize.py").write_text(
        "import sys\nfor m in ('plotly', 'datasets', 'ipywidgets', 'anywidget'):\n    sys.modules[m] = None\n")
    env = dict(os.environ, PYTHONPATH=str(bare))
    script = Path(__file__).parents[2] / "benchmarks" / "device_check.py"
    done = subprocess.run([sys.executable, str(script), "--quick", "--device", "cpu", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "device_check.json").read_text())
    assert all(report[k]["ok"] for k in ("same_numbers", "training", "precision", "ratios", "paper_bench"))
    assert report["same_numbers"]["forward"] < 1e-4 and report["ratios"]["speed_up"] > 0
    runs = report["precision"]["runs"]  # issue 23: the policy's choice, and each precision trained and timed
    assert report["precision"]["policy"] == "fp32" and "| precision fp32 (auto) |" in report["device"]
    assert set(runs) == {f"{m}/{p}" for m in ("gam", "transformer", "mamba") for p in ("fp32", "fp16", "bf16")}
    assert all(r["precision"] == k.split("/")[1] and r["tokens_per_s"] > 0 for k, r in runs.items())
    assert all(("loss_scale" in r) == (r["precision"] == "fp16") for r in runs.values())
    assert (tmp_path / "bench" / "bench.json").is_file() and "no chart" in (tmp_path / "bench" / "log.txt").read_text()
