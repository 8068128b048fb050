"""The capture signal: deterministic, recognized at any rate, latency to the sample, replicate ESR."""

import logging

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from audiornn import data as dataset
from audiornn.cli import data
from audiornn.data import capture
from audiornn.jobs.effect_data import build_pairs

RATE = 8000


def amp(x, delay, rate=RATE):
    y = 0.8 * np.tanh(4 * x)
    a = np.exp(-2 * np.pi * 2000 / rate)
    y = signal.lfilter([1 - a], [1, -a], y)
    return np.concatenate([np.zeros(delay), y])[: len(x) + delay]


def test_the_signal_is_deterministic_and_laid_out_as_documented():
    x = capture.capture_signal(RATE, 1.0)
    assert len(x) == 60 * RATE and np.max(np.abs(x)) <= 0.9 + 1e-9
    np.testing.assert_array_equal(x, capture.capture_signal(RATE, 1.0))
    lay = capture.Sections(RATE, len(x))
    (a0, a1), (b0, b1) = lay.val_a, lay.val_b
    np.testing.assert_array_equal(x[a0:a1], x[b0:b1])  # the validation segment, twice
    for s in capture.BLIPS:
        assert x[int(s * RATE)] == 0.5
    assert np.all(x[:int(0.5 * RATE)] == 0)
    with pytest.raises(Exception, match="--minutes"):
        capture.capture_signal(RATE, 0.1)


def test_the_signal_reaches_down_to_a_bass():
    """Recorded music has much of its energy below a guitar's E2 (82 Hz): the octave below
    40 Hz must be played about as loud as the one above, or a model never learns it."""
    x = capture.capture_signal(RATE, 3.0)
    f, p = signal.welch(x, RATE, nperseg=1 << 14)

    def band_db(lo, hi):
        return 10 * np.log10(p[(f >= lo) & (f < hi)].sum())

    assert band_db(20, 40) > band_db(40, 80) - 6
    assert band_db(20, 40) > band_db(80, 160) - 6


def test_recognized_at_another_rate_and_not_otherwise():
    x = capture.capture_signal(24000, 1.0)
    assert capture.recognize(signal.resample_poly(x, 1, 3), RATE)
    assert capture.recognize(x, 24000)
    rng = np.random.default_rng(0)
    assert not capture.recognize(0.1 * rng.standard_normal(len(x)), 24000)
    assert not capture.recognize(np.roll(x, 500), 24000)


@pytest.mark.parametrize("delay", [0, 1, 2, 37, 999, 1500, 2000])
def test_latency_from_the_blips_is_exact(delay):
    x = capture.capture_signal(48000, 1.0)[: 4 * 48000]
    assert capture.latency(x, amp(x, delay, 48000), 48000, 2400) == delay


def test_data_pair_uses_the_blips_the_replicate_and_the_validation_segment(tmp_path, caplog):
    x = capture.capture_signal(RATE, 1.0)
    sf.write(tmp_path / "reamp.wav", x, RATE, subtype="FLOAT")
    sf.write(tmp_path / "rec.wav", amp(x, 123), RATE, subtype="FLOAT")
    caplog.set_level(logging.INFO)
    assert data.main(["--pair", str(tmp_path / "reamp.wav"), str(tmp_path / "rec.wav"),
                      "--out", str(tmp_path / "ds"), "--sample-rate", str(RATE)]) == 0
    ds = dataset.open_dataset(tmp_path / "ds")
    src = ds.meta["sources"][0]
    assert src["capture"] and src["latency"] == 123 and src["replicate_esr"] < 1e-4
    val = ds.split("val")
    lay = capture.Sections(RATE, len(x))
    assert [(s.start, s.length) for s in val] == [(lay.val_b[0], lay.val_b[1] - lay.val_b[0])]
    train = ds.split("train")
    a0, a1 = lay.val_a
    assert all(s.start + s.length <= a0 or s.start >= a1 for s in train)  # A is left out
    assert "replicate ESR" not in caplog.text or "above" not in caplog.text


