"""The one-shots' envelope stream: the level a hit follows, from the data to the sampler."""

import dataclasses
import json

import numpy as np
import pytest
from helpers import mconf, random_model
from test_oneshot import write_kit

from audiornn import dsp
from audiornn.cli import data, generate
from audiornn.config import Layout, run_config
from audiornn.cores import make_core
from audiornn.data import audio, open_dataset
from audiornn.data.codec import Codec
from audiornn.errors import AudioRNNError
from audiornn.jobs.oneshot_data import read_hit
from audiornn.runtime import envelopes
from audiornn.runtime.hitmap import hit_envelope
from audiornn.runtime.model import load_run
from audiornn.runtime.sampler import Generator
from audiornn.runtime.writer import AudioWriter
from audiornn.streams import envelope_stream
from audiornn.training.train import TrainConfig, train

RATE = 8000


def test_envelope_follows_level_and_decay():
    hop = dsp.envelope_hop(RATE)
    assert hop == 40  # 5 ms
    t = np.arange(RATE) / RATE
    sine = 0.5 * np.sin(2 * np.pi * 440 * t)
    db = dsp.envelope_db(sine, hop)
    assert len(db) == RATE // hop + 1
    # A steady sine of amplitude 0.5: RMS 0.354, -9.0 dB, away from the edges.
    np.testing.assert_allclose(db[4:-4], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.1)
    # An exponential decay falls 8.69 dB per time constant; silence sits on the floor.
    tau = 0.1
    db = dsp.envelope_db(sine * np.exp(-t / tau), hop)
    slope = np.polyfit(np.arange(10, 100) * hop / RATE, db[10:100], 1)[0]
    assert abs(slope + 20 * np.log10(np.e) / tau) < 1.0
    assert np.all(dsp.envelope_db(np.zeros(500), hop) == dsp.ENVELOPE_FLOOR_DB)
    # Per-sample values: 0..1 over [floor, 0] dB, the frames' own at frame centres.
    v = dsp.envelope_values(db, hop, RATE)
    assert v.shape == (RATE,) and v.dtype == np.float32 and 0 <= v.min() and v.max() <= 1
    np.testing.assert_allclose(v[::hop], (db[:len(v[::hop])] + 80) / 80, atol=1e-6)


def test_envelope_gain_and_the_writer_put_the_level_back(tmp_path):
    v = np.array([1.0, 0.75, 0.5, 0.0], np.float32)  # 0, -20, -40, -80 dB
    np.testing.assert_allclose(dsp.envelope_gain(v), [1.0, 0.1, 0.01, 0.001])  # -60 dB at most
    np.testing.assert_allclose(dsp.envelope_gain(v, range_db=30), [1.0, 0.1, 10 ** -1.5, 10 ** -1.5])
    codec = Codec(sample_rate=RATE, preemphasis=0.0, gains={"target": 1.0})
    codes = codec.encode(0.5 * np.sin(np.arange(300) / 5.0))[0]
    shape = np.linspace(1.0, 0.0, 200)  # held at its last value (0) past its end
    w = AudioWriter(tmp_path / "a.wav", codec, shape=shape)
    for k in range(0, 300, 70):  # chunks cross the shape's end
        w.append(codes[k:k + 70])
    w.finish("float", "off")
    got = audio.read(tmp_path / "a.wav")[0]
    want = codec.decode(codes)[0] * np.concatenate([shape, np.zeros(100)])
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_envelopes_at_points_and_labels():
    env = [[1.0, 0.5, 0.0], [1.0, 0.9, 0.8], [0.2, 0.2, 0.2]]
    cfg = SimpleConfig(env, hits=(("a/1", 0), ("a/2", 0), ("b/1", 1)))
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    got = envelopes.at_points(cfg, pts, pts)  # a training hit's own point: its envelope
    np.testing.assert_allclose(got, env, atol=1e-6)
    mid = envelopes.at_points(cfg, pts, np.array([[0.5, 0.0]]))[0]
    assert np.all(mid[1:] > np.array(env[0])[1:]) and np.all(mid[1:] < np.array(env[1])[1:])
    np.testing.assert_allclose(envelopes.for_labels(cfg, np.array([[1.0, 0.0]]), 1)[0], [1.0, 0.7, 0.4])
    np.testing.assert_allclose(envelopes.for_labels(cfg, np.array([[0.5, 0.5]]), 1)[0],
                               [0.6, 0.45, 0.3])
    steps = envelopes.steps(np.array(env), RATE, 100)
    assert steps.shape == (3, 100)
    np.testing.assert_allclose(steps[:, 0], [1.0, 1.0, 0.2], atol=1e-6)
    np.testing.assert_allclose(steps[:, 40], [0.5, 0.9, 0.2], atol=1e-6)
    with pytest.raises(AudioRNNError, match="keeps no training envelopes"):
        envelopes.table(SimpleConfig([], ()))


