"""The voicing check (metrics.voiced_fraction) against the noise that fooled the old one."""

import numpy as np
import pytest
from conftest import speechlike
from scipy import signal

from audiornn import metrics

RATE = 16000
N = 3 * RATE
T = np.arange(N) / RATE


def norm(x):
    return 0.3 * x / np.max(np.abs(x))


def white(seed=0):
    return np.random.default_rng(seed).standard_normal(N)


NOISES = {
    "white": white(),
    # Paul Kellet's pink filter (-3 dB/octave)
    "pink": signal.lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                           [1, -2.494956002, 2.017265875, -0.522189400], white()),
    "brown": np.cumsum(white()) - np.mean(np.cumsum(white())),
    "de-emphasized twice": signal.lfilter([1], [1, -0.95], signal.lfilter([1], [1, -0.95], white())),
    "band 100-300 Hz": signal.lfilter(*signal.butter(2, [100, 300], "bandpass", fs=RATE), white()),
    "bursts at syllable rate": white() * (np.sin(2 * np.pi * 4 * T) > 0.3),
}


def sawtooth_with_vibrato():
    f0 = 220 * (1 + 0.02 * np.sin(2 * np.pi * 5 * T))
    return 2 * (np.cumsum(f0) / RATE % 1) - 1


PITCHED = {
    "tone": np.sin(2 * np.pi * 220 * T),
    "sawtooth with vibrato": sawtooth_with_vibrato(),
    "vowel with a pitch contour": speechlike(3.0, RATE),
}


@pytest.mark.parametrize("name", NOISES)
def test_noise_of_any_colour_is_not_voiced(name):
    assert metrics.voiced_fraction(norm(NOISES[name]), RATE) <= 0.06, name


def test_the_old_check_is_fooled_by_exactly_that_noise():
    """The reason for the new check: the raw-signal autocorrelation calls brown noise pitched."""
    assert metrics.periodic_fraction(norm(NOISES["brown"]), RATE) > 0.9
    assert metrics.periodic_fraction(norm(NOISES["de-emphasized twice"]), RATE) > 0.9


@pytest.mark.parametrize("name", PITCHED)
def test_tones_notes_and_vowels_are_voiced(name):
    assert metrics.voiced_fraction(norm(PITCHED[name]), RATE) >= 0.9, name


@pytest.mark.parametrize("share", [0.25, 0.5, 0.75])
def test_a_mix_of_voiced_and_noise_scores_its_true_share(share):
    k = int(share * N)
    mix = np.concatenate([norm(PITCHED["vowel with a pitch contour"])[:k],
                          norm(NOISES["de-emphasized twice"])[k:]])
    assert metrics.voiced_fraction(mix, RATE) == pytest.approx(share, abs=0.08)


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_other_rates(rate):
    t = np.arange(2 * rate) / rate
    assert metrics.voiced_fraction(0.3 * np.sin(2 * np.pi * 330 * t), rate) >= 0.95
    brown = np.cumsum(np.random.default_rng(1).standard_normal(2 * rate))
    assert metrics.voiced_fraction(norm(brown - brown.mean()), rate) <= 0.06


def test_silence_and_short_input_are_not_voiced():
    assert metrics.voiced_fraction(np.zeros(N), RATE) == 0.0
    assert metrics.voiced_fraction(np.zeros(10), RATE) == 0.0


def test_the_speech_like_corpus_is_voiced_like_speech_and_deterministic(tmp_path):
    from audiornn.data import corpus

    x = corpus.render_speech(10.0, RATE, seed=1)
    assert np.array_equal(x, corpus.render_speech(10.0, RATE, seed=1))
    assert 0.6 <= metrics.voiced_fraction(x, RATE) <= 0.95  # real speech: about 80%
    silent = metrics.frame_rms_db(x, 1024) < -60
    assert 0.05 <= silent.mean() <= 0.4  # pauses between utterances


def test_data_demo_speech_builds_the_speech_corpus(tmp_path):
    from audiornn import data as dataset
    from audiornn.cli import data

    assert data.main(["--demo", "speech", "--out", str(tmp_path / "ds"), "-q"]) == 0
    meta = dataset.open_dataset(tmp_path / "ds").meta
    assert meta["counts"]["files"] == 6 and all("speech" in s["name"] for s in meta["sources"])
    assert data.main(["--demo", "--out", str(tmp_path / "music"), "-q"]) == 0  # music, as before
    assert "track" in dataset.open_dataset(tmp_path / "music").meta["sources"][0]["name"]