def test_a_time_varying_recording_draws_the_replicate_warning(tmp_path, caplog):
    x = capture.capture_signal(RATE, 1.0)
    t = np.arange(len(x)) / RATE
    wobble = amp(x, 10)[: len(x)] * (1 + 0.3 * np.sin(2 * np.pi * 0.37 * t))  # a tremolo
    sf.write(tmp_path / "reamp.wav", x, RATE, subtype="FLOAT")
    sf.write(tmp_path / "rec.wav", wobble / np.max(np.abs(wobble)), RATE, subtype="FLOAT")
    build_pairs([(tmp_path / "reamp.wav", tmp_path / "rec.wav")], tmp_path / "ds",
                        dataset.DataConfig(sample_rate=RATE, preemphasis=0.0))
    assert "time-varying effect" in caplog.text


def test_capture_cli_writes_the_file(tmp_path, capsys):
    from audiornn.__main__ import main

    assert main(["capture", "--out", str(tmp_path / "r.wav"), "--sample-rate", "8000",
                 "--minutes", "1"]) == 0
    y, rate = sf.read(tmp_path / "r.wav")
    assert rate == 8000 and len(y) == 60 * 8000
    assert main(["capture", "--out", str(tmp_path / "r2.wav"), "--minutes", "0"]) == 2
    assert "--minutes" in capsys.readouterr().err


def test_a_pair_keeps_the_captures_own_rate_by_default(tmp_path):
    rate = 22050  # not the 16 kHz default of folders of recordings
    x = capture.capture_signal(rate, 1.0)
    sf.write(tmp_path / "reamp.wav", x, rate, subtype="FLOAT")
    sf.write(tmp_path / "rec.wav", amp(x, 40, rate), rate, subtype="FLOAT")
    assert data.main(["--pair", str(tmp_path / "reamp.wav"), str(tmp_path / "rec.wav"),
                      "--out", str(tmp_path / "ds"), "-q"]) == 0
    assert dataset.open_dataset(tmp_path / "ds").meta["sample_rate"] == rate


def test_a_clipped_wet_recording_is_named_as_clipped(tmp_path, capsys, caplog):
    x = capture.capture_signal(RATE, 1.0)
    sf.write(tmp_path / "reamp.wav", x, RATE, subtype="FLOAT")
    hot = np.clip(8 * amp(x, 10), -1, 1)  # the recording's input stage overdriven: flat tops
    sf.write(tmp_path / "rec.wav", hot, RATE, subtype="PCM_16")
    data.main(["--pair", str(tmp_path / "reamp.wav"), str(tmp_path / "rec.wav"),
               "--out", str(tmp_path / "ds"), "--sample-rate", str(RATE), "-q"])
    said = capsys.readouterr().err + caplog.text
    assert "rec.wav is clipped" in said and "of its samples sit at full scale" in said
    assert "does not follow" not in said


def test_a_ringing_rig_draws_the_ir_hint_and_a_dry_one_does_not(tmp_path, caplog):
    x = capture.capture_signal(RATE, 1.0)
    rng = np.random.default_rng(1)
    t = np.arange(int(0.8 * RATE)) / RATE
    room = 0.05 * rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.6)  # RT60 0.6 s
    room[0] = 1.0
    wet = signal.fftconvolve(amp(x, 10), room)[: len(x) + 10]
    assert capture.late_energy(wet, RATE, 10) > 0.05
    assert capture.late_energy(amp(x, 10), RATE, 10) < 1e-3
    sf.write(tmp_path / "reamp.wav", x, RATE, subtype="FLOAT")
    for name, y in (("dry", amp(x, 10)), ("room", wet)):
        sf.write(tmp_path / f"{name}.wav", 0.9 * y / np.max(np.abs(y)), RATE, subtype="FLOAT")
        caplog.clear()
        build_pairs([(tmp_path / "reamp.wav", tmp_path / f"{name}.wav")], tmp_path / name,
                    dataset.DataConfig(sample_rate=RATE, preemphasis=0.0))
        assert ("--ir 1.5" in caplog.text) == (name == "room"), name
