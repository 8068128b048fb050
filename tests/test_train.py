import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from helpers import mconf, sine_dataset, warm_averages

from audiornn import data as dataset
from audiornn.cli.train import main
from audiornn.config import run_config
from audiornn.data.windows import WindowSequence
from audiornn.runtime.model import build_model, load_run, save_model_atomic
from audiornn.training.train import TrainConfig, compile_model, train

TINY = dict(units=32, layers=1, embedding=16)


def run_main(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_tiny_model_overfits_a_one_second_clip(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    ds = dataset.open_dataset(sine_dataset(tmp_path, freq=250.0, val_fraction=0.0))
    seq = WindowSequence(ds, "train", window=128, burn_in=16, batch_size=16, steps=1, seed=0)
    model = build_model(mconf(**TINY))
    compile_model(model, 2e-2)
    x, y, w = seq[0]
    first = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)["loss"]
    for i in range(80):
        seq.set_epoch(i)
        model.train_on_batch(*seq[0])
    x, y, w = seq[0]
    last = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)["loss"]
    assert first > 5.0  # about ln 256 at the start
    assert last < first / 10, (first, last)


def test_burn_in_positions_carry_zero_weight(tmp_path):
    ds = dataset.open_dataset(sine_dataset(tmp_path, val_fraction=0.0))
    seq = WindowSequence(ds, "train", window=64, burn_in=20, batch_size=4, seed=0)
    x, y, w = seq[0]
    assert np.all(w[:, :20] == 0) and np.all(w[:, 20:] == 1)
    model = build_model(mconf(**TINY))
    compile_model(model, 1e-3)
    a = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    y2 = y.copy()
    y2[:, :20] = (y2[:, :20] + 97) % 256  # change only burned-in targets
    b = model.evaluate(x, y2, sample_weight=w, verbose=0, return_dict=True)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)
    assert a["bits"] == pytest.approx(a["loss"] / np.log(2), rel=1e-5)
    y3 = y.copy()
    y3[:, 30] = (y3[:, 30] + 97) % 256  # a scored target does change the loss
    c = model.evaluate(x, y3, sample_weight=w, verbose=0, return_dict=True)
    assert c["loss"] != pytest.approx(a["loss"], rel=1e-6)


def test_save_load_identical_logits(tmp_path):
    cfg = mconf(cell="gru", units=24, layers=2, embedding=8)
    model = build_model(cfg)
    run = tmp_path / "run"
    run.mkdir()
    run_config(cfg).save(run)
    save_model_atomic(model, run / "model.keras")
    loaded, _ = load_run(run)
    x = np.random.default_rng(0).integers(0, 256, (2, 50)).astype("int32")
    assert np.array_equal(model({"prev": x}).numpy(), loaded({"prev": x}).numpy())


def test_cli_one_short_epoch_writes_run(tmp_path):
    ds = sine_dataset(tmp_path, seconds=(1.0, 0.5))
    run = tmp_path / "run"
    argv = [str(ds), "--run", str(run), "--epochs", "1", "--steps-per-epoch", "2",
            "--window", "128", "--burn-in", "8", "--units", "16", "--layers", "1",
            "--batch-size", "4", "-q"]
    assert run_main(argv) == 0
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["units"] == 16 and cfg["codec"]["sample_rate"] == 16000
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert len(rows) == 1 and {"loss", "bits", "val_bits", "accuracy"} <= set(rows[0])
    assert (run / "model.keras").exists()
    assert not list(run.glob(".best-epoch*"))
    load_run(run)
    # The same command again refuses to overwrite; --resume with other flags refuses too.
    assert run_main(argv) == 2
    assert run_main(argv + ["--resume", "--units", "32"]) == 2


@pytest.mark.parametrize("argv,message", [
    (["NOPE", "--run", "R"], "no such dataset"),
    (["FOREIGN", "--run", "R"], "not an audiornn dataset"),
    (["DS", "--run", "R", "--window", "100000"], "longer than every"),
    (["DS", "--run", "R", "--window", "64", "--burn-in", "64"], "--burn-in"),
    (["DS", "--run", "R", "--resume"], "nothing to resume"),
    (["DS", "--run", "R", "--learning-rate", "0"], "--learning-rate"),
    (["DS", "--run", "R", "--lr-decay", "0"], "--lr-decay"),
])
def test_cli_errors(tmp_path, capsys, argv, message):
    ds = sine_dataset(tmp_path)
    (tmp_path / "foreign").mkdir()
    names = {"NOPE": tmp_path / "nope", "FOREIGN": tmp_path / "foreign", "DS": ds,
             "R": tmp_path / "run"}
    argv = [str(names.get(a, a)) for a in argv]
    assert run_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)


def test_newer_dataset_version_is_refused(tmp_path, capsys):
    ds = sine_dataset(tmp_path)
    meta = json.loads((ds / "dataset.json").read_text())
    meta["version"] = 99
    (ds / "dataset.json").write_text(json.dumps(meta))
    assert run_main([str(ds), "--run", str(tmp_path / "r")]) == 2
    assert "newer" in capsys.readouterr().err


