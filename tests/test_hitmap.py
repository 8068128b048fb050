"""The one-shots' map: second onsets, the latent and position streams, --at and --like."""

import json

import numpy as np
import pytest
import soundfile as sf
from test_oneshot import write_kit

from audiornn import metrics
from audiornn.cli import data, generate
from audiornn.config import ModelConfig
from audiornn.cores.flat import Core
from audiornn.errors import AudioRNNError
from audiornn.evaluation import evaluate as evaluation
from audiornn.generate import _map_points
from audiornn.runtime.hitmap import HitMap, initial_points, parse_point, place, variations
from audiornn.runtime.model import build_model, load_run
from audiornn.runtime.sampler import Generator
from audiornn.streams import code_stream, label_stream, latent_stream, position_stream
from audiornn.training.train import TrainConfig, train

RATE = 8000


def decaying(rate, seconds=0.4, f=180.0, tau=0.05, start=0.02, amp=0.8, noise=False, seed=0):
    n = int(seconds * rate)
    t = np.arange(n) / rate
    src = (np.random.default_rng(seed).standard_normal(n) if noise
           else np.sin(2 * np.pi * f * t))
    env = np.where(t >= start, np.exp(-(t - start) / tau), 0.0)
    return amp * src * env


# ---------------------------------------------------------------- second onsets


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_second_onset_on_synthetic_hits(rate):
    kick = decaying(rate)
    assert metrics.second_onset(kick, rate) is None
    hat = decaying(rate, tau=0.02, noise=True)
    assert metrics.second_onset(hat, rate) is None  # noise fluctuates, but never 12 dB up
    # A second hit 150 ms later, far above the decayed envelope: found at its time.
    late = kick + decaying(rate, start=0.17, amp=0.3)
    t = metrics.second_onset(late, rate)
    assert t is not None and abs(t - 0.17) <= 0.011
    # A rise of about 6 dB over the envelope is a wobble, not a hit.
    t2 = np.arange(len(kick)) / rate
    wobble = kick * np.where(t2 > 0.15, 2.0, 1.0)
    assert metrics.second_onset(wobble, rate) is None
    # Below the floor (48 dB under the attack), a rise does not count.
    quiet = kick + decaying(rate, start=0.3, amp=0.8 * 10 ** (-55 / 20))
    assert metrics.second_onset(quiet, rate) is None
    # Digital silence after the hit, then a click that is loud enough: counted.
    click = kick.copy()
    click[int(0.35 * rate)] = 0.5
    assert metrics.second_onset(click, rate) is not None
    assert metrics.second_onset(np.zeros(rate // 4), rate) is None


# ---------------------------------------------------------------- where the map starts


def test_the_map_starts_dark_to_bright_and_short_to_long():
    """Tones from 100 Hz to 3 kHz, each with a short and a long decay: x follows brightness
    (the order of the tones' frequencies), y length (every long hit above its short twin),
    and the points have a radius of 1."""
    freqs = [100, 180, 320, 560, 1000, 1800, 3000]
    hits = [decaying(RATE, f=f, tau=tau, seed=i) for i, f in enumerate(freqs) for tau in (0.02, 0.15)]
    pts = initial_points(hits, RATE, 2)
    np.testing.assert_allclose(np.sqrt(np.mean(np.sum(pts**2, axis=1))), 1.0, rtol=1e-6)
    short, long_ = pts[0::2], pts[1::2]
    assert np.all(np.diff(short[:, 0]) > 0) and np.all(np.diff(long_[:, 0]) > 0)
    assert np.all(long_[:, 1] - short[:, 1] > 0.5)
    # One dimension is brightness alone; three add the rest of the sound.
    np.testing.assert_array_equal(np.argsort(initial_points(hits, RATE, 1)[:, 0]), np.argsort(pts[:, 0]))
    three = initial_points(hits, RATE, 3)
    assert three.shape == (14, 3) and np.std(three[:, 2]) > 0.05


# ---------------------------------------------------------------- streams


def map_config(n_points=5, dim=2, labels=2, position=True, core="flat"):
    streams = (code_stream("prev", "target", 8), label_stream(labels, 4), latent_stream(n_points, dim))
    streams += (position_stream(),) if position else ()
    return ModelConfig.make(streams=streams, layers=1, units=12, core=core, frame=4, sample_units=16)


@pytest.mark.parametrize("core", ["flat", "tiered"])
def test_step_core_equals_keras_with_a_point_and_positions(core):
    import keras

    keras.utils.set_random_seed(3)
    mc = map_config(core=core)
    m = build_model(mc)
    table = m.get_layer("latent_embedding")
    table.embeddings.assign(np.random.default_rng(0).normal(size=(5, 2)).astype("float32"))
    b, t = 3, 24
    rng = np.random.default_rng(1)
    x = {"prev": rng.integers(0, 256, (b, t)).astype("int32"), "label": np.array([0, 1, 1], "int32"),
         "latent": np.array([4, 0, 2], "int32"),
         "position": np.tile((np.arange(t) / 100.0)[None, :, None], (b, 1, 1)).astype("float32")}
    ref = np.asarray(m(x))
    from audiornn.cores import make_core

    c = make_core(m, mc)
    points = c.latent_points[x["latent"]]  # the index's point, given as coordinates
    bias = c.sequence_bias({"label": np.eye(2)[x["label"]], "latent": points}, b)
    state, steps = c.zero_state(b), []
    for k in range(t):
        logits, state = c.step({"prev": x["prev"][:, k], "position": x["position"][:, k]}, bias, state)
        steps.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(steps, 1), ref, atol=1e-4)
    if core == "flat":
        assert isinstance(c, Core)


def test_labels_blend_along_a_line_between_hits_of_two_labels():
    # Two kicks on the left, two hats on the right: a line from a kick to a hat moves
    # from all kick to all hat, a little more hat at every step; each weight row sums to 1.
    pts = np.array([[-1.0, 0.0], [-1.0, 0.2], [1.0, 0.0], [1.0, 0.2]])
    hm = HitMap(pts, ["k0", "k1", "h0", "h1"], np.array([0, 0, 1, 1]), ["kick", "hat"])
    line = np.linspace(pts[0], pts[2], 9)
    w = hm.label_weights(line)
    assert np.allclose(w.sum(axis=1), 1.0)
    assert np.allclose(w[0], [1, 0]) and np.allclose(w[-1], [0, 1])
    assert np.allclose(w[4], [0.5, 0.5])  # halfway: as much of each
    assert np.all(np.diff(w[:, 1]) > 0)
    near = hm.label_weights(line, blend=False)  # the nearest hit's label: a step
    assert set(near[:, 1]) == {0.0, 1.0} and np.all(np.diff(near[:, 1]) >= 0)


def test_parse_point_and_variations():
    np.testing.assert_allclose(parse_point("0.5,-1", 2), [0.5, -1.0])
    for bad in ("1", "1,2,3", "a,b", "nan,0", "inf,1", ""):
        with pytest.raises(AudioRNNError, match="--at takes 2 finite numbers"):
            parse_point(bad, 2)
    pts = variations(np.array([1.0, 2.0]), 50, 0.2, 3.0, seed=0)
    assert pts.shape == (50, 2) and np.array_equal(pts[0], [1.0, 2.0])
    assert 0.3 < np.sqrt(np.mean(np.sum((pts[1:] - [1, 2]) ** 2, axis=1))) < 0.9  # 0.2 x radius 3
    assert np.all(variations(np.zeros(2), 4, 0.0, 1.0, 0) == 0)
    with pytest.raises(AudioRNNError, match="--spread"):
        variations(np.zeros(2), 2, -1.0, 1.0, 0)


# ---------------------------------------------------------------- a trained map


@pytest.fixture(scope="module")
def map_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("map")
    write_kit(tmp / "kit", per_label=5)
    assert data.main(["--oneshot", str(tmp / "kit"), "--out", str(tmp / "ds"), "--sample-rate",
                      str(RATE), "--attack", "0.02", "--length", "0.15"]) == 0
    train(tmp / "ds", tmp / "run", options=dict(layers=1, units=16, embedding=8, learning_rate=1e-2),
          train_cfg=TrainConfig(window=1200, burn_in=0, batch_size=8, epochs=3, steps_per_epoch=6),
          verbose=0)
    return tmp


def test_training_stores_the_map_and_positions(map_run):
    m = json.loads((map_run / "run" / "map.json").read_text())
    cfg = json.loads((map_run / "run" / "config.json").read_text())
    kinds = [s["kind"] for s in cfg["model"]["streams"]]
    assert kinds == ["code", "label", "latent", "position", "envelope"]
    assert m["dim"] == 2 and m["labels"] == ["hat", "kick"]
    n_train = len(cfg["job"]["hits"])
    assert len(m["points"]) == n_train == 8  # 4 + 4 training hits (1 + 1 held out)
    assert {p["label"] for p in m["points"]} == {"hat", "kick"}
    assert all(p["name"].split("/")[0] == p["label"] for p in m["points"])
    model, config = load_run(map_run / "run")
    hm = HitMap.from_model(model, config)
    np.testing.assert_allclose(hm.points, [p["xy"] for p in m["points"]], atol=1e-4)
    # Training starts the points from the hits' sound (radius 1): the labels lie apart.
    assert 0.5 < hm.radius < 2
    hats, kicks = hm.points[hm.labels == 0], hm.points[hm.labels == 1]
    gap = np.linalg.norm(hats.mean(axis=0) - kicks.mean(axis=0))
    assert gap > 2 * max(hats.std(axis=0).max(), kicks.std(axis=0).max())


def test_generate_at_and_like_cli(map_run, capsys):
    run, out = str(map_run / "run"), map_run / "out"
    hm = Generator.from_run(run).map()
    x, y = hm.points[hm.labels == 1][0]  # a kick's point: --at takes its label
    assert generate.main([run, "--at", f"{x},{y}", "--num", "3", "--out", str(out / "at"), "-q"]) == 0
    files = sorted((out / "at").glob("*.wav"))
    assert len(files) == 3 and all(sf.info(f).frames == int(0.15 * RATE) for f in files)
    gen = Generator.from_run(run)  # --at's label: the nearest hits' blend; --label wins
    pts, label, weights, _ = _map_points(gen, f"{x},{y}", None, None, None, None, 3, 0.0, 0)
    assert label is None and np.allclose(weights, [[0.0, 1.0]] * 3)  # a kick's own point
    pts, label, weights, _ = _map_points(gen, f"{x},{y}", None, None, "hat", None, 3, 0.5, 0)
    assert label == "hat" and weights is None
    hit = map_run / "kit" / "kick" / "kick0.wav"
    assert generate.main([run, "--like", str(hit), "--num", "2", "--out", str(out / "like"),
                          "-q"]) == 0
    said = capsys.readouterr().out
    assert "placed" in said and "nearest training hit" in said
    assert len(list((out / "like").glob("*.wav"))) == 2
    silent = map_run / "silent.wav"
    sf.write(silent, np.zeros(800), RATE)
    garbage = map_run / "garbage.wav"
    garbage.write_bytes(b"RIFF0000WAVEnot audio")
    for args, words in ((["--at", "1"], "--at takes 2 finite numbers"),
                        (["--at", "x,y"], "--at takes 2 finite numbers"),
                        (["--at", "nan,1"], "--at takes 2 finite numbers"),
                        (["--at", "0,0", "--like", str(hit)], "--at or --like"),
                        (["--like", str(silent)], "silent"),
                        (["--like", str(garbage)], str(garbage)),
                        (["--at", "0,0", "--spread", "-1"], "--spread"),
                        (["--at", "0,0", "--prime", str(hit)], "--prime")):
        try:
            rc = generate.main([run, "--out", str(out / "bad.wav"), "-q", *args])
        except SystemExit as e:  # argparse's own checks
            rc = e.code
        err = capsys.readouterr().err
        assert rc == 2 and words in err and "Traceback" not in err, args
        assert len(err.strip().splitlines()) == 1
    assert not (out / "bad.wav").exists()


def test_like_finds_a_point_at_least_as_likely_as_every_training_point(map_run):
    model, config = load_run(map_run / "run")
    hm = HitMap.from_model(model, config)
    res = place(model, config, map_run / "kit" / "hat" / "hat0.wav", steps=4)
    lo, hi = hm.bounds()
    assert np.all(res["point"] >= lo - 1e-6) and np.all(res["point"] <= hi + 1e-6)
    assert res["bits"] <= res["bits_start"] + 1e-9  # never worse than the best training point
    assert res["label"] in (0, 1) and 0 <= res["nearest"] < len(hm.points)


def test_runs_without_a_map_or_position(map_run, capsys):
    train(map_run / "ds", map_run / "plain", options=dict(layers=1, units=8, embedding=4,
                                                            latent_dim=0, position=False),
          train_cfg=TrainConfig(window=1200, burn_in=0, batch_size=4, epochs=1, steps_per_epoch=1),
          verbose=0)
    cfg = json.loads((map_run / "plain" / "config.json").read_text())
    assert [s["kind"] for s in cfg["model"]["streams"]] == ["code", "label", "envelope"]
    assert not (map_run / "plain" / "map.json").exists()
    rc = generate.main([str(map_run / "plain"), "--at", "0,0", "--out", str(map_run / "x.wav")])
    assert rc == 2 and "no map of hits" in capsys.readouterr().err


def test_eval_reports_second_onsets_and_draws_the_map(map_run):
    r = evaluation.evaluate(map_run / "run", hits_per_label=2, quiet=True)
    for label in ("hat", "kick"):
        v = r["oneshots"][label]
        assert 0 <= v["second_onsets"] <= 1 and v["second_onsets_real"] == 0.0
    m = r["map"]
    assert m["hits"] == 8 and 0 <= m["closer_to_own_hit"] <= 1
    assert set(m["closer_to_own_hit_by_label"]) == {"hat", "kick"}
    assert len(m["grid"]) == 25
    assert (map_run / "run" / "plots" / "map.png").stat().st_size > 10_000


def test_at_takes_negative_coordinates_as_written_and_warns_outside_the_map(map_run, caplog):
    run, out = str(map_run / "run"), map_run / "out"
    hm = Generator.from_run(run).map()
    lo, hi = hm.bounds()
    x, y = hm.points[np.argmin(hm.points[:, 0])]  # the leftmost hit: x < 0 on a centred map
    assert x < 0
    for form in (["--at", f"{x},{y}"], [f"--at={x},{y}"]):
        with caplog.at_level("WARNING"):
            assert generate.main([run, *form, "--out", str(out / "neg.wav"), "-q"]) == 0
        assert "outside the map" not in caplog.text
    far = f"{hi[0] + 10 * hm.radius},{hi[1]}"
    with caplog.at_level("WARNING"):
        assert generate.main([run, "--at", far, "--out", str(out / "far.wav"), "-q"]) == 0
    assert "outside the map" in caplog.text and f"{lo[0]:.2f}..{hi[0]:.2f}" in caplog.text
