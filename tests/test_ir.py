"""The cab and the room (runtime/ir.py, train --ir): fitted, streamed, kept, exported."""

import json

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from audiornn import data as dataset
from audiornn.jobs.effect_data import build_pairs
from audiornn.runtime import ir

RATE = 8000


def room(n: int, seed: int = 0, decay_s: float = 0.04) -> np.ndarray:
    """A direct path and a decaying noise tail: a small room's impulse response."""
    rng = np.random.default_rng(seed)
    h = 0.3 * rng.normal(size=n) * np.exp(-np.arange(n) / (decay_s * RATE))
    h[0] = 1.0
    return h


def test_fit_recovers_a_known_impulse_response():
    rng = np.random.default_rng(1)
    h = room(1600)
    pairs = []
    for _ in range(3):  # several pairs, as the training segments are
        x = rng.normal(size=RATE * 2) * 0.2
        pairs.append((x, signal.lfilter(h, [1.0], x)))
    got = ir.fit(pairs, 1600)
    assert got.dtype == np.float32 and got.shape == (1600,)
    np.testing.assert_allclose(got[:1400], h[:1400], atol=2e-3)  # the last 200: the fade


def test_a_stream_in_blocks_equals_the_whole_signal_filtered():
    rng = np.random.default_rng(2)
    h, x = room(700, seed=3).astype(np.float32), rng.normal(size=5000).astype(np.float32)
    conv, ys, i = ir.Convolver(h), [], 0
    for n in (1, 255, 64, 1000, 3, 2000, 1677):  # blocks shorter and longer than h
        ys.append(conv.process(x[i:i + n]))
        i += n
    ref = signal.lfilter(h, [1.0], x)  # scipy's direct form: the independent reference
    np.testing.assert_allclose(np.concatenate(ys), ref, atol=1e-4)
    np.testing.assert_allclose(ir.apply(x, h), ref, atol=1e-4)
    conv.reset()
    np.testing.assert_allclose(conv.process(x[:300]), ref[:300], atol=1e-4)


def test_save_and_load_keep_the_samples(tmp_path):
    h = room(500).astype(np.float32) * 1.7  # float WAV: peaks above 1 survive
    ir.save(tmp_path, h, RATE)
    np.testing.assert_array_equal(ir.load(tmp_path), h)
    assert sf.info(tmp_path / "ir.wav").samplerate == RATE
    assert ir.load(tmp_path / "nowhere") is None


def music(seconds, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
            for f in rng.uniform(80, 900, 4))
    return 0.5 * x / np.max(np.abs(x))


def test_train_with_ir_learns_an_amp_in_a_room(tmp_path, capsys):
    """A drive followed by a room that rings longer than the network remembers: --ir fits
    the room, keeps it because it lowers the validation ESR, applies it in generate --input
    (equal to the network's stream filtered by scipy) and exports it beside the model."""
    from audiornn.cli import export as export_cli
    from audiornn.cli import generate
    from audiornn.cli import train as train_cli
    from audiornn.runtime.effect import Effect
    from audiornn.runtime.model import load_run

    x = music(8.0, seed=5)
    sf.write(tmp_path / "dry.wav", x, RATE)
    sf.write(tmp_path / "wet.wav", 0.5 * signal.lfilter(room(2400, decay_s=0.08), [1.0], np.tanh(3 * x)),
             RATE)
    build_pairs([(tmp_path / "dry.wav", tmp_path / "wet.wav")], tmp_path / "ds",
                dataset.DataConfig(sample_rate=RATE, preemphasis=0.0, val_fraction=0.25))
    run = tmp_path / "run"
    assert train_cli.main([str(tmp_path / "ds"), "--run", str(run), "--core", "flat", "--units", "8",
                           "--epochs", "2", "--steps-per-epoch", "15", "--window", "256",
                           "--burn-in", "8", "--ir", "0.4", "-q"]) == 0
    h = ir.load(run)
    assert h is not None and len(h) == int(0.4 * RATE)
    model, cfg = load_run(run)
    ds = dataset.open_dataset(tmp_path / "ds")
    without = Effect(model, cfg).segment_esr(ds)
    saved = json.loads((run / "validation.json").read_text())
    assert saved["esr"] < 0.5 * without  # the room, which the network alone cannot hold
    assert "with the impulse response (ir.wav)" in capsys.readouterr().out
    assert generate.main([str(run), "--input", str(tmp_path / "dry.wav"), "--format", "float",
                          "--no-normalize", "--out", str(tmp_path / "out.wav"), "-q"]) == 0
    y = sf.read(tmp_path / "out.wav", dtype="float32")[0]
    net = Effect(model, cfg).stream(sf.read(tmp_path / "dry.wav", dtype="float32")[0])
    np.testing.assert_allclose(y, signal.lfilter(h, [1.0], net), atol=1e-4)
    assert export_cli.main([str(run), "--format", "aidax", "--out", str(tmp_path / "amp.json")]) == 0
    side, rate = sf.read(tmp_path / "amp.ir.wav", dtype="float32")
    assert rate == RATE
    np.testing.assert_array_equal(side, h)


def test_ir_needs_an_effect_run(tmp_path, capsys):
    from helpers import sine_dataset

    from audiornn.cli import train as train_cli

    sine_dataset(tmp_path, rate=RATE)
    assert train_cli.main([str(tmp_path / "ds"), "--run", str(tmp_path / "run"), "--ir", "0.5",
                           "--epochs", "1", "--steps-per-epoch", "1", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--ir" in err[0] and "regression" in err[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("seconds", ["-1", "11"])
def test_ir_length_is_checked(seconds, tmp_path, capsys):
    from audiornn.cli import train as train_cli

    with pytest.raises(SystemExit) as e:  # argparse: one line, exit 2
        train_cli.main([str(tmp_path / "nope"), "--run", str(tmp_path / "run"), "--ir", seconds])
    assert e.value.code == 2
    assert "--ir" in capsys.readouterr().err
