"""Training throughput (tokens/s) per model on the current device, measured side by side.

    python benchmarks/throughput.py                      # the `gamlab compare` default sizes
    python benchmarks/throughput.py --preset small --steps 10 --models gam,transformer

Each model trains on the same batches with the same optimizer the trainer uses (AdamW,
clipping, the device's precision: gamlab.runtime.pick_precision, or --precision; fp16 with the
trainer's loss scaling). Rounds interleave the models, so a machine that slows down
part way slows all of them; the median round is reported, with the ratio to GAM.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gamlab.experiments.compare import parse_models
from gamlab.experiments.runs import PRESETS, matched_config, model_config
from gamlab.model import build_model
from gamlab.runtime import autocast, describe, pick_device, pick_precision, seed_everything
from gamlab.training.train import make_optimizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny", choices=list(PRESETS))
    ap.add_argument("--models", default="gam,transformer,mamba")
    ap.add_argument("--vocab", type=int, default=None, help="vocabulary size (default: 49 for char presets, 10000 for paper)")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per model per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto", help="auto (the device's policy), bf16, fp16 or fp32")
    args = ap.parse_args()

    device = pick_device(args.device)
    precision = pick_precision(device, args.precision)
    job = PRESETS[args.preset]
    tc = job.train
    B = args.batch_size or tc.batch_size
    vocab = args.vocab or (10_000 if job.data.get("tokenizer") == "bpe" else 49)
    base = model_config(job, vocab)
    target = build_model("gam", base).num_params()
    print(describe(device, precision))
    print(f"preset {args.preset}: batch {B} x {base.block_size} tokens, d_model {base.d_model}, "
          f"{base.n_layer} layers, vocab {vocab}; {args.steps} steps x {args.rounds} rounds per model")
    names = parse_models(args.models)
    runs = {}
    for name in names:
        seed_everything(0)
        model = build_model(name, matched_config(name, base, target)).to(device).train()
        scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")  # as the Trainer's
        runs[name] = (model, make_optimizer(model, tc.lr, tc.weight_decay, tc.betas), scaler)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab, (B, base.block_size + 1), generator=g).to(device)

    def step(model, opt, scaler):
        with autocast(device, precision):
            _, loss = model(x[:, :-1], x[:, 1:])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()

    for run in runs.values():  # warm-up: allocator, kernels, autotuning
        step(*run)
    rates = {name: [] for name in names}
    cpu_rates = {name: [] for name in names}  # tokens per CPU-second: steadier on a busy machine
    for _ in range(args.rounds):
        for name, run in runs.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                step(*run)
            if device.type == "cuda":
                torch.cuda.synchronize()
            rates[name].append(args.steps * B * base.block_size / (time.perf_counter() - t0))
            cpu_rates[name].append(args.steps * B * base.block_size / (time.process_time() - c0))
    ref = statistics.median(rates[names[0]])
    print(f"\n{'model':<18}{'params':>10}{'tokens/s':>12}{'vs ' + names[0]:>10}{'tok/CPU-s':>12}   tokens/s per round")
    for name in names:
        med = statistics.median(rates[name])
        n = runs[name][0].num_params()
        cpu = statistics.median(cpu_rates[name])
        print(f"{name:<18}{n:>10,d}{med:>12,.0f}{med / ref:>10.2f}{cpu:>12,.0f}   "
              + " ".join(f"{r:,.0f}" for r in rates[name]))


if __name__ == "__main__":
    main()
