"""Regression effects: Effect.process, export to AIDA-X and NAM, checked by independent readers."""

import json

import keras
import numpy as np
import pytest
from helpers import random_model
from readers import run_nam, run_nam_wavenet, run_rtneural

from audiornn import export
from audiornn.cli import export as export_cli
from audiornn.config import JobConfig, ModelConfig, RunConfig, TrainConfig
from audiornn.data.codec import Codec
from audiornn.errors import AudioRNNError
from audiornn.runtime.effect import Effect
from audiornn.runtime.model import save_model_atomic
from audiornn.streams import signal_stream, vector_stream


def regression_run(tmp_path, cell="lstm", units=8, layers=1, skip=False, knobs=(), name="run",
                   seed=0, core="flat", **options):
    streams = (signal_stream("dry", "input"),) + tuple(vector_stream(k, 1) for k in knobs)
    mc = ModelConfig(streams=streams, cell=cell, layers=layers, units=units, head="regression",
                     skip=skip, core=core, options=options)
    model = random_model(mc, seed=seed, scale=0.3)
    run = tmp_path / name
    run.mkdir()
    conditions = {k: {"per": "sequence", "size": 1, "min": [0.0], "max": [1.0]} for k in knobs}
    RunConfig(codec=Codec(sample_rate=48000, preemphasis=0.0, gains={"target": 1.0, "input": 1.0}),
              job=JobConfig(name="effect", conditions=conditions), model=mc,
              train=TrainConfig()).save(run)
    save_model_atomic(model, run / "model.keras")
    return run, model


