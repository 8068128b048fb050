"""Declared streams end to end: continuous conditions per sequence and per step."""

import numpy as np
import pytest
import soundfile as sf
from helpers import mconf, random_model

from audiornn import data as dataset
from audiornn import metrics, streams
from audiornn.cli import data, generate
from audiornn.cli import evaluate as eval_cli
from audiornn.config import run_config
from audiornn.cores.flat import Core
from audiornn.data.windows import WindowSequence
from audiornn.errors import AudioRNNError
from audiornn.evaluation import evaluate as evaluation
from audiornn.runtime.model import load_run
from audiornn.runtime.sampler import Generator
from audiornn.runtime.scoring import Scorer, split_sequences
from audiornn.training.train import train

RATE = 8000


def test_step_core_equals_keras_with_every_kind_of_stream():
    mc = mconf(layers=2, units=16, dry_input=True, n_labels=3,
               vectors=(("knob", 2, "sequence"), ("pos", 1, "step")))
    m = random_model(mc)
    rng = np.random.default_rng(1)
    b, t = 2, 25
    x = {"prev": rng.integers(0, 256, (b, t)).astype("int32"),
         "dry": rng.integers(0, 256, (b, t)).astype("int32"),
         "label": np.array([0, 2], "int32"),
         "knob": rng.normal(size=(b, 2)).astype("float32"),
         "pos": rng.normal(size=(b, t, 1)).astype("float32")}
    ref = np.asarray(m(x))
    core = Core(m, mc)
    bias = core.sequence_bias({"label": np.eye(3)[[0, 2]], "knob": x["knob"]}, b)
    state, steps = core.zero_state(b), []
    for k in range(t):
        inputs = {"prev": x["prev"][:, k], "dry": x["dry"][:, k], "pos": x["pos"][:, k]}
        logits, state = core.step(inputs, bias, state)
        steps.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(steps, 1), ref, atol=1e-4)
    seq, _ = core.run({"prev": x["prev"], "dry": x["dry"], "pos": x["pos"]}, bias, core.zero_state(b))
    np.testing.assert_allclose(np.asarray(seq), ref, atol=1e-4)


def test_per_step_condition_dataset_windows_and_scoring(tmp_path):
    items = []
    for k in range(2):
        x = 0.5 * np.sin(2 * np.pi * 300 * np.arange(3000) / RATE)
        sf.write(tmp_path / f"{k}.wav", x, RATE, subtype="FLOAT")
        it = dataset.Item(streams={"target": str(tmp_path / f"{k}.wav")}, name=f"{k}.wav")
        it.step_values = {"ramp": np.linspace(0, 1, 3000)[:, None] + k}
        items.append(it)
    meta = dataset.build(items, tmp_path / "ds", dataset.DataConfig(sample_rate=RATE, val_fraction=0.5),
                         job="generate")
    assert meta["conditions"] == {"ramp": {"per": "step", "size": 1, "file": "ramp.npy"}}
    ds = dataset.open_dataset(tmp_path / "ds")
    mc = mconf(layers=1, units=8, vectors=(("ramp", 1, "step"),))
    seq = WindowSequence(ds, "train", 64, 4, 3, steps=1, streams=mc.streams)
    x, y, _ = seq[0]
    assert x["ramp"].shape == (3, 64, 1)
    # The value at a step is the one aligned with the predicted target code.
    s, _ = seq._train_starts(0)[0]
    np.testing.assert_allclose(x["ramp"][0, :, 0], ds.step_values["ramp"][s + 1:s + 65, 0])
    np.testing.assert_array_equal(y[0], ds.streams["target"][s + 1:s + 65])
    m = random_model(mc)
    seqs = evaluation.dataset_sequences(ds, "val")
    got = Scorer(m, run_config(mc), chunk=500).score(seqs)
    tgt = seqs[0]["target"]
    prev = np.concatenate([[128], tgt[:-1]]).astype("int32")
    logits = np.asarray(m({"prev": prev[None], "ramp": seqs[0]["step_values"]["ramp"][None]}))[0]
    from scipy.special import log_softmax

    logp = log_softmax(logits, axis=-1)
    assert got["bits"] == pytest.approx(-np.mean(logp[np.arange(len(tgt)), tgt]) / np.log(2), abs=1e-3)


@pytest.fixture(scope="module")
def amp_run(tmp_path_factory):
    """Noise whose level is a per-sequence condition (data --conditions), trained briefly.

    Noise's level is slow to infer from a short past, and windows are short with
    no burn-in, so the model gains by following the condition.
    """
    tmp = tmp_path_factory.mktemp("amp")
    (tmp / "src").mkdir()
    rows = ["file,amp"]
    rng = np.random.default_rng(0)
    for k, amp in enumerate([0.1, 0.9, 0.1, 0.9, 0.1, 0.9]):
        x = np.clip(0.3 * amp * rng.standard_normal(int(0.6 * RATE)), -1, 1)
        sf.write(tmp / "src" / f"t{k}.wav", x, RATE, subtype="FLOAT")
        rows.append(f"t{k}.wav,{amp}")
    (tmp / "amp.csv").write_text("\n".join(rows) + "\n")
    assert data.main([str(tmp / "src"), "--out", str(tmp / "ds"), "--sample-rate", str(RATE),
                      "--preemphasis", "0", "--conditions", str(tmp / "amp.csv"),
                      "--val-fraction", "0.34", "-q"]) == 0
    from audiornn.config import TrainConfig

    train(tmp / "ds", tmp / "run", options=dict(layers=1, units=32, embedding=16),
          train_cfg=TrainConfig(window=32, burn_in=0, batch_size=32, epochs=1, steps_per_epoch=300,
                                learning_rate=1e-2), verbose=0)
    return tmp


