import json

import numpy as np
import pytest
import soundfile as sf
from helpers import mconf

from audiornn import data as dataset
from audiornn import dsp, metrics
from audiornn.cli import data, generate
from audiornn.cli import evaluate as evaluation
from audiornn.config import run_config
from audiornn.data.codec import Codec
from audiornn.jobs.effect_data import build_pairs
from audiornn.runtime.model import build_model
from audiornn.runtime.sampler import Generator
from audiornn.training.train import TrainConfig, train

RATE = 8000


def music(seconds, rate=RATE, seed=0):
    """Sines with moving amplitudes, so every code of the range gets visited."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = np.zeros_like(t)
    for f in rng.uniform(80, 900, 4):
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.3, 2) * t)
        x += np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) * envelope
    return 0.5 * x / np.max(np.abs(x))


@pytest.mark.parametrize("shift", [37, -12, 0])
def test_latency_estimation_recovers_a_known_shift(shift):
    rng = np.random.default_rng(1)
    dry = rng.standard_normal(20000)
    wet = np.roll(np.tanh(3 * dry), shift)
    lag, corr = dsp.estimate_latency(dry, wet, 400)
    assert lag == shift
    assert corr > 0.8
    other = rng.standard_normal(20000)
    assert dsp.estimate_latency(dry, other, 400)[1] < 0.1


def test_pair_dataset_aligns_streams_and_reports_latency(tmp_path, write_wav, capsys):
    x = music(2.0)
    delay = 25
    wet = np.concatenate([np.zeros(delay), 0.8 * np.tanh(3 * x)])[: len(x)]
    d = write_wav("dry.wav", x, rate=RATE)
    w = write_wav("wet.wav", wet, rate=RATE)
    rc = data.main([ "--pair", str(d), str(w), "--out", str(tmp_path / "ds"),
                    "--sample-rate", str(RATE), "--preemphasis", "0"])
    assert rc == 0
    assert "latency +25 samples" in capsys.readouterr().out
    ds = dataset.open_dataset(tmp_path / "ds")
    assert ds.job == "effect" and set(ds.streams) == {"input", "target"}
    assert ds.meta["n_codes"] == len(x) - delay
    a = dsp.mu_law_decode(ds.streams["input"]).astype(float)
    b = dsp.mu_law_decode(ds.streams["target"]).astype(float)
    lag, corr = dsp.estimate_latency(a, b, 100)
    assert lag == 0 and corr > 0.9
    # --latency overrides the estimate.
    rc = data.main(["--pair", str(d), str(w), "--out", str(tmp_path / "ds2"),
                    "--sample-rate", str(RATE), "--latency", "0"])
    assert rc == 0
    assert dataset.open_dataset(tmp_path / "ds2").meta["sources"][0]["latency"] == 0


def test_dry_and_wet_dirs_match_by_name(tmp_path, write_wav):
    for k in range(2):
        x = music(1.0, seed=k)
        write_wav(f"dry/take{k}.wav", x, rate=RATE)
        write_wav(f"wet/take{k}.flac", np.tanh(2 * x), rate=RATE)
    rc = data.main(["--dry-dir", str(tmp_path / "dry"), "--wet-dir", str(tmp_path / "wet"),
                    "--out", str(tmp_path / "ds"), "--sample-rate", str(RATE)])
    assert rc == 0
    meta = dataset.read_meta(tmp_path / "ds")
    assert len(meta["sources"]) == 2 and meta["counts"]["val_codes"] > 0
    write_wav("wet/extra.wav", music(1.0), rate=RATE)
    rc = data.main(["--dry-dir", str(tmp_path / "dry"), "--wet-dir", str(tmp_path / "wet"),
                    "--out", str(tmp_path / "ds3"), "--sample-rate", str(RATE)])
    assert rc == 2


def bad_pairs(write_wav):
    x = music(2.0)
    rng = np.random.default_rng(5)
    d = write_wav("dry.wav", x, rate=RATE)
    return {
        "lengths differ": (d, write_wav("long.wav", np.concatenate([x, x[:4000]]), rate=RATE)),
        "silent": (d, write_wav("silent.wav", np.zeros_like(x), rate=RATE)),
        "does not follow": (d, write_wav("other.wav", 0.5 * rng.standard_normal(len(x)), rate=RATE)),
        "channels": (write_wav("dry2.wav", np.stack([x, x], 1), rate=RATE),
                     write_wav("wet4.wav", np.stack([x] * 4, 1), rate=RATE)),
    }


@pytest.mark.parametrize("case", ["lengths differ", "silent", "does not follow", "channels"])
def test_every_bad_pair_gives_its_error(case, tmp_path, write_wav, capsys):
    dry, wet = bad_pairs(write_wav)[case]
    rc = data.main(["--pair", str(dry), str(wet), "--out", str(tmp_path / "ds"),
                    "--sample-rate", str(RATE)])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"pair {dry.name} -> {wet.name}" in err
    assert {"lengths differ": "lengths differ", "silent": "silent",
            "does not follow": "does not follow", "channels": "channels"}[case] in err
    assert not (tmp_path / "ds").exists()


def random_effect_model(feedback, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    mc = mconf(layers=2, units=16, embedding=8, dry_input=True, feedback=feedback)
    m = build_model(mc)
    rng = np.random.default_rng(seed)
    for w in m.weights:
        w.assign(w + rng.normal(0, 0.3, w.shape).astype("float32"))
    cfg = run_config(mc, job="effect", codec=Codec(sample_rate=RATE,
                                                   gains={"input": 1.0, "target": 1.0}))
    return m, cfg


@pytest.mark.parametrize("decode", ["argmax", "mean"])
def test_no_feedback_application_equals_stepwise(decode):
    m, cfg = random_effect_model(feedback=False)
    g = Generator(m, cfg, chunk=97)
    dry = np.random.default_rng(0).integers(0, 256, 300).astype("int32")
    chunks = [dry[i:i + 97] for i in range(0, 300, 97)]
    par = list(g.apply_codes(chunks, decode))
    step = list(g.apply_codes(chunks, decode, stepwise=True))
    np.testing.assert_allclose(np.concatenate([v for _, v in par]),
                               np.concatenate([v for _, v in step]), atol=1e-5)
    assert np.array_equal(np.concatenate([c for c, _ in par]), np.concatenate([c for c, _ in step]))
    # ... and the model itself gives the same argmax in one call.
    if decode == "argmax":
        ref = np.argmax(np.asarray(m({"dry": dry[None]}))[0], axis=-1)
        assert np.array_equal(np.concatenate([c for c, _ in par]), ref)


def test_feedback_model_steps_with_its_own_output():
    m, cfg = random_effect_model(feedback=True, seed=2)
    g = Generator(m, cfg, chunk=50)
    dry = np.random.default_rng(3).integers(0, 256, 120).astype("int32")
    codes = np.concatenate([c for c, _ in g.apply_codes([dry[:50], dry[50:100], dry[100:]])])
    prev = np.concatenate([[dsp.SILENCE_CODE], codes[:-1]]).astype("int32")
    ref = np.argmax(np.asarray(m({"prev": prev[None], "dry": dry[None]}))[0], axis=-1)
    assert np.array_equal(codes, ref)


@pytest.fixture(scope="module")
def drive_run(tmp_path_factory):
    """A tiny input-only model trained on tanh(4x) of a synthetic signal."""
    tmp = tmp_path_factory.mktemp("drive")
    x = music(6.0, seed=1)
    sf.write(tmp / "dry.wav", x, RATE)
    sf.write(tmp / "wet.wav", np.tanh(4 * x), RATE)
    test_x = music(2.0, seed=7)
    sf.write(tmp / "test_dry.wav", test_x, RATE)
    sf.write(tmp / "test_wet.wav", np.tanh(4 * test_x), RATE)
    build_pairs([(tmp / "dry.wav", tmp / "wet.wav")], tmp / "ds",
                        dataset.DataConfig(sample_rate=RATE, preemphasis=0.0))
    train(tmp / "ds", tmp / "run", options=dict(layers=1, units=32, embedding=16, feedback=False,
                                                   head="classes"), train_cfg=
          TrainConfig(window=256, burn_in=4, batch_size=16, epochs=3, steps_per_epoch=60,
                      learning_rate=1e-2), verbose=0)
    return tmp


def test_tiny_model_learns_a_tanh_drive(drive_run, capsys):
    tmp = drive_run
    out = tmp / "out.wav"
    rc = generate.main([str(tmp / "run"), "--input", str(tmp / "test_dry.wav"), "--out", str(out),
                        "-q"])
    assert rc == 0
    y, rate = sf.read(out)
    target = np.tanh(4 * sf.read(tmp / "test_dry.wav")[0])
    assert rate == RATE and len(y) == len(target)
    assert metrics.esr(target, y) < 0.05


def test_apply_keeps_the_input_rate_and_length(drive_run, tmp_path):
    tmp = drive_run
    x = music(0.7, rate=22050, seed=3)
    sf.write(tmp_path / "in.wav", np.stack([x, x], 1), 22050)
    for decode in ("argmax", "mean", "sample"):
        out = tmp_path / f"{decode}.wav"
        assert generate.main([str(tmp / "run"), "--input", str(tmp_path / "in.wav"), "--out",
                              str(out), "--decode", decode, "-q"]) == 0
        info = sf.info(out)
        assert info.samplerate == 22050 and info.frames == len(x) and info.channels == 1


def test_effect_cli_errors(drive_run, tmp_path, capsys):
    tmp = drive_run
    # An effect run needs --input; --input on it with a bad file; --decode mean on generation.
    assert generate.main([str(tmp / "run"), "--out", str(tmp_path / "a.wav"), "-q"]) == 2
    assert "--input" in capsys.readouterr().err.splitlines()[-1]
    (tmp_path / "bad.wav").write_bytes(b"RIFF1234WAVEjunk")
    assert generate.main([str(tmp / "run"), "--input", str(tmp_path / "bad.wav"),
                          "--out", str(tmp_path / "b.wav"), "-q"]) == 2
    assert not (tmp_path / "b.wav").exists()


def test_eval_effect_metrics(drive_run, capsys):
    tmp = drive_run
    rc = evaluation.main([str(tmp / "run"), "--input", str(tmp / "test_dry.wav"),
                          "--target", str(tmp / "test_wet.wav"), "-q"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "ESR" in out and "do nothing" in out
    e = json.loads((tmp / "run" / "eval.json").read_text())["effect"]
    assert e["model"]["esr"] < 0.05
    assert e["do_nothing"]["esr"] > e["dry_gain_matched"]["esr"] > e["model"]["esr"]
    assert e["model"]["snr_db"] > 13
    assert (tmp / "run" / "plots" / "effect.png").stat().st_size > 5000
    assert evaluation.main([str(tmp / "run"), "--input", str(tmp / "test_dry.wav"), "-q"]) == 2


def test_validation_esr_over_whole_segments(tmp_path, capsys):
    """After training, a regression run's validation ESR is measured over the whole validation
    segments from silence with the state carried (what a plugin plays), written beside the
    run, printed with its verdict and put in the NAM export."""
    from audiornn import export
    from audiornn.cli import train as train_cli
    from audiornn.runtime.effect import Effect

    x = music(4.0, seed=2)
    sf.write(tmp_path / "dry.wav", x, RATE)
    sf.write(tmp_path / "wet.wav", np.tanh(3 * x), RATE)
    build_pairs([(tmp_path / "dry.wav", tmp_path / "wet.wav")], tmp_path / "ds",
                dataset.DataConfig(sample_rate=RATE, preemphasis=0.0, val_fraction=0.25))
    assert train_cli.main([str(tmp_path / "ds"), "--run", str(tmp_path / "run"), "--epochs", "2",
                           "--steps-per-epoch", "15", "--units", "8", "--window", "256",
                           "--burn-in", "8", "-q"]) == 0
    saved = json.loads((tmp_path / "run" / "validation.json").read_text())
    # The same figure, computed independently: each validation segment run whole.
    ds, fx = dataset.open_dataset(tmp_path / "ds"), Effect.from_run(tmp_path / "run")
    ys, wets = [], []
    for s in ds.split("val"):
        codes = slice(s.offset, s.offset + s.length)
        fx.reset()
        ys.append(fx.process(ds.codec.decode(np.asarray(ds.streams["input"][codes]), "input")[0]))
        wets.append(ds.codec.decode(np.asarray(ds.streams["target"][codes]), "target")[0])
    assert saved["split"] == "val"
    assert saved["esr"] == pytest.approx(metrics.esr(np.concatenate(wets), np.concatenate(ys)),
                                         rel=1e-3)
    y = np.concatenate(ys)
    assert saved["output_rms_dbfs"] == pytest.approx(10 * np.log10(np.mean(y ** 2)), abs=0.02)
    out = capsys.readouterr().out
    assert f"over the whole val segments {saved['esr']:.3%}" in out
    assert "next step: " in out
    doc = export.to_nam(tmp_path / "run")
    meta = doc["metadata"]
    assert meta["training"]["validation_esr"] == pytest.approx(saved["esr"])
    assert meta["loudness"] == saved["output_rms_dbfs"]
    assert meta["training"]["latency_samples"] == ds.meta["sources"][0]["latency"]
    assert meta["training"]["sample_rate"] == RATE


@pytest.mark.parametrize("esr,minutes,words", [
    ([0.3, 0.2, 0.1], [1, 2, 3], "still falling 50% per minute"),
    ([0.3, 0.2, 0.1], None, "still falling 50% per epoch"),
    ([0.3, 0.2, 0.2], [1, 2, 3], "stopped falling"),
    ([0.03, 0.009], [1, 2], "none needed: export it"),
    ([0.3], [1], "one epoch says little"),
])
def test_the_next_step_follows_the_curve(esr, minutes, words):
    from audiornn.evaluation.report import next_step

    assert words in next_step(esr, minutes)


def test_a_good_knob_model_is_sent_where_knobs_go():
    """NAM's formats hold no knobs: a good WaveNet knob model is applied with generate, a
    good LSTM knob model exported to AIDA-X; a model without knobs goes to NAM."""
    from types import SimpleNamespace

    from audiornn.evaluation.report import next_step
    from audiornn.streams import signal_stream, vector_stream

    def model(core, *knobs):
        return SimpleNamespace(core=core, streams=(signal_stream("dry", "input"),
                                                   *(vector_stream(k, 1) for k in knobs)))

    assert "generate RUN --input FILE --knob drive=V" in next_step([0.005], None, model("wavenet", "drive"))
    assert "--format aidax" in next_step([0.005], None, model("flat", "drive"))
    assert "--format nam" in next_step([0.005], None, model("wavenet"))
    # the verdict's figure (the whole segments') decides, not the windows' best
    assert "none needed" not in next_step([0.02, 0.005], None, model("wavenet"), final=0.016)
    # a ringing rig trained without --ir is told to add it; a dry one is not
    assert "--ir 1.5" in next_step([0.2, 0.2], [1, 2], model("wavenet"), rings=0.096)
    assert "--ir" not in next_step([0.2, 0.2], [1, 2], model("wavenet"), rings=0.0001)


def test_a_wavenet_trains_applies_and_exports_from_the_command_line(tmp_path, capsys):
    """--core wavenet: windows carry the receptive field as burn-in, it learns a drive, and
    generate --input writes what the exported .nam plays (the independent reader)."""
    from readers import run_nam_wavenet

    from audiornn.cli import export as export_cli
    from audiornn.cli import train as train_cli
    from audiornn.config import read_run_config
    from audiornn.cores.wavenet import receptive_field

    x = music(8.0, seed=4)
    sf.write(tmp_path / "dry.wav", x, RATE)
    sf.write(tmp_path / "wet.wav", np.tanh(3 * x), RATE)
    build_pairs([(tmp_path / "dry.wav", tmp_path / "wet.wav")], tmp_path / "ds",
                dataset.DataConfig(sample_rate=RATE, preemphasis=0.0, val_fraction=0.25))
    run = tmp_path / "run"
    assert train_cli.main([str(tmp_path / "ds"), "--run", str(run), "--core", "wavenet",
                           "--shape", "nano", "--epochs", "3", "--steps-per-epoch", "20",
                           "--batch-size", "4", "-q"]) == 0
    cfg = read_run_config(run)
    assert cfg.model.options == {"shape": "nano", "knob_gain": True}  # knobs would scale it
    assert cfg.train.burn_in == receptive_field("nano") - 1 == 4092
    saved = json.loads((run / "validation.json").read_text())
    assert saved["esr"] < 0.5  # learning, from the do-nothing ESR of about 1
    assert "next step: " in capsys.readouterr().out
    assert generate.main([str(run), "--input", str(tmp_path / "dry.wav"), "--format", "float",
                          "--no-normalize", "--out", str(tmp_path / "out.wav"), "-q"]) == 0
    assert export_cli.main([str(run), "--format", "nam", "--out", str(tmp_path / "a.nam")]) == 0
    y = sf.read(tmp_path / "out.wav", dtype="float32")[0]
    dry = sf.read(tmp_path / "dry.wav", dtype="float32")[0]
    np.testing.assert_allclose(y, run_nam_wavenet(tmp_path / "a.nam", dry), atol=1e-4)


def test_the_spectral_term_is_exact_for_a_gain_error_and_skips_the_burn_in():
    """At every resolution, a gain error g gives a spectral convergence of |1 - g| and a
    log-magnitude distance of |ln g|; the burn-in steps do not count."""
    from audiornn.heads.regression import ESRLoss, spectral_rows

    rng = np.random.default_rng(0)
    y = rng.standard_normal((2, 4096 + 300, 1)).astype("float32")
    for g in (0.5, 0.9, 1.25):
        got = np.asarray(spectral_rows(y, g * y, burn_in=300))
        np.testing.assert_allclose(got, abs(1 - g) + abs(np.log(g)), rtol=1e-4)
    wrong_burn_in = y.copy()
    wrong_burn_in[:, :300] = 0
    np.testing.assert_allclose(np.asarray(spectral_rows(y, wrong_burn_in, burn_in=300)), 0,
                               atol=1e-6)
    short = y[:, :400]  # too short for any FFT of the term
    with pytest.raises(Exception, match="--loss-spectral"):
        spectral_rows(short, short)
    plain, both = ESRLoss(300, 0.0), ESRLoss(300, 0.0, spectral=0.5)
    extra = np.asarray(both(y, 0.9 * y)) - np.asarray(plain(y, 0.9 * y))
    np.testing.assert_allclose(extra, 0.5 * (0.1 + abs(np.log(0.9))), rtol=1e-4)
    assert ESRLoss.from_config(both.get_config()).spectral == 0.5
