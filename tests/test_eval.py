import json
import math

import numpy as np
import pytest
from helpers import mconf, sine_dataset
from scipy import signal

from audiornn import dsp, metrics
from audiornn.cli.evaluate import main
from audiornn.config import run_config
from audiornn.runtime.model import build_model
from audiornn.runtime.scoring import Scorer
from audiornn.training.train import TrainConfig, train


def known_model(probs, mc):
    """A model whose every prediction is `probs`: zero output kernel, bias log(probs)."""
    m = build_model(mc)
    dense = m.get_layer("logits")
    dense.kernel.assign(np.zeros(dense.kernel.shape, "float32"))
    dense.bias.assign(np.log(probs).astype("float32"))
    return m


@pytest.mark.parametrize("mc", [mconf(layers=1, units=8, embedding=4),
                                mconf(cell="gru", layers=2, units=8, embedding=4,
                                            feedback=False, dry_input=True)])
def test_known_distribution_gives_its_exact_bits(mc):

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(256) * 0.3)
    probs = np.maximum(probs, 1e-6)
    probs /= probs.sum()
    m = known_model(probs, mc)
    cfg = run_config(mc)
    seqs = [{"target": rng.integers(0, 256, n).astype("int32"),
             "input": rng.integers(0, 256, n).astype("int32")} for n in (5000, 1234, 1)]
    out = Scorer(m, cfg, chunk=999, batch=2).score(seqs)
    codes = np.concatenate([s["target"] for s in seqs])
    expected = float(-np.mean(np.log2(probs[codes])))
    assert out["samples"] == len(codes)
    assert out["bits"] == pytest.approx(expected, abs=1e-4)
    assert out["accuracy"] == pytest.approx(np.mean(codes == np.argmax(probs)))


def test_scorer_carries_state_like_one_pass():
    """Chunked scoring equals the Keras model run over the whole sequence at once."""

    import keras

    keras.utils.set_random_seed(1)
    mc = mconf(layers=2, units=16, embedding=8)
    m = build_model(mc)
    codes = np.random.default_rng(2).integers(0, 256, 700).astype("int32")
    prev = np.concatenate([[dsp.SILENCE_CODE], codes[:-1]]).astype("int32")
    logp = keras.ops.convert_to_numpy(keras.ops.log_softmax(m({"prev": prev[None]}), axis=-1))[0]
    expected = -np.mean(logp[np.arange(700), codes]) / math.log(2)
    out = Scorer(m, run_config(mc), chunk=64).score([{"target": codes}])
    assert out["bits"] == pytest.approx(expected, abs=1e-4)


def test_lpc_beats_unigram_on_an_ar_signal():
    rng = np.random.default_rng(0)
    x = signal.lfilter([1.0], [1.0, -1.6, 0.9], rng.standard_normal(60000))
    codes = dsp.mu_law_encode(0.5 * x / np.max(np.abs(x)))
    train, test = codes[:50000], codes[50000:]
    ub, _ = metrics.unigram_score(metrics.unigram(train), test)
    lpc = metrics.LPC(16).fit([train])
    lb, la = lpc.score(test)
    assert lb < ub - 1.0
    # The discretized Laplace is a distribution over the 256 bins.
    lp = lpc.log_probs(np.array([-1.2, -0.3, 0.0, 0.01, 0.7, 1.0]))
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-9)


def test_spectral_numbers_catch_noise_and_silence():
    rate = 16000
    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal(rate)
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    assert metrics.spectral_flatness(noise, rate) > 0.9
    assert metrics.spectral_flatness(tone, rate) < 0.05
    quiet = np.concatenate([tone[:8000], np.zeros(8000)])
    assert metrics.silent_fraction(quiet) == pytest.approx(0.5, abs=0.07)
    assert metrics.spectral_distance_db(tone, tone, rate) == 0.0
    assert metrics.spectral_distance_db(tone, noise, rate) > 10


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evalrun")
    ds = sine_dataset(tmp, seconds=(1.0, 1.0, 0.5), freq=250.0)
    run = tmp / "run"
    train(ds, run, options=dict(layers=1, units=16, embedding=8), train_cfg=
          TrainConfig(window=128, burn_in=8, batch_size=4, epochs=2, steps_per_epoch=3),
          verbose=0)
    return run, ds