class SimpleConfig:
    def __init__(self, env, hits):
        self.job = type("Job", (), {"envelopes": tuple(map(tuple, env)), "hits": hits})()


def shaped(core):
    mc = mconf(layers=1, units=12, embedding=6, n_labels=2)
    mc = dataclasses.replace(mc, streams=mc.streams + (envelope_stream(),), core=core,
                             options=dict(frame=4, sample_units=10) if core == "tiered" else {})
    return mc


@pytest.mark.parametrize("core", ["flat", "tiered"])
def test_step_core_and_the_sampler_follow_the_envelope_as_the_model_does(core):
    """The step math equals the Keras model with an envelope; greedy sampling after a prime,
    in chunks, picks the model's argmax at every step: the envelope reaches each step aligned
    (step s, which predicts sample s, gets envelope[s])."""
    mc = shaped(core)
    m = random_model(mc, seed=4, scale=0.3)
    b, t = 2, 20
    rng = np.random.default_rng(1)
    x = {"prev": rng.integers(0, 256, (b, t)).astype("int32"), "label": np.array([0, 1], "int32"),
         "envelope": rng.uniform(0, 1, (b, t, 1)).astype("float32")}
    ref = np.asarray(m(x))
    c = make_core(m, mc)
    bias = c.sequence_bias({"label": np.eye(2)[x["label"]]}, b)
    state, steps = c.zero_state(b), []
    for k in range(t):
        logits, state = c.step({"prev": x["prev"][:, k], "envelope": x["envelope"][:, k]}, bias, state)
        steps.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(steps, 1), ref, atol=1e-4)
    # Nothing else would tell the steps apart: a louder envelope changes the logits.
    louder = np.asarray(m({**x, "envelope": x["envelope"] + 0.5}))
    assert np.abs(louder - ref).max() > 1e-3

    layout = Layout(attack=0.0, length=0.01, attack_samples=0, length_samples=80, envelope=True)
    g = Generator(m, dataclasses.replace(run_config(mc, labels=("a", "b")),
                                         job=dataclasses.replace(run_config(mc).job, labels=("a", "b"),
                                                                 layout=layout)), chunk=7)
    prime = rng.integers(0, 256, 13).astype("int32")
    env = rng.uniform(0.1, 1, (1, 40)).astype("float32")
    env[0, 20:25] = 0.0  # silent there (the floor): the sampler writes silence, as data holds
    cont = np.concatenate(list(g.sample(27, greedy=True, prime_codes=prime, envelope=env,
                                        mix=np.eye(2)[:1])), axis=1)[0]
    full = np.concatenate([prime, cont])
    logits = np.asarray(m({"prev": full[None, :-1], "label": np.zeros(1, "int32"),
                           "envelope": env[:, 1:, None]}))[0]
    live = env[0, len(prime):len(full)] > 0
    assert np.array_equal(np.argmax(logits[len(prime) - 1:], axis=-1)[live], cont[live])
    assert np.all(cont[~live] == dsp.SILENCE_CODE) and (~live).sum() == 5
    with pytest.raises(AudioRNNError, match="follows an envelope"):
        next(g.sample(5))


@pytest.fixture(scope="module")
def shaped_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("envelope")
    write_kit(tmp / "kit", per_label=4)
    assert data.main(["--oneshot", str(tmp / "kit"), "--out", str(tmp / "ds"), "--sample-rate",
                      str(RATE), "--length", "0.3"]) == 0
    train(tmp / "ds", tmp / "run", options=dict(layers=1, units=16, embedding=8, learning_rate=1e-2),
          train_cfg=TrainConfig(window=1200, burn_in=0, batch_size=8, epochs=2, steps_per_epoch=4),
          verbose=0)
    return tmp


