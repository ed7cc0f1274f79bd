"""Issue 6's performance targets and the optimized forms' payoff, measured side by side in one run.

    .venv/bin/python benchmarks/targets.py [--threads 1] [--repeats 9] [--glibc-default]

0. Each block (gam, transformer, mamba, gam-fw) in its reference forms (as its file writes it),
   in gamlab.blocks.optimized.DEFAULT (what build_model gives) and in DEFAULT plus the opt-in forms, at
   B=8, T=1024, C=128, S=512, all twelve interleaved: the ratios that decide the policy.
1. GAM's default block against the reference block (the speed baseline): speed and
   peak-memory ratio; GAM's memory against the fair Transformer block's.
2. GAM's achieved FLOP/s as a fraction of this machine's plain matmul rate.
3. GAM's growth exponent of time from T=512 to T=2048 (1 = linear).
4. Mamba-style block vs mambapy's block (pip install mambapy) at T=1024, same sizes.
Timed steps alternate between the blocks compared, so load from other processes hits both.
Each time is given as the best (minimum) step and the median step. The targets are judged
on the best: on a shared machine other processes only ever add time (steps of one block vary
by up to 2x here from one second to the next), so the fastest of N interleaved steps is the
closest estimate of what the code itself costs, as `timeit` advises. The median is printed
beside it. Like `gamlab bench`, it lets glibc keep freed memory (gamlab.host_memory.keep_freed_memory).
"""

from __future__ import annotations

import torch
from common import script_options

from gamlab.blocks.optimized import DEFAULT, FORMS
from gamlab.experiments.bench import build_block, flops, growth_exponent, matmul_rate, measure_block, time_blocks

MODELS = ("gam", "transformer", "mamba", "gam-fw")


def alternate(blocks: dict, T: int, repeats: int) -> dict[str, tuple[float, float]]:
    """(best, median) ms of forward+backward per block at B=8, C=128, the blocks' steps interleaved."""
    return {n: (r["ms"], r["ms_median"]) for n, r in time_blocks(blocks, T, repeats=repeats).items()}


def ms(t: tuple[float, float]) -> str:
    return f"{t[0]:.1f} ms (median {t[1]:.1f})"


def speedup(slow: tuple[float, float], quick: tuple[float, float]) -> str:
    return f"{slow[0] / quick[0]:.2f}x (medians: {slow[1] / quick[1]:.2f}x)"


def forms_table(repeats: int) -> dict[str, tuple[float, float]]:
    """Every block in three forms, all steps interleaved: name/form -> (best, median) ms."""
    every = tuple(FORMS)
    blocks = {}
    for name in MODELS:
        ref = build_block(name, optimized=False)
        for label, forms in (("reference", False), ("default", DEFAULT), ("all", every)):
            block = build_block(name, optimized=forms)
            block.load_state_dict(ref.state_dict())
            blocks[f"{name}/{label}"] = block
    return alternate(blocks, 1024, repeats)


def main() -> None:
    args = script_options(__doc__.splitlines()[0], repeats=9)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, float32, B=8 C=128 S=512")
    torch.manual_seed(0)

    opt_in = [n for n in FORMS if n not in DEFAULT]
    t = forms_table(args.repeats)
    print(f"\n0. T=1024, reference/optimized ratios (> 1: the optimized forms pay); default = {', '.join(DEFAULT)};"
          f" all = default + {', '.join(opt_in) or 'nothing'}")
    for name in MODELS:
        ref, default, every = (t[f"{name}/{label}"] for label in ("reference", "default", "all"))
        print(f"   {name:12} reference {ms(ref)}, default {ms(default)} -> {speedup(ref, default)};"
              f" all {ms(every)} -> {speedup(ref, every)}")

    gam, ref = build_block("gam"), build_block("gam-reference")
    ref.load_state_dict(gam.state_dict())
    t = alternate({"gam": gam, "gam-reference": ref}, 1024, args.repeats)
    rate = matmul_rate("cpu")
    mem = {n: measure_block(n, 1024, repeats=1)["peak_mb"] for n in ("gam", "gam-reference", "transformer")}
    print(f"\n1. T=1024: gam {ms(t['gam'])}, gam-reference {ms(t['gam-reference'])}"
          f" -> speed-up {speedup(t['gam-reference'], t['gam'])} (target >= 1.2x, aim 1.5x)")
    print(f"   peak MB: gam {mem['gam']:.0f}, gam-reference {mem['gam-reference']:.0f}, transformer {mem['transformer']:.0f}"
          f" -> gam/reference {mem['gam'] / mem['gam-reference']:.2f} (target <= 1),"
          f" gam/transformer {mem['gam'] / mem['transformer']:.2f} (aim <= 1)")
    work = flops("gam", 1024)
    best, median = (100 * work / (v / 1e3) / rate for v in t["gam"])
    print(f"2. matmul rate {rate / 1e9:.1f} GFLOP/s; gam {work / 1e9:.1f} GFLOP in {ms(t['gam'])}"
          f" = {best:.0f}% of it (median step: {median:.0f}%) (target >= 50%)")

    lengths = [512, 1024, 2048]
    times = [alternate({"gam": gam}, T, max(3, args.repeats // 2))["gam"] for T in lengths]
    best, median = (growth_exponent(lengths, [v[i] for v in times]) for i in (0, 1))
    print(f"3. gam time at T={lengths}: {[round(v[0], 1) for v in times]} ms"
          f" (medians {[round(v[1], 1) for v in times]}) -> exponent {best:.2f} (medians: {median:.2f})"
          f" (target <= 1.1)")

    try:
        from mambapy.mamba import MambaConfig, ResidualBlock
    except ImportError:
        print("4. mambapy not installed (pip install mambapy): Mamba comparison skipped")
        return
    ours = build_block("mamba")
    theirs = ResidualBlock(MambaConfig(d_model=128, n_layers=1, d_state=16, expand_factor=2, d_conv=4)).train()
    t = alternate({"gamlab mamba": ours, "mambapy": theirs}, 1024, max(3, args.repeats // 2))
    print(f"4. T=1024: gamlab mamba {ms(t['gamlab mamba'])}, mambapy {ms(t['mambapy'])}"
          f" -> speed-up {speedup(t['mambapy'], t['gamlab mamba'])} (target >= 1, aim 2x)")


if __name__ == "__main__":
    main()
