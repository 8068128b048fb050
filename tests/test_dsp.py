import numpy as np
import pytest
from conftest import speechlike
from scipy import signal

from audiornn import dsp


def test_mu_law_every_code_reachable_and_identity():
    codes = np.arange(256)
    x = dsp.mu_law_decode(codes)
    assert np.array_equal(dsp.mu_law_encode(x), codes)
    dense = dsp.mu_law_encode(np.linspace(-1, 1, 200001))
    assert set(np.unique(dense)) == set(range(256))


def test_mu_law_monotone_bounded_and_symmetric():
    x = np.linspace(-1, 1, 10001)
    c = dsp.mu_law_encode(x).astype(int)
    assert np.all(np.diff(c) >= 0)
    d = dsp.mu_law_decode(np.arange(256))
    assert np.all(np.diff(d) > 0)
    assert d[0] == pytest.approx(-1.0) and d[-1] == pytest.approx(1.0)
    assert dsp.mu_law_encode(np.array([0.0]))[0] == dsp.SILENCE_CODE
    assert dsp.mu_law_encode(np.array([5.0, -5.0])).tolist() == [255, 0]


def test_mu_law_encode_is_idempotent_on_decoded_values():
    x = np.random.default_rng(0).uniform(-1, 1, 1000)
    once = dsp.mu_law_decode(dsp.mu_law_encode(x))
    twice = dsp.mu_law_decode(dsp.mu_law_encode(once))
    assert np.array_equal(once, twice)


def test_emphasis_round_trip_and_reference():
    x = np.random.default_rng(1).standard_normal(5000)
    y, _ = dsp.preemphasis(x, 0.95)
    assert np.allclose(y[1:], x[1:] - 0.95 * x[:-1])
    back, _ = dsp.deemphasis(y, 0.95)
    assert np.allclose(back, x, atol=1e-12)


def test_emphasis_blockwise_equals_whole():
    x = np.random.default_rng(2).standard_normal(3000)
    whole, _ = dsp.preemphasis(x, 0.9)
    zi, parts = None, []
    for k in range(0, 3000, 700):
        y, zi = dsp.preemphasis(x[k:k + 700], 0.9, zi)
        parts.append(y)
    assert np.allclose(np.concatenate(parts), whole)


