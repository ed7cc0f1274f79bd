"""`gamlab train --model NAME --out DIR`: one model, checkpoints, and exact resume.

    gamlab train --model gam --out runs/gam --steps 60 --checkpoint-every 20
    gamlab train --model gam --out runs/gam --steps 60 --resume     # after an interruption

--steps counts the run's total optimizer steps, so the resumed run stops where an
uninterrupted one would, with the same losses (CPU, same seed). The folder then holds
checkpoint.pt (model, optimizer, scheduler, step, random state, configs, tokenizer) and
history.json; gamlab.training.run_folder.load_run(DIR) rebuilds the model and its tokenizer.
"""

from __future__ import annotations

import json

from ..errors import GamlabError
from ..experiments.runs import (
    check_fits,
    checkpoint_bytes,
    guess_vocab,
    load_run_data,
    make_trainer,
    model_config,
    open_run_folder,
    out_folder,
    sample,
)
from ..model import MODELS, shapes_only
from ..runtime import describe, pick_device
from ..training.checkpoint import check_matches, checkpoint_path
from ..training.distributed import is_main, setup
from ..training.files import write_atomic
from ..training.tokenizer import tokenizer_from_dict
from ..training.train import perplexity
from .common import add_common_arguments, count, resolve_job, show_progress


def saved_tokenizer(state: dict, kind: str):
    """The tokenizer saved in a checkpoint, if it is of the `kind` asked for (else None: refused later)."""
    saved = state.get("tokenizer")
    return tokenizer_from_dict(saved) if saved and saved.get("kind") == kind else None


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train one model with checkpoints; --resume continues a run")
    p.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    p.add_argument("--out", required=True, help="run folder: checkpoint.pt and history.json go here")
    add_common_arguments(p)
    p.add_argument("--checkpoint-every", type=count, help="write a checkpoint every N steps (and always at the end)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--stop-after", type=count, metavar="N",
                   help="stop after step N without a final checkpoint, as a crash would (to try --resume)")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.model not in MODELS:
        raise GamlabError(f"Unknown model {args.model!r}; choose from {', '.join(MODELS)}.")
    preset, tc = resolve_job(args)
    device = setup(pick_device(args.device))  # under torchrun: join the group first
    shapes = shapes_only(args.model, model_config(preset, guess_vocab(preset, args.tokenizer)))
    out = out_folder(args.out, need_bytes=checkpoint_bytes(shapes))  # before any work: writable, room for a checkpoint
    ckpt = checkpoint_path(out)
    saved = open_run_folder(out, args.model, args.resume)
    tokenizer = None
    if saved is not None:
        kind = args.tokenizer or preset.data.get("tokenizer", "char")
        tokenizer = saved_tokenizer(saved, kind)
        # Refuse another run's settings before any work (Trainer.resume checks again, with the data).
        vocab = tokenizer.vocab_size if tokenizer is not None else guess_vocab(preset, args.tokenizer)
        check_matches(saved, ckpt, model_config=model_config(preset, vocab).to_dict(), train_config=tc.recorded(device),
                      tokenizer=None if tokenizer is not None else {"kind": kind})
    check_fits(shapes_only(args.model, model_config(preset, guess_vocab(preset, args.tokenizer))), tc.batch_size,
               device, preset.name)
    print(describe(device, tc.precision))
    data = load_run_data(preset, tc, args.dataset, tokenizer or args.tokenizer)
    trainer = make_trainer(args.model, model_config(preset, data.vocab_size), data, tc, out=out,
                           progress=show_progress(args))
    model = trainer.model
    if saved is not None:
        step = trainer.resume(ckpt, state=saved)  # read once, above
        print(f"resumed {args.model} from {ckpt} at step {step} of {trainer.total}")
        if step >= trainer.total:
            print("the run is already complete; raise --steps to train further.")
    print(f"training {args.model} ({model.num_params():,} params) on {data.name} for {trainer.total} steps ...", flush=True)
    if args.stop_after is not None and args.stop_after < trainer.total:
        trainer.fit(args.stop_after)
        print(f"stopped after step {trainer.step} as asked; the last checkpoint is step "
              f"{trainer.checkpoints.last_saved}; continue with --resume")
        return 0
    trainer.fit()
    val = trainer.evaluate_full()
    if is_main():  # under torchrun only rank 0 writes
        write_atomic(out / "history.json", json.dumps(trainer.history, indent=1),
                     kept=f"the run and its history are in {ckpt}", then="run the same command with --resume")
    for h in trainer.history:
        print(f"step {h['step']:>6d}  train loss {h['train_loss']:.4f}  val loss {h['val_loss']:.4f}  lr {h['lr']:.2e}")
    print(f"final validation loss {val:.4f} (PPL {perplexity(val):.2f}), unigram baseline {data.unigram_loss():.4f}")
    print(f"sample: {sample(trainer.model, data.tokenizer, seed=tc.seed)!r}")
    print(f"checkpoint: {ckpt}")
    return 0