def test_eval_cli_writes_plots_json_and_table(tiny_run, tmp_path, write_wav, capsys):
    run, _ = tiny_run
    other = write_wav("other.wav", 0.3 * np.sin(np.arange(8000) * 0.1), rate=8000)
    rc = main([str(run), "--generate", "0.3", "--audio", str(other), "--lpc-order", "16", "-q"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "bits/sample" in out and "LPC-16" in out and "unigram" in out
    result = json.loads((run / "eval.json").read_text())
    for key in ("format", "version", "run", "job", "sample_rate", "curves", "heldout",
                "generated", "plots", "skipped"):
        assert key in result
    assert result["curves"]["epochs"] == 2
    names = [h["name"] for h in result["heldout"]]
    assert names == ["validation split", "--audio files"]
    for h in result["heldout"]:
        for k in ("model", "unigram", "lpc"):
            assert 0 < h[k]["bits"] <= 16 and 0 <= h[k]["accuracy"] <= 1
    g = result["generated"]
    assert set(g["clips"]["generated"]) >= {"spectral_distance_db", "silent_fraction", "flatness",
                                            "level_match", "periodic_fraction",
                                            "stuck_silence_fraction"}
    assert len(result["plots"]) == 4  # curves, spectrograms, spectra, levels
    for p in result["plots"]:
        data = open(p, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_eval_errors_and_skips(tiny_run, tmp_path, capsys):
    run, ds = tiny_run
    # No run at all.
    assert main([str(tmp_path / "nope"), "-q"]) == 2
    # A dataset with other DSP settings than the run's.
    other = sine_dataset(tmp_path, seconds=(0.5, 0.5), name="other", rate=8000)
    assert main([str(run), "--dataset", str(other), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "sample_rate" in err and "error" in err
    # No history: the curves are skipped with a reason, the rest is still made.
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(run, bare)
    (bare / "history.csv").unlink()
    assert main([str(bare), "-q"]) == 0
    result = json.loads((bare / "eval.json").read_text())
    assert result["curves"] is None and "history.csv" in result["skipped"]["curves"]
    assert result["heldout"][0]["model"]["bits"] > 0


def test_level_and_periodicity_checks_tell_tones_noise_and_clicks_apart():
    rate = 16000
    t = np.arange(2 * rate) / rate
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    noise = 0.3 * np.random.default_rng(0).standard_normal(len(t))
    clicks = np.zeros(len(t))
    clicks[::4000] = 0.9  # a click every quarter second over silence
    quiet = 0.003 * np.random.default_rng(1).standard_normal(len(t))  # -50 dBFS noise
    ref = metrics.active_median_db(tone)
    assert ref == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.5)
    assert metrics.periodic_fraction(tone, rate) == 1.0
    assert metrics.periodic_fraction(noise, rate) == 0.0
    assert metrics.periodic_fraction(clicks, rate) == 0.0
    assert metrics.level_match(tone, ref) == 1.0
    assert metrics.level_match(noise, ref) == 1.0  # same level, another sound
    assert metrics.level_match(quiet, ref) == 0.0
    assert metrics.level_match(clicks, ref) < 0.5
    half_silent = np.concatenate([tone[:rate], np.zeros(rate)])
    assert metrics.stuck_silence_fraction(half_silent, rate) == pytest.approx(0.5, abs=0.05)
    assert metrics.stuck_silence_fraction(tone, rate) == 0.0


def clip(rms_dbfs, level_match):
    return {"seconds": 8.0, "silent_fraction": 0.0, "flatness": 0.03, "rms_dbfs": rms_dbfs,
            "voiced_fraction": 0.1, "level_match": level_match}


@pytest.mark.parametrize("gen_db,temperature,hint", [
    (-30.3, 1.0, "--temperature 1.1"),  # a real-speech run in the quiet trap (eval.json's values)
    (-26.0, 1.1, "--temperature 1.2"),  # hotter than it was sampled
    (-20.6, 1.0, None),                 # the same voice's healthy run: no hint
    (-12.0, 1.0, None),                 # louder than real is not the quiet trap
])
def test_eval_names_the_quiet_trap_and_a_hotter_temperature(gen_db, temperature, hint):
    from audiornn.evaluation import report

    g = {"clips": {"generated": clip(gen_db, 0.07)}, "real": clip(-18.8, 0.83),
         "temperature": temperature}
    lines = report.table({"generated": g})
    assert ("next step" in lines) == (hint is not None)
    if hint:
        assert hint in lines and "quiet codes" in lines
    # A --compare file that is quiet is the user's, not the model's: no hint for it.
    g = {"clips": {"mine.wav": clip(-40.0, 0.0)}, "real": clip(-18.8, 0.83)}
    assert "next step" not in report.table({"generated": g})
