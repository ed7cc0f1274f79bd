"""Ctrl-C during Trainer.fit (a notebook's stop button) stops at a step boundary: fit() again ends
exactly where an uninterrupted run does, for every model family (gamlab/training/stopping.py Interrupt).

The stop button delivers SIGINT to the kernel's main thread; `_thread.interrupt_main()` calls the
main thread's SIGINT handler the same way, from a timer thread or from inside the step.
"""

import _thread
import random
import signal
import threading
import time

import pytest
import torch

from gamlab import ModelConfig, build_model, seed_everything
from gamlab.model import list_models
from gamlab.training.checkpoint import load_checkpoint
from gamlab.training.train import TrainConfig, Trainer

STEPS = 6
V, T, B = 24, 12, 4


def _batches(split, step):
    g = torch.Generator().manual_seed(step if split == "train" else 10_000 + step)
    x = torch.randint(0, V, (B, T + 1), generator=g)
    return x[:, :-1], x[:, 1:]


def _model(name):
    seed_everything(0)
    cfg = ModelConfig.preset("tiny", vocab_size=V, block_size=T, d_model=16, n_layer=1, n_head=2, n_slots=8,
                             dropout=0.1)  # dropout: the random state matters too
    return build_model(name, cfg)


def _trainer(name, out=None):
    tc = TrainConfig.preset("tiny", steps=STEPS, eval_every=2, eval_batches=1, batch_size=B, warmup_steps=2)
    return Trainer(_model(name), tc, _batches, out=out, progress=False)


def _same_run(trainer, whole):
    """trainer ended exactly where the uninterrupted `whole` did."""
    assert trainer.step == whole.step == STEPS
    assert trainer.scheduler.last_epoch == STEPS
    counts = {int(s["step"]) for s in trainer.optimizer.state_dict()["state"].values()}
    assert counts == {STEPS}, counts  # every parameter updated exactly STEPS times
    assert [(h["step"], h["train_loss"], h["val_loss"], h["lr"]) for h in trainer.history] == \
           [(h["step"], h["train_loss"], h["val_loss"], h["lr"]) for h in whole.history]
    for (k, p), q in zip(trainer.model.state_dict().items(), whole.model.state_dict().values()):
        assert torch.equal(p, q), k


@pytest.fixture
def quiet_sigint():
    """SIGINT raises KeyboardInterrupt (Python's default) only while `live[0]`: around fit() calls.
    Outside them a late timer's SIGINT is ignored, so it cannot land in the test's own code."""
    live = [False]

    def handler(signum, frame):
        if live[0]:
            raise KeyboardInterrupt
    previous = signal.signal(signal.SIGINT, handler)
    yield live
    signal.signal(signal.SIGINT, previous)


def _fit_until_done(trainer, live):
    """fit(); if it was interrupted, fit() again (as a user re-running the cell). Returns interrupts seen."""
    interrupts = 0
    while True:
        try:
            live[0] = True
            trainer.fit()
            return interrupts
        except KeyboardInterrupt:
            interrupts += 1
            assert interrupts < 5
        finally:
            live[0] = False


@pytest.mark.parametrize("name", list(list_models()))
def test_random_interrupts_leave_a_run_that_continues_exactly(name, quiet_sigint):
    _trainer(name).fit()  # a first run warms up the kernels; the second is timed
    whole = _trainer(name)
    t0 = time.perf_counter()
    whole.fit()
    duration = time.perf_counter() - t0  # scales the delays to this machine; nothing asserts on it
    rng = random.Random(name)
    seen = []
    for _ in range(20):
        trainer = _trainer(name)
        armed, lock = [True], threading.Lock()

        def fire():
            with lock:
                if armed[0]:
                    _thread.interrupt_main()
        # A delay within the run's length: lands in any part of a step, or (rarely) after the run.
        timer = threading.Timer(rng.uniform(0, 1.2 * duration), fire)
        timer.start()
        try:
            seen.append(_fit_until_done(trainer, quiet_sigint))
        finally:
            with lock:
                armed[0] = False
            timer.join()
        _same_run(trainer, whole)
    print(name, "interrupted:", sum(seen), "of", len(seen))


@pytest.mark.parametrize("k", range(STEPS))
def test_interrupt_between_optimizer_step_and_step_counter(k, quiet_sigint, tmp_path):
    """The issue's case: the interrupt arrives right after optimizer.step(), before the counter moves."""
    whole = _trainer("gam")
    whole.fit()
    trainer = _trainer("gam", out=tmp_path)
    calls = []

    def hook(opt, args, kwargs):
        calls.append(1)
        if len(calls) == k + 1:
            _thread.interrupt_main()
    handle = trainer.optimizer.register_step_post_hook(hook)
    with pytest.raises(KeyboardInterrupt, match=f"stopped after step {k + 1} of {STEPS}"):
        trainer.fit()
    assert trainer.step == k + 1  # the step that was under way counted whole
    assert load_checkpoint(tmp_path)["step"] == k + 1  # and was saved: nothing lost
    handle.remove()
    trainer.fit()
    _same_run(trainer, whole)
    resumed = _trainer("gam", out=tmp_path / "again")
    resumed.resume(tmp_path)  # the checkpoint written at the interrupt continues exactly too
    if k + 1 < STEPS:
        resumed.fit()
        _same_run(resumed, whole)


def test_second_interrupt_during_forward_ends_at_once_and_undoes_the_step(quiet_sigint):
    """Two presses while the forward runs: fit ends in that step, with nothing of it kept."""
    whole = _trainer("gam")
    whole.fit()
    trainer = _trainer("gam")
    forwards = []

    def twice(module, args):
        forwards.append(module.training)
        if forwards.count(True) == 3 and module.training:  # in step 3's forward
            _thread.interrupt_main()
            torch.rand(1)  # the first press is handled here (a flag) and moves the random state ...
            _thread.interrupt_main()  # ... the second raises KeyboardInterrupt at once
            torch.rand(1)
    handle = trainer.model.register_forward_pre_hook(twice)
    with pytest.raises(KeyboardInterrupt, match="interrupted twice"):
        trainer.fit()
    assert trainer.step == 2 and trainer.meter.window["n"] == 0  # step 3 left no trace in the counts
    handle.remove()
    trainer.fit()
    _same_run(trainer, whole)


def test_interrupt_outside_the_main_thread_handler_is_left_alone():
    """Where SIGINT is ignored, fit installs nothing (and restores whatever was there)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _trainer("gam").fit(2)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
