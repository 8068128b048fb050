"""The tiered core: causal, its step math equals the Keras model, it primes, saves and learns."""

import dataclasses

import numpy as np
import pytest
from helpers import mconf, random_model, sine_dataset

from audiornn import dsp
from audiornn.config import run_config
from audiornn.cores import make_core
from audiornn.runtime.model import load_run, save_model_atomic
from audiornn.runtime.sampler import Generator

F = 4


def tiered(labels=0, vectors=(), cell="lstm", layers=2, lpc=0, pitch=0):
    return dataclasses.replace(mconf(cell=cell, layers=layers, units=12, embedding=6, n_labels=labels,
                                     vectors=vectors),
                               core="tiered", options=dict(frame=F, sample_units=10, sample_layers=2,
                                                           lpc=lpc, lpc_history=3 * F, pitch=pitch,
                                                           pitch_window=2 * F))


def inputs(mc, b, t, seed=1):
    rng = np.random.default_rng(seed)
    x = {"prev": rng.integers(0, 256, (b, t)).astype("int32")}
    for s in mc.streams:
        if s.kind == "label":
            x[s.name] = rng.integers(0, s.classes, b).astype("int32")
        elif s.kind == "vector":
            shape = (b, t, s.size) if s.per == "step" else (b, s.size)
            x[s.name] = rng.normal(size=shape).astype("float32")
    return x


def conditions(mc, x):
    out = {}
    for s in mc.streams:
        if s.kind == "label":
            out[s.name] = np.eye(s.classes)[x[s.name]]
        elif s.kind == "vector" and s.per == "sequence":
            out[s.name] = x[s.name]
    return out


def test_causal():
    mc = tiered()
    m = random_model(mc, scale=0.3)
    x = inputs(mc, 1, 32)
    ref = np.asarray(m(x))[0]
    for t in (0, 5, 7, 8, 20):
        y = {k: v.copy() for k, v in x.items()}
        y["prev"][0, t] = (y["prev"][0, t] + 77) % 256  # prev[t] is the code at position t - 1
        out = np.asarray(m(y))[0]
        np.testing.assert_allclose(out[:t], ref[:t], atol=1e-6)
        assert np.abs(out[t] - ref[t]).max() > 1e-4  # and it does see it at once


@pytest.mark.parametrize("cell,labels,vectors,lpc,pitch", [
    ("lstm", 0, (), 0, 0), ("gru", 3, (("knob", 2, "sequence"),), 0, 0),
    ("lstm", 0, (("pos", 1, "step"),), 0, 0), ("lstm", 0, (), 6, 0), ("gru", 2, (), 12, 0),
    ("lstm", 0, (), 0, 11), ("gru", 0, (), 6, 9)])  # lpc: the prediction's order; pitch: its longest lag
def test_step_and_run_equal_teacher_forcing(cell, labels, vectors, lpc, pitch):
    mc = tiered(labels, vectors, cell, lpc=lpc, pitch=pitch)
    m = random_model(mc, scale=0.3)
    b, t = 2, 24
    x = inputs(mc, b, t)
    ref = np.asarray(m(x))
    core = make_core(m, mc)
    bias = core.sequence_bias(conditions(mc, x), b)
    state, steps = core.zero_state(b), []
    per_step = [s.name for s in mc.streams if s.per == "step"]
    for k in range(t):
        logits, state = core.step({n: x[n][:, k] for n in per_step}, bias, state)
        steps.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(steps, 1), ref, atol=1e-4)
    whole, _ = core.run({n: x[n] for n in per_step}, bias, core.zero_state(b))
    np.testing.assert_allclose(np.asarray(whole), ref, atol=1e-4)
    # In chunks (a frame-aligned one, then one that ends mid-frame), the state carried over.
    a, st = core.run({n: x[n][:, :8] for n in per_step}, bias, core.zero_state(b))
    c, st = core.run({n: x[n][:, 8:18] for n in per_step}, bias, st)
    np.testing.assert_allclose(np.concatenate([a, c], 1), ref[:, :18], atol=1e-4)
    # ... and the step loop continues from a run that ended mid-frame.
    for k in range(18, t):
        logits, st = core.step({n: x[n][:, k] for n in per_step}, bias, st)
        np.testing.assert_allclose(np.asarray(logits), ref[:, k], atol=1e-4)


@pytest.mark.parametrize("lpc,pitch", [(0, 0), (8, 0), (0, 10)])
def test_priming_then_sampling_equals_the_model_over_both(lpc, pitch):
    mc = tiered(lpc=lpc, pitch=pitch)
    m = random_model(mc, seed=4, scale=0.3)
    g = Generator(m, run_config(mc), chunk=11)
    prime = np.random.default_rng(2).integers(0, 256, 23).astype("int32")
    cont = np.concatenate(list(g.sample(30, greedy=True, prime_codes=prime)), axis=1)[0]
    full = np.concatenate([prime, cont])
    logits = np.asarray(m({"prev": full[None, :-1]}))[0]
    assert np.array_equal(np.argmax(logits[len(prime) - 1:], axis=-1), cont)