def test_the_dataset_and_the_run_keep_every_hits_envelope(shaped_run, tmp_path):
    meta = json.loads((shaped_run / "ds" / "dataset.json").read_text())
    assert meta["conditions"]["envelope"]["per"] == "step" and meta["oneshot"]["envelope"] is True
    cfg = json.loads((shaped_run / "run" / "config.json").read_text())
    assert [s["kind"] for s in cfg["model"]["streams"]][-1] == "envelope"
    n, hop = int(0.3 * RATE), dsp.envelope_hop(RATE)
    env = np.array(cfg["job"]["envelopes"])
    assert env.shape == (len(cfg["job"]["hits"]), -(-n // hop)) and len(env) == 6
    # Each is its hit's own, from the file: the first training hit, aligned as the data was.
    first = shaped_run / "kit" / cfg["job"]["hits"][0][0]
    _, config = load_run(shaped_run / "run")
    np.testing.assert_allclose(env[0], hit_envelope(first, config)[::hop], atol=2e-3)
    assert not (env.max(axis=1) < 0.5).any()  # hits, not silence
    # The codes hold each hit's shape at an even level; read_hit puts the level back.
    ds = open_dataset(shaped_run / "ds")
    seg = ds.split("train")[0]
    shape = ds.codec.decode(np.asarray(ds.streams["target"][seg.offset:seg.offset + seg.length]))[0]
    live = env[0] > 0.4  # frames above -48 dB
    rms = [np.sqrt(np.mean(shape[k * hop:(k + 1) * hop] ** 2)) for k in np.nonzero(live)[0]]
    assert 20 * np.log10(max(rms) / min(rms)) < 12  # the hit itself falls by > 30 dB
    x, _ = audio.read(first)
    y = dsp.fix_length(dsp.align_hit(dsp.resample(x, RATE, RATE), 0, "onset"), n)
    np.testing.assert_allclose(read_hit(ds, seg), y, atol=0.02 * np.abs(y).max())
    # --envelope off: no stream.
    assert data.main(["--oneshot", str(shaped_run / "kit"), "--out", str(tmp_path / "flat"),
                      "--sample-rate", str(RATE), "--length", "0.3", "--envelope", "off"]) == 0
    assert "envelope" not in json.loads((tmp_path / "flat" / "dataset.json").read_text())["conditions"]


def test_generate_gives_each_hit_an_envelope_and_like_its_own(shaped_run, tmp_path, monkeypatch):
    seen = []
    sample = Generator.sample

    def spy(self, *args, **kwargs):
        seen.append(np.array(kwargs["envelope"]))
        return sample(self, *args, **kwargs)

    monkeypatch.setattr(Generator, "sample", spy)
    hit = shaped_run / "kit" / "hat" / "hat3.wav"
    assert generate.main([str(shaped_run / "run"), "--like", str(hit), "--num", "2",
                          "--out", str(tmp_path / "like")]) == 0
    _, config = load_run(shaped_run / "run")
    np.testing.assert_allclose(seen[-1], np.tile(hit_envelope(hit, config), (2, 1)), atol=1e-6)
    assert generate.main([str(shaped_run / "run"), "--at=0,0", "--out", str(tmp_path / "at.wav")]) == 0
    assert seen[-1].shape == (1, int(0.3 * RATE)) and seen[-1].max() > 0.5
    assert generate.main([str(shaped_run / "run"), "--label", "kick", "--num", "3",
                          "--out", str(tmp_path / "kicks"), "--gate", "0"]) == 0
    assert seen[-1].shape == (3, int(0.3 * RATE))
    # The hits end: whatever the shape the model makes, the level of the kicks' hits is put
    # back, and the model alone (no gate) ends 30 dB under its start.
    for k in range(3):
        x = audio.read(tmp_path / "kicks" / f"{k:02d}.wav")[0]
        head, tail = np.abs(x[:len(x) // 5]).max(), np.abs(x[-len(x) // 5:]).max()
        assert 20 * np.log10(head / max(tail, 1e-9)) > 30
    # The envelope is not a knob.
    assert generate.main([str(shaped_run / "run"), "--knob", "envelope=1",
                          "--out", str(tmp_path / "k.wav")]) == 2


def test_silence_past_a_hit_is_not_scored(shaped_run):
    """The padding after a hit's end (its envelope on the floor) is neither trained on nor
    scored: a model taught that silence follows silence there would never start a hit."""
    from audiornn.data.windows import WindowSequence
    from audiornn.runtime.scoring import dataset_sequences
    from audiornn.streams import code_stream

    ds = open_dataset(shaped_run / "ds")
    n = int(0.3 * RATE)
    seq = WindowSequence(ds, "train", window=n, burn_in=0, batch_size=6, start_mode="segment",
                         streams=(code_stream("prev", "target", 8), envelope_stream()))
    x, _, w = seq[0]
    env = x["envelope"][..., 0]
    assert np.array_equal(w > 0, env > 0) and (env == 0).any() and (env > 0).mean() > 0.2
    for s in dataset_sequences(ds, "val"):
        assert len(s["target"]) < n and s["step_values"]["envelope"][-1, 0] > 0