def test_killed_run_resumes_and_finishes(tmp_path):
    ds = sine_dataset(tmp_path, seconds=(2.0, 0.5))
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "audiornn", "train", str(ds), "--run", str(run), "--epochs", "6",
           "--steps-per-epoch", "6", "--window", "128", "--burn-in", "8", "--units", "16",
           "--layers", "1", "--batch-size", "4", "--patience", "100", "-q"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = run / "history.csv"
    deadline = time.time() + 120
    while time.time() < deadline:
        if history.exists() and len(history.read_text().strip().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(history.read_text().strip().splitlines()) - 1
    assert 2 <= done < 6, "the run should be killed part-way"
    load_run(run)  # still readable after SIGKILL
    r = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    epochs = [int(row["epoch"]) for row in csv.DictReader(open(history))]
    assert epochs == list(range(6))
    load_run(run)


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    ds = sine_dataset(tmp_path)
    code = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from audiornn.training.train import train, TrainConfig
        h = train({str(ds)!r}, {str(tmp_path / "run")!r},
                  options=dict(units=16, layers=1, embedding=8), train_cfg=
                  TrainConfig(window=64, burn_in=4, batch_size=4, epochs=1, steps_per_epoch=3,
                              strategy="mirrored"), verbose=0)
        import tensorflow as tf
        print("replicas", tf.distribute.get_strategy().num_replicas_in_sync, h["loss"])
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "MirroredStrategy" in r.stderr or "replicas" in r.stdout
    load_run(tmp_path / "run")


def test_train_function_returns_history(tmp_path):
    ds = sine_dataset(tmp_path)
    h = train(ds, tmp_path / "run", options=dict(**TINY), train_cfg=
              TrainConfig(window=64, burn_in=4, batch_size=4, epochs=2, steps_per_epoch=2,
                          sample_every=1, sample_seconds=0.05),
              verbose=0)
    assert len(h["loss"]) == 2 and "val_bits" in h
    import soundfile as sf

    previews = sorted((tmp_path / "run" / "samples").glob("*.wav"))
    assert [p.name for p in previews] == ["epoch0001.wav", "epoch0002.wav"]
    assert sf.info(previews[0]).frames == 800


def test_lr_decay_falls_geometrically_over_the_epochs_or_the_budget(tmp_path):
    """--lr-decay F: the step size at each epoch's start is start x F^progress, the progress
    being the epochs done or, with a budget, the time spent, whichever is further; the
    optimizer that trains is the one that gets it."""
    import keras

    from audiornn.training.callbacks import LearningRateDecay

    def rates(callback, epochs):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        seen = []
        log = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs: seen.append(float(model.optimizer.learning_rate)))
        model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=epochs, verbose=0,
                  callbacks=[callback, log])
        return np.array(seen)

    by_epochs = rates(LearningRateDecay(0.01, 0.1, epochs=5), 5)
    np.testing.assert_allclose(by_epochs, 0.01 * 0.1 ** (np.arange(5) / 4), rtol=1e-5)
    spent = LearningRateDecay(0.01, 0.1, epochs=1000, seconds=1e-9)  # the budget is gone
    np.testing.assert_allclose(rates(spent, 2), [0.001, 0.001], rtol=1e-5)
    d = sine_dataset(tmp_path)
    h = train(d, tmp_path / "run", options=dict(**TINY), train_cfg=TrainConfig(
        window=64, burn_in=4, batch_size=4, epochs=2, steps_per_epoch=2, lr_decay=0.5),
        verbose=0)
    assert len(h["loss"]) == 2


def test_ema_validates_with_the_averaged_weights_and_resumes(tmp_path):
    """--ema M: the average does not change training (the same seed trains the same
    weights: the same first epoch's training loss; later epochs may part, as the step size
    follows validation), but validation uses it (another validation loss); a run with it
    resumes."""
    d = sine_dataset(tmp_path, freq=250.0)

    def run(name, ema, epochs=3, resume=False):
        cfg = TrainConfig(window=128, burn_in=16, batch_size=16, epochs=epochs, steps_per_epoch=20,
                          learning_rate=2e-2, ema=ema, patience=100)
        return train(d, tmp_path / name, options=dict(**TINY), train_cfg=cfg, verbose=0,
                     resume=resume)

    plain, avg = run("plain", 0.0), run("ema", 0.99)
    np.testing.assert_allclose(avg["loss"][0], plain["loss"][0], rtol=1e-5)
    a, b = avg["val_loss"][0], plain["val_loss"][0]
    assert abs(a - b) > 0.01 * max(a, b)  # without the swap they would be the same weights
    more = run("ema", 0.99, epochs=4, resume=True)
    assert len(more["val_loss"]) == 1


def test_the_weight_average_warms_up():
    """Keras' average takes the full momentum from the second step: at 0.99 a 100-step run
    would still hold a third of its starting weights. Ours follows the warm-up formula."""
    got, want = warm_averages()
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.abs(got[-1]).min() > 0.1  # it moved: the start (zeros) is forgotten


def test_mixed_precision_keeps_the_logits_in_float32():
    import keras

    from audiornn.config import ModelConfig
    from audiornn.runtime.model import build_model

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        for core in ("flat", "tiered"):
            m = build_model(ModelConfig.make(layers=1, units=8, core=core, frame=4, sample_units=8))
            assert m.get_layer("rnn0").compute_dtype == "bfloat16"
            y = m({"prev": np.zeros((1, 8), "int32")})
            assert keras.backend.standardize_dtype(y.dtype) == "float32" and y.shape == (1, 8, 256)
    finally:
        keras.mixed_precision.set_global_policy("float32")