def test_trained_model_follows_a_continuous_condition(amp_run, capsys):
    run = amp_run / "run"
    _, cfg = load_run(run)
    assert [s.name for s in cfg.model.streams] == ["prev", "amp"]
    assert cfg.job.conditions["amp"]["min"] == [0.1] and cfg.job.conditions["amp"]["max"] == [0.9]
    rms = {}
    for amp in ("0.1", "0.9"):
        out = amp_run / f"gen{amp}.wav"
        assert generate.main([str(run), "--out", str(out), "--seconds", "0.5", "--cond", f"amp={amp}",
                              "-q"]) == 0
        x, _ = sf.read(out)
        rms[amp] = float(np.sqrt(np.mean(x ** 2)))
    # The training noise has RMS 0.03 at 0.1 and 0.27 at 0.9: generated levels follow the condition.
    assert rms["0.9"] > 3 * rms["0.1"], rms
    # Scored in short pieces (as trained) with the other level, held-out audio is less likely.
    model, cfg = load_run(run)
    seqs = split_sequences(evaluation.dataset_sequences(dataset.open_dataset(amp_run / "ds"), "val"), 32)
    swapped = [{**s, "values": {"amp": [1.0 - s["values"]["amp"][0]]}} for s in seqs]
    scorer = Scorer(model, cfg)
    assert scorer.score(swapped)["bits"] > scorer.score(seqs)["bits"] + 0.05
    # Scoring sees the condition too: held-out bits far below a uniform guess.
    assert eval_cli.main([str(run), "-q"]) == 0
    assert "model" in capsys.readouterr().out


def test_condition_errors(amp_run, tmp_path, capsys):
    run = amp_run / "run"
    gen = Generator.from_run(run)
    with pytest.raises(AudioRNNError, match="unknown condition"):
        gen.conditions({"gain": [1.0]}, 1)
    assert generate.main([str(run), "--out", str(tmp_path / "x.wav"), "--cond", "amp=abc"]) == 2
    assert "not a number" in capsys.readouterr().err
    (tmp_path / "bad.csv").write_text("file,amp\nt0.wav,1\n")
    assert data.main([str(amp_run / "src"), "--out", str(tmp_path / "ds"),
                      "--conditions", str(tmp_path / "bad.csv")]) == 2
    assert "no line for t1.wav" in capsys.readouterr().err
    (tmp_path / "bad2.csv").write_text("name,amp\n")
    assert data.main([str(amp_run / "src"), "--out", str(tmp_path / "ds"),
                      "--conditions", str(tmp_path / "bad2.csv")]) == 2
    assert "header" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()
    assert metrics.LN2 > 0


class Doubled(streams.Kind):
    """A kind nothing else knows: a per-sequence value fed to the model doubled (its own
    Keras features and its own fold into the first layer)."""

    pers = ("sequence",)

    def features(self, s, x):
        import keras

        return keras.layers.Rescaling(2.0, name=f"{s.name}_double")(x)

    def fold(self, s, model, rows):
        return 2.0 * rows

    def condition(self, s, value, batch, gen):
        return np.tile(np.asarray([0.5] if value is None else value, np.float64), (batch, 1))


@pytest.mark.parametrize("core", ["flat", "tiered"])
def test_a_new_stream_kind_is_one_class(monkeypatch, core):
    """Registering the class is all it takes: the builder, both step cores and the sampling
    loop call its methods (the README's "add a stream kind")."""
    from audiornn.config import ModelConfig
    from audiornn.cores import make_core
    from audiornn.runtime.model import build_model
    from audiornn.streams import Stream, code_stream

    monkeypatch.setitem(streams.KINDS, "doubled", Doubled())
    mc = ModelConfig.make(streams=(code_stream("prev", "target", 6),
                                   Stream("gain", "doubled", "sequence", "gain", 1)),
                          layers=1, units=8, core=core, frame=4, sample_units=8)
    m = build_model(mc)
    rng = np.random.default_rng(0)
    x = {"prev": rng.integers(0, 256, (2, 12)).astype("int32"),
         "gain": np.array([[0.3], [-1.0]], "float32")}
    c = make_core(m, mc)
    seq, _ = c.run({"prev": x["prev"]}, c.sequence_bias({"gain": x["gain"]}, 2), c.zero_state(2))
    np.testing.assert_allclose(np.asarray(seq), np.asarray(m(x)), atol=1e-4)
    codes = np.concatenate(list(Generator(m, run_config(mc), chunk=8).sample(10, seed=1)), axis=1)
    assert codes.shape == (1, 10)
