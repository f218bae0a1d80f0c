"""Phase 2's weight average (trainer.train.averaging): the mean of the last epochs' weights is
kept as the best checkpoint when it validates better than every epoch, and only then.

A one-weight model learns y = 0 from x = 1 by plain SGD, one step an epoch, so every weight is
known: with a large step it overshoots back and forth around 0 (the average of two epochs
lies nearer 0 than either), with a small one it creeps towards 0 (the last epoch is best)."""
import numpy as np
import pytest


def _fit(tmp_path, learning_rate: float, first_epoch: int = 2):
    import keras

    from trainer.train.averaging import WeightAverage
    from trainer.train.checkpoint import BEST_WEIGHTS, BestCheckpoint, RunState

    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(inputs))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    x, y = np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32)
    state = RunState()
    checkpoint = BestCheckpoint(model, tmp_path, state, "phase2")
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(float(model.get_weights()[0][0, 0])))
    model.fit(x, y, validation_data=(x, y), epochs=4, verbose=0,
              callbacks=[record, checkpoint, WeightAverage(checkpoint, first_epoch, (x, y))])
    best = keras.Model(inputs, keras.layers.Dense(1, use_bias=False)(inputs))
    best.load_weights(tmp_path / BEST_WEIGHTS)
    return np.array(seen), float(best.get_weights()[0][0, 0]), state, float(model.get_weights()[0][0, 0])


def test_an_average_that_validates_better_becomes_the_best_checkpoint(tmp_path, capsys):
    seen, best, state, current = _fit(tmp_path, learning_rate=0.95)  # w -> -0.9 w each epoch
    np.testing.assert_allclose(seen, [-0.9, 0.81, -0.729, 0.6561], rtol=1e-5)
    average = seen[2:].mean()
    assert best == pytest.approx(average, rel=1e-5)
    assert state.best_val_loss == pytest.approx(average**2, rel=1e-4) and state.best_epoch == 3
    assert current == pytest.approx(seen[-1], rel=1e-6)  # the model itself keeps its last epoch
    assert "weight average of epochs 3-4" in capsys.readouterr().out


def test_an_average_that_validates_worse_is_not_kept(tmp_path, capsys):
    seen, best, state, _ = _fit(tmp_path, learning_rate=0.1)  # w -> 0.8 w each epoch
    np.testing.assert_allclose(seen, [0.8, 0.64, 0.512, 0.4096], rtol=1e-5)
    assert best == pytest.approx(seen[-1], rel=1e-5)
    assert state.best_val_loss == pytest.approx(seen[-1] ** 2, rel=1e-4)
    assert "not kept" in capsys.readouterr().out


def test_a_single_epoch_is_no_average(tmp_path, capsys):
    seen, best, _, _ = _fit(tmp_path, learning_rate=0.95, first_epoch=3)
    assert best == pytest.approx(seen[-1], rel=1e-5)  # the best single epoch: the swings shrink
    assert "weight average" not in capsys.readouterr().out
