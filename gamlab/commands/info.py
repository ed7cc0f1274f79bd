"""`gamlab info`: the models, presets and device this installation offers.

    gamlab info                        # the models of the preset tiny, as `gamlab compare` trains them
    gamlab info --preset paper         # ... of the preset paper (on the embedded stories: a BPE of 660 tokens)

The counts are those of the models `gamlab compare` (and `gamlab train`) build with the same
--preset, --dataset and --tokenizer: the preset's model at the vocabulary its tokenizer gets
on that data (so the tokenizer is trained here, as the run would), with Mamba's budget knob
matched to GAM's count.
"""

from __future__ import annotations

from ..experiments.runs import PRESETS, load_run_data, race_configs
from ..model import list_models, shapes_only
from ..runtime import describe, pick_device
from .common import add_device_argument, add_preset_arguments, preset_name


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="list models and presets, with parameter counts, and the device")
    add_preset_arguments(p)
    add_device_argument(p)
    p.set_defaults(run=run)


def model_counts(args) -> tuple[str, dict[str, int]]:
    """(a line naming the preset, data and vocabulary, {model: parameter count}) for the options."""
    preset = PRESETS[preset_name(args)]
    data = load_run_data(preset, preset.train, args.dataset, args.tokenizer)
    configs = race_configs(list_models(), preset, data.vocab_size)
    about = (f"preset {preset.name!r} on {data.name}: block {preset.model.block_size}, {data.tokenizer.kind} "
             f"tokenizer, vocabulary {data.vocab_size}")
    return about, {name: shapes_only(name, config).num_params() for name, config in configs.items()}


def run(args) -> int:
    print(describe(pick_device(args.device)))
    about, counts = model_counts(args)
    print(f"\npresets: {', '.join(PRESETS)}   (counts below: {about}, as `gamlab compare` builds them)")
    for name, description in list_models().items():
        print(f"  {name:<18} {counts[name]:>12,d}  {description}")
    return 0
