"""The Trainer's collaborators on their own: batch source, meter, checkpoint file."""

import pytest
import torch

from gamlab.errors import GamlabError
from gamlab.training.trainer_parts import BatchSource, Checkpoints, Meter


def _batch(i):
    x = torch.full((2, 3), i)
    return x, x + 1


def test_an_iterable_source_skips_what_a_resumed_run_consumed():
    source = BatchSource(iter([_batch(i) for i in range(5)]), [_batch(9)], batch_size=2)
    assert int(source.train_batch(3)[0][0, 0]) == 3  # resumed at step 3: items 0..2 are skipped
    assert int(source.train_batch(4)[0][0, 0]) == 4
    with pytest.raises(GamlabError, match="ran out at step 5"):
        source.train_batch(5)
    assert len(source.val_batches(None)) == 1


def test_a_callable_source_gives_validation_batches_up_to_the_limit():
    source = BatchSource(lambda split, step: _batch(step if split == "train" else 100 + step), batch_size=2,
                         eval_batches=3)
    assert int(source.train_batch(7)[0][0, 0]) == 7
    assert [int(x[0, 0]) for x, _ in source.val_batches(None)] == [100, 101, 102]  # eval_batches by default
    assert len(source.val_batches(2)) == 2
    with pytest.raises(GamlabError, match="pass val_batches"):
        BatchSource(iter([]), batch_size=2).val_batches(1)


def test_meter_means_over_the_window_and_restarts_it():
    meter = Meter()
    for loss in (4.0, 2.0):
        meter.start()
        meter.stop(loss, tokens=10, device=torch.device("cpu"))
    entry = meter.record(step=2, val_loss=3.5, lr=1e-3)
    assert list(entry) == ["step", "train_loss", "val_loss", "lr", "tokens_per_s", "elapsed"]
    assert entry["train_loss"] == 3.0 and entry["tokens_per_s"] > 0 and entry["elapsed"] == meter.elapsed > 0
    assert meter.tokens == 20 and meter.window == {"loss": 0.0, "n": 0, "tokens": 0, "time": 0.0}
    again = Meter()
    again.load(meter.state())
    assert again.state() == meter.state()
    old = Meter()
    old.load({})  # a checkpoint saved before the counts existed
    assert old.tokens == 0 and old.window["n"] == 0


def test_checkpoints_are_due_every_n_steps_and_at_the_end(tmp_path):
    every = Checkpoints(tmp_path, every=3)
    assert [s for s in range(1, 11) if every.due(s, total=10)] == [3, 6, 9, 10]
    assert not Checkpoints(None, every=3).due(3, total=10)  # no folder: nothing is written
    assert every.save({"step": 3}, 3) == tmp_path / "checkpoint.pt" and every.last_saved == 3
    assert Checkpoints(None).save({"step": 3}, 3) is None
