"""`gamlab info`: the models, presets and device this installation offers."""

from __future__ import annotations

from ..config import PRESETS, ModelConfig
from ..model import build_model, list_models
from ..runtime import describe, pick_device


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="list models and presets, with parameter counts, and the device")
    p.add_argument("--preset", default="paper", help="preset whose parameter counts to show (default: paper)")
    p.add_argument("--device", default="auto")
    p.set_defaults(run=run)


def run(args) -> int:
    print(describe(pick_device(args.device)))
    config = ModelConfig.preset(args.preset)
    print(f"\npresets: {', '.join(PRESETS)}   (counts below: preset {args.preset!r})")
    for name, description in list_models().items():
        n = build_model(name, config).num_params()
        print(f"  {name:<18} {n:>12,d}  {description}")
    return 0
