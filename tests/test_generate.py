import dataclasses

import numpy as np
import pytest
import soundfile as sf
from helpers import mconf, sine_dataset

from audiornn import data as dataset
from audiornn import dsp
from audiornn.cli.generate import main
from audiornn.cores.flat import Core
from audiornn.data.windows import WindowSequence
from audiornn.runtime.model import build_model
from audiornn.runtime.sampler import Generator
from audiornn.training.train import TrainConfig, compile_model, train


def cfg_dict(mc, labels=()):
    from audiornn.config import run_config

    return run_config(mc, labels=labels)


def random_model(mc, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    m = build_model(mc)
    rng = np.random.default_rng(seed)
    for w in m.weights:  # non-zero biases, larger weights: a sharper test
        w.assign(w + rng.normal(0, 0.2, w.shape).astype("float32"))
    return m


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_step_logits_equal_full_sequence_logits(cell, layers):
    mc = mconf(cell=cell, layers=layers, units=24, embedding=8)
    m = random_model(mc)
    codes = np.random.default_rng(1).integers(0, 256, (3, 30)).astype("int32")
    ref = np.asarray(m({"prev": codes}))
    core = Core(m, mc)
    state, steps = core.zero_state(3), []
    bias = core.sequence_bias(None, 3)
    for t in range(30):
        logits, state = core.step({"prev": codes[:, t]}, bias, state)
        steps.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(steps, 1), ref, atol=1e-4)
    seq_logits, _ = core.run({"prev": codes}, bias, core.zero_state(3))
    np.testing.assert_allclose(np.asarray(seq_logits), ref, atol=1e-4)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_compiled_loop_greedy_codes_match_model(cell):
    mc = mconf(cell=cell, layers=2, units=24, embedding=8)
    m = random_model(mc, seed=3)
    g = Generator(m, cfg_dict(mc), chunk=17)
    codes = np.concatenate(list(g.sample(50, batch=2, greedy=True)), axis=1)
    inputs = np.concatenate([np.full((2, 1), dsp.SILENCE_CODE), codes[:, :-1]], axis=1)
    ref = np.argmax(np.asarray(m({"prev": inputs.astype("int32")})), axis=-1)
    assert np.array_equal(codes, ref)


def test_priming_then_stepping_equals_model_over_prime_and_continuation():
    mc = mconf(layers=2, units=24, embedding=8)
    m = random_model(mc, seed=4)
    g = Generator(m, cfg_dict(mc), chunk=13)
    prime = np.random.default_rng(2).integers(0, 256, 40).astype("int32")
    cont = np.concatenate(list(g.sample(30, greedy=True, prime_codes=prime)), axis=1)[0]
    full = np.concatenate([prime, cont])
    logits = np.asarray(m({"prev": full[None, :-1]}))[0]
    assert np.array_equal(np.argmax(logits[len(prime) - 1:], axis=-1), cont)


def test_fixed_seed_reproduces():
    mc = mconf(layers=1, units=16, embedding=8)
    g = Generator(random_model(mc), cfg_dict(mc), chunk=25)
    a = np.concatenate(list(g.sample(60, batch=3, seed=7)), axis=1)
    b = np.concatenate(list(g.sample(60, batch=3, seed=7)), axis=1)
    c = np.concatenate(list(g.sample(60, batch=3, seed=8)), axis=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a[0], a[1])  # streams differ from each other


def test_temperature_sharpens():
    mc = mconf(layers=1, units=16, embedding=8)
    g = Generator(random_model(mc, seed=5), cfg_dict(mc), chunk=200)
    cold = np.concatenate(list(g.sample(400, batch=4, seed=1, temperature=0.05)), axis=1)
    hot = np.concatenate(list(g.sample(400, batch=4, seed=1, temperature=3.0)), axis=1)
    assert len(np.unique(cold)) < len(np.unique(hot))


