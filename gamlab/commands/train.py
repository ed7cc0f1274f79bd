"""`gamlab train --model NAME --out DIR`: one model, checkpoints, and exact resume.

    gamlab train --model gam --out runs/gam --steps 60 --checkpoint-every 20
    gamlab train --model gam --out runs/gam --steps 60 --resume     # after an interruption

--steps counts the run's total optimizer steps, so the resumed run stops where an
uninterrupted one would, with the same losses (CPU, same seed). The folder then holds
checkpoint.pt (model, optimizer, scheduler, step, random state, configs, tokenizer) and
history.json; gamlab.train.load_run(DIR) rebuilds the model and its tokenizer.
"""

from __future__ import annotations

import json
import math

from .checkpoint import checkpoint_path, load_checkpoint
from .compare import (add_common_arguments, check_fits, guess_vocab, load_job_data, model_config, resolve_job,
                      sample, show_progress)
from .cli import out_folder
from .distributed import is_main, setup
from .errors import GamlabError
from .model import MODELS, build_model, shapes_only
from .runtime import describe, pick_device, seed_everything
from .tokenizer import tokenizer_from_dict


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train one model with checkpoints; --resume continues a run")
    p.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    p.add_argument("--out", required=True, help="run folder: checkpoint.pt and history.json go here")
    add_common_arguments(p)
    p.add_argument("--checkpoint-every", type=int, help="write a checkpoint every N steps (and always at the end)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--stop-after", type=int, metavar="N",
                   help="stop after step N without a final checkpoint, as a crash would (to try --resume)")
    p.set_defaults(run=run)


def run(args) -> int:
    from .train import Trainer

    if args.model not in MODELS:
        raise GamlabError(f"Unknown model {args.model!r}; choose from {', '.join(MODELS)}.")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise GamlabError(f"--checkpoint-every must be a positive number of steps, got {args.checkpoint_every}.")
    job, tc = resolve_job(args)
    tc = tc.replace(checkpoint_every=args.checkpoint_every)
    device = setup(pick_device(args.device))  # under torchrun: join the group first
    out = out_folder(args.out)
    ckpt = checkpoint_path(out)
    saved = None
    if args.resume:
        saved = load_checkpoint(out, model_name=args.model)
    elif ckpt.is_file():
        raise GamlabError(f"{out} already holds a checkpoint; add --resume to continue it, or choose another --out.")
    check_fits(shapes_only(args.model, model_config(job, guess_vocab(job, args))), tc.batch_size, device,
               "fast" if args.fast else args.preset)
    print(describe(device))
    tokenizer = tokenizer_from_dict(saved["tokenizer"]) if saved and saved.get("tokenizer") else None
    data = load_job_data(job, args, tc, tokenizer)
    seed_everything(tc.seed)
    model = build_model(args.model, model_config(job, data.vocab_size))
    trainer = Trainer(model, tc, data.get_batch, val_batches=data.val_batches, out=out,
                      steps_per_epoch=data.steps_per_epoch, progress=show_progress(args),
                      meta={"model_name": args.model, "model_config": model.config.to_dict(),
                            "tokenizer": data.tokenizer.to_dict(), "dataset": data.name})
    if saved is not None:
        step = trainer.resume(ckpt, state=saved)  # read once, above
        print(f"resumed {args.model} from {ckpt} at step {step} of {trainer.total}")
        if step >= trainer.total:
            print("the run is already complete; raise --steps to train further.")
    print(f"training {args.model} ({model.num_params():,} params) on {data.name} for {trainer.total} steps ...", flush=True)
    if args.stop_after is not None and args.stop_after < trainer.total:
        trainer.fit(args.stop_after)
        print(f"stopped after step {trainer.step} as asked; the last checkpoint is step {trainer._last_saved}; "
              f"continue with --resume")
        return 0
    trainer.fit()
    val = trainer.evaluate_full()
    if is_main():  # under torchrun only rank 0 writes
        (out / "history.json").write_text(json.dumps(trainer.history, indent=1))
    for h in trainer.history:
        print(f"step {h['step']:>6d}  train loss {h['train_loss']:.4f}  val loss {h['val_loss']:.4f}  lr {h['lr']:.2e}")
    print(f"final validation loss {val:.4f} (PPL {math.exp(min(val, 50)):.2f}), unigram baseline {data.unigram_loss():.4f}")
    print(f"sample: {sample(trainer.model, data.tokenizer, seed=tc.seed)!r}")
    print(f"checkpoint: {ckpt}")
    return 0