@pytest.mark.parametrize("rates", [(44100, 16000), (48000, 16000), (16000, 22050), (8000, 16000)])
def test_resample_matches_scipy_and_streams_exactly(rates):
    a, b = rates
    x = np.random.default_rng(3).standard_normal(50000)
    g = np.gcd(a, b)
    ref = signal.resample_poly(x, b // g, a // g)
    assert np.allclose(dsp.resample(x, a, b), ref)
    assert len(ref) == dsp.resampled_length(len(x), a, b)
    rs = dsp.StreamResampler(a, b, block=3000)
    parts = [rs.process(x[k:k + 4321]) for k in range(0, len(x), 4321)] + [rs.flush()]
    assert np.allclose(np.concatenate(parts), ref, atol=1e-12)


def test_resample_preserves_a_tone():
    t = np.arange(44100) / 44100
    y = dsp.resample(np.sin(2 * np.pi * 440 * t), 44100, 16000)
    spec = np.abs(np.fft.rfft(y[1000:-1000] * np.hanning(len(y) - 2000)))
    freqs = np.fft.rfftfreq(len(y) - 2000, 1 / 16000)
    assert abs(freqs[np.argmax(spec)] - 440) < 2


def test_to_mono():
    x = np.stack([np.ones(4), -np.ones(4) * 0.5], axis=1)
    assert np.allclose(dsp.to_mono(x), 0.25)


def test_speechlike_round_trip_snr():
    x = speechlike(2.0)
    y, _ = dsp.preemphasis(x, 0.95)
    gain = dsp.gain_for_peak(np.max(np.abs(y)))
    codes, _ = dsp.encode(x, 0.95, gain)
    back, _ = dsp.decode(codes, 0.95, gain)
    assert dsp.snr_db(x, back) >= 35


def test_gain_never_clips():
    x = np.sign(np.sin(np.arange(1000) * 0.5))  # square wave: emphasis overshoots to 1.95
    y, _ = dsp.preemphasis(x, 0.95)
    assert np.max(np.abs(y)) > 1.0
    gain = dsp.gain_for_peak(np.max(np.abs(y)))
    assert np.max(np.abs(y * gain)) < 1.0
    with pytest.raises(ValueError):
        dsp.gain_for_peak(0.0)


def test_silence_shortener_keeps_sound_and_cuts_long_silences_blockwise():
    rate = 8000
    tone = 0.5 * np.sin(2 * np.pi * 200 * np.arange(rate) / rate)
    gap = 1e-4 * np.ones(2 * rate)  # -80 dBFS for 2 s
    x = np.concatenate([tone, gap, tone, gap[: rate // 10]])
    whole = dsp.SilenceShortener(int(0.25 * rate), -50, 80)
    y = np.concatenate([whole.process(x), whole.flush()])
    assert len(y) == 2 * rate + int(0.25 * rate) + rate // 10  # the short gap stays whole
    np.testing.assert_array_equal(y[:rate], tone)
    np.testing.assert_array_equal(y[rate + int(0.25 * rate):2 * rate + int(0.25 * rate)], tone)
    assert whole.removed == len(x) - len(y)
    blocks = dsp.SilenceShortener(int(0.25 * rate), -50, 80)
    parts = [blocks.process(x[a:a + 999]) for a in range(0, len(x), 999)] + [blocks.flush()]
    np.testing.assert_array_equal(np.concatenate(parts), y)


def test_anti_phase_stereo_is_not_cancelled_by_the_mono_mix():
    from audiornn import dsp

    t = np.arange(8000) / 8000
    left = 0.5 * np.sin(2 * np.pi * 220 * t)
    np.testing.assert_allclose(dsp.to_mono(np.stack([left, -left], 1)), left)
    np.testing.assert_allclose(dsp.to_mono(np.stack([left, -0.99 * left], 1)), left)
    np.testing.assert_allclose(dsp.to_mono(np.stack([left, left], 1)), left)  # in phase: average
    np.testing.assert_allclose(dsp.to_mono(np.stack([left, 0.5 * left], 1)), 0.75 * left)
    assert np.all(dsp.to_mono(np.zeros((10, 2))) == 0)


def test_end_hit_removes_what_comes_after_the_decay():
    """The gate ends a hit once it has fallen 60 dB: a late click goes, the hit before the cut
    is untouched, and a hit that never falls that far is left alone."""
    from audiornn import metrics

    rate = 16000
    t = np.arange(int(0.5 * rate)) / rate
    hit = np.sin(2 * np.pi * 200 * t) * np.exp(-t * 40)  # falls 60 dB in ~0.17 s
    hit[int(0.4 * rate):int(0.4 * rate) + 40] += 0.3  # a late click
    assert metrics.second_onset(hit, rate) is not None
    y = dsp.end_hit(hit, rate, 60.0)
    assert metrics.second_onset(y, rate) is None
    assert np.all(y[int(0.4 * rate):] == 0)
    np.testing.assert_array_equal(y[:int(0.15 * rate)], hit[:int(0.15 * rate)])
    slow = np.sin(2 * np.pi * 200 * t) * np.exp(-t * 4)  # 17 dB down at the end
    np.testing.assert_array_equal(dsp.end_hit(slow, rate, 60.0), slow)
    np.testing.assert_array_equal(dsp.end_hit(hit, rate, 0.0), hit)  # 0: off


def test_hit_fallen_says_when_the_gate_has_closed():
    """hit_fallen is true once the hit so far has fallen 60 dB below its loudest frame, which
    is where end_hit cuts; never for the near-silence before a hit or a slow decay."""
    rate = 16000

    def fallen(x, drop_db=60.0):
        return dsp.hit_fallen(dsp.frame_db(x, rate)[1], drop_db)

    t = np.arange(int(0.3 * rate)) / rate
    hit = np.sin(2 * np.pi * 200 * t) * np.exp(-t * 40)  # falls 60 dB in ~0.17 s
    assert not fallen(hit[:int(0.1 * rate)])
    assert fallen(hit)
    end = np.nonzero(dsp.end_hit(hit, rate))[0][-1] + 1  # where the gated whole hit ends
    assert fallen(hit[:end])
    hiss = np.r_[np.full(800, 1e-4), np.zeros(800)]  # before a hit: -80 dB, then nothing
    assert not fallen(hiss)
    assert not fallen(np.sin(2 * np.pi * 200 * t) * np.exp(-t * 4))
    assert not fallen(hit, 0.0)
    n, whole = dsp.frame_db(hit, rate)
    assert n == 80 and len(whole) == len(hit) // 80


def test_end_hit_ends_a_hit_where_it_fires_again():
    """A hit that decays 30 dB and fires again (a burst, never 60 dB down) ends at the
    quietest point before the burst: the hit before it is untouched, the burst is gone."""
    from audiornn import metrics

    rate = 44100
    t = np.arange(int(0.5 * rate)) / rate
    rng = np.random.default_rng(0)
    hit = rng.standard_normal(len(t)) * np.maximum(np.exp(-t * 30), 0.03)  # -30 dB floor
    burst = slice(int(0.3 * rate), int(0.33 * rate))
    hit[burst] *= 20
    assert metrics.second_onset(hit, rate) is not None
    y = dsp.end_hit(hit, rate, 60.0)
    assert metrics.second_onset(y, rate) is None
    assert np.all(y[burst] == 0)
    np.testing.assert_array_equal(y[:int(0.1 * rate)], hit[:int(0.1 * rate)])