def signal(n=600, seed=1):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (0.6 * np.sin(2 * np.pi * t / 37) + 0.2 * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("cell,skip,layers", [("lstm", False, 1), ("gru", True, 1), ("lstm", True, 2)])
def test_effect_blocks_match_the_keras_model(tmp_path, cell, skip, layers):
    run, model = regression_run(tmp_path, cell=cell, skip=skip, layers=layers)
    x = signal(700)
    ref = model.predict({"dry": x[None, :, None]}, verbose=0)[0, :, 0]
    fx = Effect.from_run(run)
    whole = fx.process(x)
    fx.reset()
    blocks = np.concatenate([fx.process(x[i:i + 97]) for i in range(0, len(x), 97)])
    np.testing.assert_allclose(whole, ref, atol=1e-5)
    np.testing.assert_allclose(blocks, ref, atol=1e-5)  # the state carries across blocks
    # Offline pieces side by side, each warmed up on the audio before it.
    par = fx.process_parallel(np.tile(x, 8), rows=4, warmup=300, threads=2)
    fx.reset()
    np.testing.assert_allclose(par, fx.process(np.tile(x, 8)), atol=1e-3)


def test_a_file_applied_is_what_the_plugin_plays(tmp_path):
    """generate --input streams the whole file from silence: it equals `Effect.process` on the
    whole signal (what an exported model in a plugin plays), also across blocks, at the
    file's own rate and length."""
    import soundfile as sf

    run, _ = regression_run(tmp_path)
    x = np.tile(signal(4000), 60)  # 5 s at 48 kHz: long enough for offline pieces
    sf.write(tmp_path / "dry.wav", x, 48000, subtype="FLOAT")
    fx = Effect.from_run(run)
    out = fx.process_file(tmp_path / "dry.wav", tmp_path / "wet.wav", fmt="float", block=10007)
    y, rate = sf.read(out, dtype="float32")
    fx.reset()
    assert rate == 48000 and len(y) == len(x)
    np.testing.assert_allclose(y, fx.process(x), atol=1e-4)


def test_knobs_shift_the_output_and_bad_knobs_are_refused(tmp_path):
    run, model = regression_run(tmp_path, knobs=("gain",))
    x = signal(300)
    fx = Effect.from_run(run)
    assert fx.knobs.tolist() == [0.5]  # the middle of the recorded settings
    fx.set_knobs(gain=0.9)
    y = fx.process(x)
    ref = model.predict({"dry": x[None, :, None], "gain": np.array([[0.9]], np.float32)},
                        verbose=0)[0, :, 0]
    np.testing.assert_allclose(y, ref, atol=1e-5)
    with pytest.raises(AudioRNNError, match="unknown knob 'tone'"):
        fx.set_knobs(tone=0.2)
    with pytest.raises(AudioRNNError, match="finite"):
        fx.set_knobs(gain=float("nan"))


@pytest.mark.parametrize("cell,skip,knobs", [("lstm", False, ()), ("gru", True, ()),
                                             ("lstm", True, ("gain", "tone"))])
def test_aidax_export_matches_the_model(tmp_path, cell, skip, knobs):
    run, _ = regression_run(tmp_path, cell=cell, skip=skip, knobs=knobs)
    out = tmp_path / "model.json"
    assert "wrote" in export.export(run, "aidax", out)
    doc = json.loads(out.read_text())
    assert doc["in_shape"] == [None, None, 1 + len(knobs)] and doc["in_skip"] == int(skip)
    x = signal(400)
    fx = Effect.from_run(run)
    setting = {k: 0.2 + 0.5 * i for i, k in enumerate(knobs)}
    fx.set_knobs(**setting)
    np.testing.assert_allclose(run_rtneural(out, x, list(setting.values())), fx.process(x),
                               atol=1e-4)


@pytest.mark.parametrize("layers", [1, 2])
def test_nam_export_matches_the_model(tmp_path, layers):
    run, _ = regression_run(tmp_path, layers=layers, units=12)
    (run / "history.csv").write_text("epoch,loss,esr,val_loss,val_esr\n0,0.1,0.05,0.2,0.031\n")
    out = tmp_path / "amp.nam"
    export_cli.main([str(run), "--format", "nam", "--out", str(out)])
    doc = json.loads(out.read_text())
    assert doc["architecture"] == "LSTM" and doc["sample_rate"] == 48000
    assert doc["config"] == {"num_layers": layers, "input_size": 1, "hidden_size": 12}
    assert doc["metadata"]["training"]["validation_esr"] == pytest.approx(0.031)
    x = signal(400)
    np.testing.assert_allclose(run_nam(out, x), Effect.from_run(run).process(x), atol=1e-4)


@pytest.mark.parametrize("kw,fmt,message", [
    ({"layers": 2}, "aidax", "--layers 1"),
    ({"units": 24}, "aidax", "--units 32"),
    ({"cell": "gru"}, "nam", "--cell lstm"),
    ({"skip": True}, "nam", "without --skip"),
    ({"knobs": ("gain",)}, "nam", "--format aidax"),
])
def test_unexportable_runs_name_the_option(tmp_path, capsys, kw, fmt, message):
    run, _ = regression_run(tmp_path, **kw)
    out = tmp_path / "x.out"
    assert export_cli.main([str(run), "--format", fmt, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_classification_runs_are_refused(tmp_path, capsys):
    from helpers import mconf

    from audiornn.config import run_config

    mc = mconf(feedback=False, dry_input=True)
    run = tmp_path / "run"
    run.mkdir()
    run_config(mc, job="effect").save(run)
    save_model_atomic(random_model(mc), run / "model.keras")
    assert export_cli.main([str(run), "--format", "aidax", "--out", str(tmp_path / "m.json")]) == 2
    assert "--head regression" in capsys.readouterr().err


@pytest.mark.parametrize("skip,knobs,knob_gain", [(False, (), False), (True, ("gain",), False),
                                                  (False, ("gain", "tone"), True)])
def test_wavenet_blocks_match_the_keras_model(tmp_path, skip, knobs, knob_gain):
    """The convolutions' buffers carry across blocks of any size: streaming equals the
    Keras model over the whole signal (longer than the receptive field), knobs included,
    as biases and as the tanh's gain."""
    gain = {"knob_gain": True} if knob_gain else {}  # without: as runs made before it
    run, model = regression_run(tmp_path, core="wavenet", shape="nano", skip=skip, knobs=knobs,
                                **gain)
    assert any("gain0" in x.name for x in model.layers) == knob_gain
    x = signal(6000)
    fx = Effect.from_run(run)
    feed = {"dry": x[None, :, None]}
    values = {"gain": 0.8, "tone": 0.3}
    if knobs:
        fx.set_knobs(**{k: values[k] for k in knobs})
        feed.update({k: np.array([[values[k]]], np.float32) for k in knobs})
    ref = model.predict(feed, verbose=0)[0, :, 0]
    np.testing.assert_allclose(fx.process(x), ref, atol=1e-4)
    fx.reset()
    blocks = np.concatenate([fx.process(x[i:i + 997]) for i in range(0, len(x), 997)])
    np.testing.assert_allclose(blocks, ref, atol=1e-4)
    np.testing.assert_allclose(fx.process_parallel(x), ref, atol=1e-4)  # pieces are exact here


def test_nam_wavenet_export_matches_the_model(tmp_path):
    run, _ = regression_run(tmp_path, core="wavenet", shape="nano")
    out = tmp_path / "amp.nam"
    export_cli.main([str(run), "--format", "nam", "--out", str(out)])
    doc = json.loads(out.read_text())
    assert doc["architecture"] == "WaveNet" and doc["sample_rate"] == 48000
    first, second = doc["config"]["layers"]
    assert (first["channels"], first["head_size"], second["channels"]) == (4, 2, 2)
    assert second["dilations"][:3] == [128, 256, 512] and second["head_bias"]
    x = signal(5000)
    np.testing.assert_allclose(run_nam_wavenet(out, x), Effect.from_run(run).process(x),
                               atol=1e-4)


def test_wavenet_runs_name_what_they_cannot_do(tmp_path, capsys):
    run, _ = regression_run(tmp_path, core="wavenet", shape="nano", skip=True)
    for fmt, message in (("nam", "without --skip"), ("aidax", "--format nam")):
        assert export_cli.main([str(run), "--format", fmt, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    with pytest.raises(AudioRNNError, match="--shape must be one of"):
        ModelConfig(streams=(signal_stream("dry", "input"),), head="regression", core="wavenet",
                    options={"shape": "huge"}).validate()


def test_wavenet_convolutions_start_within_one_over_root_fan_in():
    """The starting weights NAM's trainer uses (PyTorch's default): uniform within
    +-1/sqrt(fan in), so the residual stack starts small, not Keras' Glorot default."""
    from audiornn.runtime.model import build_model

    mc = ModelConfig(streams=(signal_stream("dry", "input"),), head="regression",
                     core="wavenet", options={"shape": "feather"})
    convs = [w for layer in build_model(mc).layers if isinstance(layer, keras.layers.Conv1D)
             for w in layer.get_weights()[:1]]
    assert len(convs) == 2 + 2 * 20 + 19 + 1  # rechannels, convs and mixers, outs, a head
    for kernel in convs:
        bound = 1 / np.sqrt(kernel.shape[0] * kernel.shape[1])
        assert np.max(np.abs(kernel)) <= bound
        if kernel.size >= 64:
            assert 0.45 * bound < np.std(kernel) < 0.7 * bound  # uniform: bound / sqrt(3)
    dilated = [k for k in convs if k.shape == (3, 8, 8)]
    assert len(dilated) == 7 and all(np.any(dilated[0] != k) for k in dilated[1:])  # all differ