def test_save_and_load_give_identical_logits(tmp_path):
    mc = tiered(labels=2)
    m = random_model(mc, scale=0.3)
    (tmp_path / "run").mkdir()
    run_config(mc, labels=("a", "b")).save(tmp_path / "run")
    save_model_atomic(m, tmp_path / "run" / "model.keras")
    loaded, cfg = load_run(tmp_path / "run")
    assert cfg.model == mc
    x = inputs(mc, 2, 16)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(m(x)))


def test_input_noise_moves_codes_in_training_only(tmp_path):
    """--input-noise: training sees moved previous codes (within the code range); inference,
    the step math and a saved run see the codes as they are."""
    mc = dataclasses.replace(tiered(lpc=4), options={**tiered(lpc=4).options, "input_noise": 3.0})
    m = random_model(mc, scale=0.3)
    x = inputs(mc, 2, 16)
    ref = np.asarray(m(x))
    np.testing.assert_array_equal(ref, np.asarray(m(x, training=False)))
    assert np.abs(np.asarray(m(x, training=True)) - ref).max() > 1e-3
    moved = np.asarray(m.get_layer("input_noise")(x["prev"], training=True))
    assert moved.min() >= 0 and moved.max() <= 255 and 1.0 < np.abs(moved - x["prev"]).mean() < 5.0
    core = make_core(m, mc)
    whole, _ = core.run({"prev": x["prev"]}, core.sequence_bias({}, 2), core.zero_state(2))
    np.testing.assert_allclose(np.asarray(whole), ref, atol=1e-4)
    (tmp_path / "run").mkdir()
    run_config(mc).save(tmp_path / "run")
    save_model_atomic(m, tmp_path / "run" / "model.keras")
    np.testing.assert_array_equal(np.asarray(load_run(tmp_path / "run")[0](x)), ref)


def test_tiny_clip_overfits(tmp_path):
    from audiornn.config import TrainConfig
    from audiornn.training.train import train

    ds = sine_dataset(tmp_path, seconds=(0.5,), val_fraction=0.0)
    hist = train(ds, tmp_path / "run", options=dict(core="tiered", frame=8, layers=1, units=32,
                                                     sample_units=32, embedding=8),
                 train_cfg=TrainConfig(window=128, burn_in=16, batch_size=8, epochs=3,
                                       steps_per_epoch=40, learning_rate=1e-2), verbose=0)
    assert hist["bits"][-1] < 0.5 < hist["bits"][0] - 3, hist["bits"]
    _, cfg = load_run(tmp_path / "run")
    assert cfg.model.core == "tiered" and cfg.model.options["frame"] == 8
    assert dsp.SILENCE_CODE == 128


def test_stateful_windows_continue_and_the_run_loads_stateless(tmp_path):
    from audiornn import data as dataset
    from audiornn.config import TrainConfig
    from audiornn.data.windows import WindowSequence
    from audiornn.training.train import train

    ds_path = sine_dataset(tmp_path, seconds=(1.0, 1.0), val_fraction=0.5)
    ds = dataset.open_dataset(ds_path)
    seq = WindowSequence(ds, "train", 64, 8, 3, steps=6, carry=3)
    (_, y0, _), (x1, _, _), (x3, _, _) = seq[0], seq[1], seq[3]
    np.testing.assert_array_equal(x1["prev"][:, 0], y0[:, -1])  # row j goes on where it was
    assert not np.array_equal(x3["prev"][:, 0], seq[2][1][:, -1])  # new stretches after 3
    hist = train(ds_path, tmp_path / "run", options=dict(core="tiered", frame=8, layers=1, units=16,
                                                          sample_units=16, embedding=8),
                 train_cfg=TrainConfig(window=64, burn_in=8, batch_size=4, epochs=2, steps_per_epoch=6,
                                       stateful=3), verbose=0)
    assert len(hist["val_bits"]) == 2 and np.isfinite(hist["val_bits"]).all()
    model, cfg = load_run(tmp_path / "run")
    assert cfg.train.stateful == 3 and not any(getattr(la, "stateful", False) for la in model.layers)


def test_scorer_chunks_tiered_sequences_exactly():
    from scipy.special import log_softmax

    from audiornn.runtime.scoring import Scorer

    mc = tiered()
    m = random_model(mc, seed=5, scale=0.3)
    codes = np.random.default_rng(3).integers(0, 256, 50).astype("int32")
    prev = np.concatenate([[dsp.SILENCE_CODE], codes[:-1]]).astype("int32")
    logp = log_softmax(np.asarray(m({"prev": prev[None]}))[0], axis=-1)
    want = -np.mean(logp[np.arange(50), codes]) / np.log(2)
    got = Scorer(m, run_config(mc), chunk=10).score([{"target": codes}])  # 10 -> 8: whole frames
    assert got["bits"] == pytest.approx(want, abs=1e-4)
