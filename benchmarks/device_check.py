"""Every check that needs a GPU, in one run: what a session lent a device runs first.

    python3 benchmarks/device_check.py --out DIR                       # on the GPU machine: CUDA
    python3 benchmarks/device_check.py --out DIR --quick --device cpu  # tiny sizes: tries the script

It needs torch, numpy, einops and tqdm, not an installed gamlab (the repository root is put on
the import path) nor plotly or datasets: what a bare GPU image holds.

1. Same numbers on the device: each block (gam, transformer, mamba, gam-fw) in its optimized forms
   against its reference forms (gamlab.blocks.optimized) in float32, and GAM's two forms under the
   autocast of the device's precision policy (gamlab.runtime.pick_precision: bf16 or fp16 on CUDA).
2. Training: a tiny GAM language model on the embedded corpus through the Trainer (in the
   policy's precision); the loss must fall and stay finite.
3. Precision (issue 23): the policy's choice for this device (its compute capability, native
   bf16 or not), then GAM, the Transformer and Mamba trained through the Trainer in fp32, fp16
   (loss scaling) and bf16 each: loss finite, steps the scaler skipped, tokens/s per precision
   and its ratio to fp32 (an explicit bf16 on a GPU without bf16 hardware records its warning).
4. Issue 6's ratios on the device: the default block against the reference block at the
   paper's width (C=512, B=16, T=1024), and the fraction of the device's matmul rate reached.
5. The paper's Table 2 on the device: `gamlab bench --preset paper` (T up to 8192, the fair
   Transformer included), written to DIR/bench.

Each check runs even when an earlier one failed; DIR/device_check.json is rewritten after
every check (a run cut short keeps what it measured), the bench's own output goes to
DIR/bench/log.txt, and the exit status is 1 when any check failed.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository's gamlab, installed or not

from gamlab import ModelConfig, build_model  # noqa: E402
from gamlab.experiments.bench import build_block, flops, matmul_rate, time_blocks  # noqa: E402
from gamlab.runtime import (  # noqa: E402
    PrecisionWarning,
    autocast,
    describe,
    native_bf16,
    pick_device,
    pick_precision,
    seed_everything,
)
from gamlab.training.data import load_data  # noqa: E402
from gamlab.training.train import TrainConfig, Trainer  # noqa: E402


def same_numbers(device: torch.device, quick: bool) -> dict:
    C, S, B, T = (32, 16, 2, 24) if quick else (128, 512, 4, 256)
    diffs = {}
    for name in ("gam", "transformer", "mamba", "gam-fw"):
        seed_everything(0)
        opt, ref = (build_block(name, d_model=C, n_slots=S, optimized=f).to(device).eval() for f in (True, False))
        ref.load_state_dict(opt.state_dict())
        x = torch.randn(B, T, C, device=device, requires_grad=True)
        outs, grads = [], []
        for block in (opt, ref):
            y = block(x)
            outs.append(y.detach())
            grads.append(torch.autograd.grad(y.square().sum(), x)[0])
        diffs[name] = {"forward": float((outs[0] - outs[1]).abs().max()),
                       "input_grad": float((grads[0] - grads[1]).abs().max() / grads[1].abs().max())}
        if name == "gam":
            with autocast(device):  # the whole block in the policy's precision, as it trains on this device
                mixed = [block(x).detach().float() for block in (opt, ref)]
            diffs[name]["forward_autocast"] = float((mixed[0] - mixed[1]).abs().max() / mixed[1].abs().max())
    diffs["forward"] = max(d["forward"] for d in diffs.values())
    assert diffs["forward"] < 1e-4 and all(d["input_grad"] < 1e-4 for k, d in diffs.items() if k != "forward"), diffs
    assert diffs["gam"]["forward_autocast"] < 5e-2, diffs  # bf16 keeps about 3 significant digits, fp16 about 4
    return diffs


def training(device: torch.device, quick: bool) -> dict:
    steps, T, batch = (20, 32, 8) if quick else (200, 128, 32)
    data = load_data("embedded", block_size=T, batch_size=batch, n_stories=300 if quick else 6000)
    seed_everything(0)
    model = build_model("gam", ModelConfig.preset("tiny", vocab_size=data.vocab_size, block_size=T))
    tc = TrainConfig.preset("tiny", steps=steps, eval_every=steps // 2, eval_batches=4, batch_size=batch,
                            device=str(device))
    trainer = Trainer(model, tc, data.get_batch, progress=False)
    untrained = trainer.evaluate(4)
    losses = [h["val_loss"] for h in trainer.fit()]
    assert all(map(math.isfinite, losses)) and losses[-1] < untrained - 0.5, (untrained, losses)
    return {"steps": steps, "untrained_val_loss": untrained, "val_loss": losses,
            "tokens_per_s": trainer.history[-1]["tokens_per_s"]}


def precision(device: torch.device, quick: bool) -> dict:
    """The policy's choice here, and each precision's training steps and throughput per model."""
    # full: the paper's model width (C=512, 6 layers, S=512) at T=256, batch 32, as Colab would train it
    steps, warm, T, batch, preset = (4, 1, 32, 8, "tiny") if quick else (30, 5, 256, 32, "paper")
    data = load_data("embedded", block_size=T, batch_size=batch, n_stories=300 if quick else 6000)
    report = {"policy": pick_precision(device), "sizes": dict(preset=preset, T=T, B=batch, steps=steps)}
    if device.type == "cuda":
        report["capability"] = ".".join(map(str, torch.cuda.get_device_capability(device)))
        report["native_bf16"] = native_bf16(device)
    runs = {}
    for name in ("gam", "transformer", "mamba"):
        for chosen in ("fp32", "fp16", "bf16"):
            seed_everything(0)
            model = build_model(name, ModelConfig.preset(preset, vocab_size=data.vocab_size, block_size=T))
            tc = TrainConfig.preset("tiny", steps=steps, eval_every=steps, eval_batches=2, batch_size=batch,
                                    warmup_steps=2, device=str(device), precision=chosen)
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always", PrecisionWarning)
                trainer = Trainer(model, tc, data.get_batch, progress=False)
            trainer.fit(warm)  # kernels chosen, memory allocated: not timed below
            seconds, tokens = trainer.elapsed, trainer.meter.tokens
            trainer.fit()
            run = {"precision": trainer.precision, "val_loss": trainer.history[-1]["val_loss"],
                   "train_loss": trainer.history[-1]["train_loss"], "skipped_steps": trainer.skipped_steps,
                   "tokens_per_s": (trainer.meter.tokens - tokens) / (trainer.elapsed - seconds),
                   "warning": "; ".join(str(w.message) for w in said) or None}
            if trainer.scaler.is_enabled():
                run["loss_scale"] = trainer.scaler.get_scale()
            runs[f"{name}/{chosen}"] = run
            print(f"   {name:<12} {chosen}: val loss {run['val_loss']:.3f}, {run['tokens_per_s']:,.0f} tokens/s, "
                  f"{run['skipped_steps']} skipped", flush=True)
    for key, run in runs.items():
        run["vs_fp32"] = run["tokens_per_s"] / runs[key.split("/")[0] + "/fp32"]["tokens_per_s"]
    report["runs"] = runs
    bad = [k for k, r in runs.items() if not math.isfinite(r["val_loss"]) or r["skipped_steps"] >= steps - warm]
    assert not bad, f"not finite, or every step skipped: {bad}"
    return report


def ratios(device: torch.device, quick: bool) -> dict:
    C, B, T, S, repeats = (32, 2, 64, 16, 3) if quick else (512, 16, 1024, 512, 20)
    seed_everything(0)
    gam, ref = build_block("gam", C, S).to(device), build_block("gam-reference", C, S).to(device)
    ref.load_state_dict(gam.state_dict())
    t = time_blocks({"gam": gam, "gam-reference": ref}, T, B, C, S, device, repeats)
    rate = matmul_rate(device)
    return {"sizes": dict(C=C, B=B, T=T, S=S), "ms": {n: r["ms"] for n, r in t.items()},
            "speed_up": t["gam-reference"]["ms"] / t["gam"]["ms"], "matmul_gflops": rate / 1e9,
            "gam_fraction_of_matmul": flops("gam", T, B, C, S) / (t["gam"]["ms"] / 1e3) / rate}


def paper_bench(device: torch.device, quick: bool, out: Path) -> dict:
    sizes = (["--lengths", "32,64", "--batch-size", "2", "--d-model", "32", "--slots", "16", "--no-memory"] if quick
             else ["--preset", "paper"])
    (out / "bench").mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "gamlab", "bench", *sizes, "--device", str(device), "--out", str(out / "bench")]
    with open(out / "bench" / "log.txt", "w") as log:  # the table as it is measured, kept if cut short
        code = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=420).returncode
    print((out / "bench" / "log.txt").read_text()[-4000:])
    assert code == 0, f"gamlab bench exited with {code}; see bench/log.txt"
    return json.loads((out / "bench" / "bench.json").read_text())["summary"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for device_check.json and the bench files")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to try the script itself")
    args = ap.parse_args()
    device, out = pick_device(args.device), Path(args.out)
    if device.type != "cuda" and not args.quick:
        raise SystemExit(f"no CUDA device here ({device}): the full sizes are for a GPU; add --quick to try the script")
    out.mkdir(parents=True, exist_ok=True)
    report = {"device": describe(device)}
    print(report["device"], flush=True)
    checks = {"same_numbers": lambda: same_numbers(device, args.quick), "training": lambda: training(device, args.quick),
              "precision": lambda: precision(device, args.quick), "ratios": lambda: ratios(device, args.quick),
              "paper_bench": lambda: paper_bench(device, args.quick, out)}
    for name, check in checks.items():
        start = time.perf_counter()
        try:
            report[name] = {"ok": True, **check()}
        except Exception as exc:  # report and go on: one device run should say everything it can
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
        report[name]["seconds"] = round(time.perf_counter() - start, 1)
        print(f"== {name}: {json.dumps(report[name], default=str)[:1500]}", flush=True)
        (out / "device_check.json").write_text(json.dumps(report, indent=1, default=str))
    sys.exit(0 if all(report[n]["ok"] for n in checks) else 1)


if __name__ == "__main__":
    main()
