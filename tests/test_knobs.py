"""Knob captures: --pair ... --knob, a regression model that follows the knob, generate and serve."""

import time

import numpy as np
import pytest
import soundfile as sf

from audiornn import data as dataset
from audiornn.cli import data, generate
from audiornn.training.train import train

RATE = 8000
SETTINGS = (0.0, 0.5, 1.0)


def drive(x, knob):
    return 0.8 * np.tanh((1 + 7 * knob) * x) / np.tanh(1 + 7 * knob)


@pytest.fixture(scope="module")
def knob_pairs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("knobs")
    rng = np.random.default_rng(0)
    t = np.arange(6 * RATE) / RATE
    args = []
    for k in SETTINGS:
        x = 0.7 * np.sin(2 * np.pi * 110 * t) * (0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 0.3 * t)))
        x = x + 0.05 * rng.standard_normal(len(t))
        sf.write(tmp / f"dry{k}.wav", x, RATE, subtype="FLOAT")
        sf.write(tmp / f"wet{k}.wav", drive(x, k), RATE, subtype="FLOAT")
        args += ["--pair", str(tmp / f"dry{k}.wav"), str(tmp / f"wet{k}.wav"), "--knob", f"gain={k}"]
    return tmp, args


def test_knobs_become_a_condition_per_pair(knob_pairs, tmp_path):
    tmp, args = knob_pairs
    assert data.main(args + ["--out", str(tmp_path / "ds"), "--sample-rate", str(RATE)]) == 0
    ds = dataset.open_dataset(tmp_path / "ds")
    assert ds.meta["conditions"]["gain"] == {"per": "sequence", "size": 1, "min": [0.0], "max": [1.0]}
    assert sorted({s.values["gain"][0] for s in ds.segments}) == list(SETTINGS)


@pytest.mark.parametrize("argv,words", [
    (["--knob", "gain=1", "--pair", "a.wav", "b.wav"], "--knob follows the --pair"),
    (["--pair", "a.wav", "b.wav", "--knob", "gain"], "NAME=NUMBER"),
    (["--pair", "a.wav", "b.wav", "--knob", "gain=inf"], "NAME=NUMBER"),
])
def test_bad_knob_options(tmp_path, capsys, argv, words):
    with pytest.raises(SystemExit) as e:
        data.main(argv + ["--out", str(tmp_path / "ds")])
    assert e.value.code == 2 and words in capsys.readouterr().err


def test_every_pair_needs_its_settings(knob_pairs, tmp_path, capsys):
    tmp, args = knob_pairs
    assert data.main(args[:-2] + ["--out", str(tmp_path / "ds"), "--sample-rate", str(RATE)]) == 2
    assert "no --knob settings" in capsys.readouterr().err


def test_a_knob_model_trains_generates_and_serves(knob_pairs, tmp_path, capsys):
    tmp, args = knob_pairs
    data.main(args + ["--out", str(tmp_path / "ds"), "--sample-rate", str(RATE), "-q"])
    train(tmp_path / "ds", tmp_path / "run",
          options={"head": "regression", "epochs": 2, "steps_per_epoch": 10, "window": 256,
                   "burn_in": 16, "batch_size": 8, "units": 8, "sample_every": 1}, verbose=0)
    assert (tmp_path / "run" / "samples" / "epoch0002.wav").exists()  # previews apply the effect
    out = tmp_path / "out.wav"
    assert generate.main([str(tmp_path / "run"), "--input",
                          str(tmp / "dry0.5.wav"), "--knob", "gain=0.25", "--out", str(out)]) == 0
    assert "gain=0.25" in capsys.readouterr().out
    y, rate = sf.read(out)
    assert rate == RATE and len(y) == 6 * RATE and np.all(np.isfinite(y))
    assert generate.main([str(tmp_path / "run"), "--input", str(tmp / "dry0.5.wav"),
                          "--knob", "tone=1", "--out", str(out)]) == 2
    assert "unknown knob 'tone'" in capsys.readouterr().err

    from audiornn.cli import evaluate as evaluation

    assert evaluation.main([str(tmp_path / "run"), "--input", str(tmp / "dry0.5.wav"),
                            "--target", str(tmp / "wet0.5.wav"), "-q"]) == 0
    ev = (tmp_path / "run" / "eval.json").read_text()
    assert '"regression"' in ev and "predicts samples" in ev

    from audiornn.web.server import App

    app = App([tmp_path / "run"], workdir=tmp_path / "srv")
    try:
        run = app.runs()["runs"][0]
        assert run["head"] == "regression"
        assert run["knobs"] == [{"name": "gain", "min": 0.0, "max": 1.0, "value": 0.5}]
        body = (tmp / "dry0.5.wav").read_bytes()
        job = app.submit(run["id"], {"knob.gain": "0.8"}, body)
        for _ in range(1800):  # up to 3 minutes: the suite runs a test per core
            if job.state in ("done", "error"):
                break
            time.sleep(0.1)
        assert job.state == "done", job.error
        assert job.params["knobs"] == {"gain": 0.8}
        assert (tmp_path / "srv" / job.id / "00.wav").exists()
    finally:
        app.close()


def test_knob_pairs_get_one_latency_and_the_odd_one_is_named(tmp_path, caplog):
    """One rig at three settings has one latency: a pair whose estimate differs from the
    median (the clipped blips of a high gain peak late) is aligned to it, with a warning."""
    rng = np.random.default_rng(3)
    args = []
    for k, lag in zip(SETTINGS, (10, 10, 15)):
        x = 0.5 * rng.standard_normal(3 * RATE)
        y = np.concatenate([np.zeros(lag), drive(x, k)])[:len(x)]
        sf.write(tmp_path / f"dry{k}.wav", x, RATE, subtype="FLOAT")
        sf.write(tmp_path / f"wet{k}.wav", y, RATE, subtype="FLOAT")
        args += ["--pair", str(tmp_path / f"dry{k}.wav"), str(tmp_path / f"wet{k}.wav"),
                 "--knob", f"gain={k}"]
    assert data.main(args + ["--out", str(tmp_path / "ds"), "--sample-rate", str(RATE)]) == 0
    ds = dataset.open_dataset(tmp_path / "ds")
    assert [s["latency"] for s in ds.meta["sources"]] == [10, 10, 10]
    assert "wet1.0.wav: latency +15 samples, the pairs' median is +10" in caplog.text