def test_overfit_model_continues_its_clip_when_primed(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    ds = dataset.open_dataset(sine_dataset(tmp_path, freq=250.0, val_fraction=0.0))
    mc = mconf(units=32, layers=1, embedding=16)
    m = build_model(mc)
    compile_model(m, 2e-2)
    seq = WindowSequence(ds, "train", window=128, burn_in=16, batch_size=16, steps=1, seed=0)
    for i in range(120):
        seq.set_epoch(i)
        m.train_on_batch(*seq[0])
    codes = np.asarray(ds.streams["target"]).astype("int32")
    g = Generator(m, dataclasses.replace(cfg_dict(mc), codec=ds.codec), chunk=100)
    prime = codes[1000:1640]
    cont = np.concatenate(list(g.sample(320, greedy=True, prime_codes=prime)), axis=1)[0]
    truth = codes[1640:1960]
    x = dsp.mu_law_decode(cont)
    y = dsp.mu_law_decode(truth)
    assert np.corrcoef(x, y)[0, 1] > 0.9
    assert np.mean(cont == truth) > 0.5


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gen")
    ds = sine_dataset(tmp)
    train(ds, tmp / "run", options=dict(units=16, layers=1, embedding=8), train_cfg=
          TrainConfig(window=64, burn_in=4, batch_size=4, epochs=1, steps_per_epoch=2),
          verbose=0)
    return tmp / "run"


def run_main(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_cli_writes_requested_length_rate_and_count(tiny_run, tmp_path):
    assert run_main([str(tiny_run), "--out", str(tmp_path / "one.wav"), "--seconds", "0.25",
                     "-q"]) == 0
    i = sf.info(tmp_path / "one.wav")
    assert (i.frames, i.samplerate, i.channels, i.subtype) == (4000, 16000, 1, "PCM_16")
    assert run_main([str(tiny_run), "--out", str(tmp_path / "many"), "--seconds", "0.1",
                     "--num", "3", "--batch-size", "2", "--format", "float", "-q"]) == 0
    files = sorted((tmp_path / "many").glob("*.wav"))
    assert [f.name for f in files] == ["00.wav", "01.wav", "02.wav"]
    assert all(sf.info(f).frames == 1600 and sf.info(f).subtype == "FLOAT" for f in files)
    assert not list((tmp_path / "many").glob(".*"))
    assert run_main([str(tiny_run), "--out", str(tmp_path / "n.wav"), "--seconds", "0.1",
                     "--normalize", "-q"]) == 0
    x, _ = sf.read(tmp_path / "n.wav")
    assert np.max(np.abs(x)) == pytest.approx(10 ** (-1 / 20), abs=1e-3)


def test_cli_prime_any_format(tiny_run, tmp_path):
    t = np.arange(4410) / 44100
    sf.write(tmp_path / "p.flac", np.stack([np.sin(2 * np.pi * 300 * t)] * 2, 1) * 0.5, 44100)
    assert run_main([str(tiny_run), "--out", str(tmp_path / "o.wav"), "--seconds", "0.1",
                     "--prime", str(tmp_path / "p.flac"), "-q"]) == 0
    assert sf.info(tmp_path / "o.wav").frames == 1600


@pytest.mark.parametrize("extra,message", [
    (["--seconds", "0"], "--seconds"),
    (["--temperature", "0"], "--temperature"),
    (["--prime", "BADPRIME"], "not a readable audio"),
    (["--label", "kick"], "no labels"),
])
def test_cli_errors(tiny_run, tmp_path, capsys, extra, message):
    (tmp_path / "bad.wav").write_text("nope")
    extra = [str(tmp_path / "bad.wav") if a == "BADPRIME" else a for a in extra]
    assert run_main([str(tiny_run), "--out", str(tmp_path / "o.wav"), "-q"] + extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"]


def test_cli_missing_run_and_unwritable_output(tiny_run, tmp_path, capsys):
    assert run_main([str(tmp_path / "nope"), "--out", str(tmp_path / "o.wav")]) == 2
    assert "no such run" in capsys.readouterr().err
    assert run_main([str(tiny_run), "--out", str(tmp_path / "no" / "dir" / "o.wav")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "foreign").mkdir()
    assert run_main([str(tmp_path / "foreign"), "--out", str(tmp_path / "o.wav")]) == 2
    assert "not an audiornn run" in capsys.readouterr().err


def test_sampler_draws_from_the_softmax():
    from keras import ops

    from audiornn.runtime.sampler import _decode, uniforms

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, 256).astype("float32")
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    table = ops.convert_to_tensor(dsp.mu_law_decode(np.arange(256)).astype("float32"))
    batch = ops.convert_to_tensor(np.tile(logits, (4000, 1)))
    codes = np.concatenate([np.asarray(_decode(batch, "sample", 1.0, uniforms(3, k, 1, 4000)[0],
                                               table)[0]) for k in range(10)])
    freq = np.bincount(codes, minlength=256) / len(codes)
    assert 0.5 * np.abs(freq - probs).sum() < 0.03  # total variation distance
    assert codes.min() >= 0 and codes.max() <= 255


def test_the_floor_cuts_unlikely_codes_and_renormalizes_the_rest():
    from keras import ops

    from audiornn.runtime.sampler import _decode, uniforms

    rng = np.random.default_rng(1)
    logits = rng.normal(0, 1.5, 256).astype("float32")
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    floor = 0.003
    kept = np.maximum(probs - floor, 0)
    kept /= kept.sum()
    table = ops.convert_to_tensor(dsp.mu_law_decode(np.arange(256)).astype("float32"))
    batch = ops.convert_to_tensor(np.tile(logits, (4000, 1)))
    codes = np.concatenate([np.asarray(_decode(batch, "sample", 1.0, uniforms(5, k, 1, 4000)[0],
                                               table, floor)[0]) for k in range(10)])
    assert set(np.unique(codes)) <= set(np.flatnonzero(probs > floor))  # the noise floor is gone
    freq = np.bincount(codes, minlength=256) / len(codes)
    assert 0.5 * np.abs(freq - kept).sum() < 0.03
    flat = ops.convert_to_tensor(np.zeros((100, 256), "float32"))  # every code at 1/256: never
    codes = np.asarray(_decode(flat, "sample", 1.0, uniforms(0, 0, 1, 100)[0], table, 0.0039)[0])
    assert len(np.unique(codes)) > 20  # a floor above every probability does not cut them all


def test_top_p_draws_only_from_the_nucleus_in_proportion():
    """Nucleus sampling: only the likeliest codes that together hold P of the mass are
    drawn, each as often as its renormalized probability; top_p 1 changes nothing."""
    from keras import ops

    from audiornn.runtime.sampler import _decode, uniforms

    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2.0, 256).astype("float32")
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-probs)
    need = int(np.searchsorted(np.cumsum(probs[order]), 0.8)) + 1  # the smallest set >= 0.8
    nucleus = set(order[:need].tolist())
    kept = np.zeros(256)
    kept[order[:need]] = probs[order[:need]]
    kept /= kept.sum()
    table = ops.convert_to_tensor(dsp.mu_law_decode(np.arange(256)).astype("float32"))
    batch = ops.convert_to_tensor(np.tile(logits, (4000, 1)))
    draw = [np.asarray(_decode(batch, "nucleus", 1.0, uniforms(7, k, 1, 4000)[0], table, 0.0,
                               0.8)[0]) for k in range(10)]
    codes = np.concatenate(draw)
    assert set(np.unique(codes)) <= nucleus
    freq = np.bincount(codes, minlength=256) / len(codes)
    assert 0.5 * np.abs(freq - kept).sum() < 0.03
    whole = np.asarray(_decode(batch, "nucleus", 1.0, uniforms(7, 0, 1, 4000)[0], table, 0.0,
                               1.0)[0])
    plain = np.asarray(_decode(batch, "sample", 1.0, uniforms(7, 0, 1, 4000)[0], table)[0])
    np.testing.assert_array_equal(whole, plain)
