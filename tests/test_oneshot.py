import json

import numpy as np
import pytest
import soundfile as sf

from audiornn import data as dataset
from audiornn import dsp, metrics
from audiornn.cli import data, generate
from audiornn.cli import evaluate as evaluation
from audiornn.jobs.oneshot_data import build_oneshots
from audiornn.runtime.sampler import Generator
from audiornn.training.train import TrainConfig, train

RATE = 8000


def kick(rng, rate=RATE):
    t = np.arange(int(0.25 * rate)) / rate
    return np.sin(2 * np.pi * rng.uniform(60, 90) * t) * np.exp(-t * 18) * rng.uniform(0.6, 0.9)


def hat(rng, rate=RATE):
    t = np.arange(int(0.08 * rate)) / rate
    return rng.standard_normal(len(t)) * np.exp(-t * 60) * rng.uniform(0.3, 0.5)


def write_kit(root, per_label=6, seed=0, rate=RATE):
    rng = np.random.default_rng(seed)
    for name, make in (("kick", kick), ("hat", hat)):
        for k in range(per_label):
            lead = np.zeros(int(rng.uniform(0, 0.05) * rate))
            x = np.concatenate([lead, make(rng, rate), np.zeros(int(0.02 * rate))])
            (root / name).mkdir(parents=True, exist_ok=True)
            sf.write(root / name / f"{name}{k}.wav", x, rate, subtype="FLOAT")


def test_peak_alignment_and_length_rules():
    x = np.zeros(50)
    x[30] = -0.9  # the largest magnitude, negative
    x[10] = 0.5
    y = dsp.align_hit(x, 12)  # peak later than the attack: the start is trimmed
    assert np.argmax(np.abs(y)) == 12 and y[12] == -0.9 and len(y) == 32
    z = dsp.align_hit(x, 40)  # earlier: padded with silence
    assert np.argmax(np.abs(z)) == 40 and np.all(z[:10] == 0) and len(z) == 60
    padded = dsp.fix_length(z, 80)
    assert len(padded) == 80 and np.all(padded[60:] == 0) and np.array_equal(padded[:60], z)
    long = np.ones(100)
    cut = dsp.fix_length(long, 64, fade=16)
    assert len(cut) == 64 and cut[-1] == 0.0 and np.all(cut[:48] == 1.0)
    assert np.all(np.diff(cut[47:]) <= 0)  # a fade-out, only where it was cut
    assert np.array_equal(dsp.fix_length(np.ones(10), 10, fade=4), np.ones(10))


def test_oneshot_dataset_aligns_every_hit_and_labels_from_folders(tmp_path, capsys):
    write_kit(tmp_path / "kit", per_label=4)
    (tmp_path / "kit" / "hat" / "notes.txt").write_text("not audio")
    (tmp_path / "kit" / "kick" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    sf.write(tmp_path / "kit" / "kick" / "silent.wav", np.zeros(800), RATE)
    rc = data.main(["--oneshot", str(tmp_path / "kit"), "--out", str(tmp_path / "ds"),
                    "--sample-rate", "16000", "--attack", "0.02", "--length", "0.3",
                    "--align", "peak", "--envelope", "off"])  # the codes: the hits as they are
    assert rc == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "broken.wav" in out and "silent.wav" in out
    ds = dataset.open_dataset(tmp_path / "ds")
    assert ds.job == "oneshot" and ds.labels == ["hat", "kick"]
    attack, length = int(0.02 * 16000), int(0.3 * 16000)
    assert ds.meta["oneshot"]["attack_samples"] == attack
    for label in (0, 1):  # every label in both splits
        assert {s.split for s in ds.segments if s.label == label} == {"train", "val"}
    for seg in ds.segments:
        assert seg.length == length
        x, _ = dsp.decode(ds.streams["target"][seg.offset:seg.offset + seg.length],
                          ds.preemphasis, ds.gain())
        # The peak sits exactly at the attack sample (after mu-law, neighbours may tie with it).
        assert np.abs(x[attack]) == np.max(np.abs(x))
        name = ds.labels[seg.label]
        assert f"/{name}/" in seg.source


def test_a_kit_starts_at_its_onsets_by_default_and_keeps_or_evens_its_levels(tmp_path):
    """Sample packs start at the hit: by default every hit's onset (its first sample within
    40 dB of its peak) is its first sample, whatever silence led it in the file, so the model
    never has to guess when to start; --hit-level peak brings every hit's peak to -1 dBFS,
    off (the default) keeps the files' levels; the run's layout says so."""
    write_kit(tmp_path / "kit", per_label=4)  # leads of 0-50 ms of silence, peaks 0.3-0.9
    for level in ("peak", "off"):
        out = tmp_path / f"ds-{level}"
        assert data.main(["--oneshot", str(tmp_path / "kit"), "--out", str(out),
                          "--length", "0.2", "--hit-level", level, "--envelope", "off", "-q"]) == 0
        ds = dataset.open_dataset(out)
        o = ds.meta["oneshot"]
        assert o["align"] == "onset" and o["attack_samples"] == 0 and o["hit_level"] == level
        peaks = []
        for seg in ds.segments:
            x, _ = dsp.decode(ds.streams["target"][seg.offset:seg.offset + seg.length],
                              ds.preemphasis, ds.gain())
            assert dsp.onset(x) == 0 and np.abs(x[0]) > 0
            peaks.append(np.max(np.abs(x)))
        if level == "peak":
            np.testing.assert_allclose(peaks, dsp.PEAK_TARGET, rtol=0.02)
        else:
            assert max(peaks) / min(peaks) > 1.5
    x = np.zeros(40)
    x[[5, 9, 20]] = 0.005, 0.02, -1.0  # -46 dB (below the onset floor), -34 dB, the peak
    assert dsp.onset(x) == 9 and dsp.hit_mark(x, "peak") == 20
    y = dsp.align_hit(x, 3, "onset")
    assert y[3] == 0.02 and len(y) == 34


@pytest.mark.parametrize("rates,want", [((48000, 48000), 48000), ((8000, 22050), 44100)])
def test_a_kit_keeps_its_own_rate_else_44k(tmp_path, rates, want):
    """Hats live above 8 kHz: one-shots are made at the kit's own rate when all hits share
    it, else at 44.1 kHz, the sample packs' rate; never at the 16 kHz of speech datasets."""
    rng = np.random.default_rng(1)
    for k, rate in enumerate(rates):
        (tmp_path / "kit").mkdir(exist_ok=True)
        sf.write(tmp_path / "kit" / f"h{k}.wav", hat(rng, rate), rate)
    assert data.main(["--oneshot", str(tmp_path / "kit"), "--out", str(tmp_path / "ds"),
                      "--length", "0.1", "--attack", "0.01"]) == 0
    meta = dataset.open_dataset(tmp_path / "ds").meta
    assert meta["sample_rate"] == want
    from audiornn.training.train import configs_for

    assert configs_for(meta)[0].core == "tiered"  # the core measured best at these rates
    assert configs_for(meta, {"core": "flat"})[0].core == "flat"
    # Hits longer than the tiered core's windows: 8192-sample windows (starts and later
    # stretches, burned in); the flat core keeps whole hits from silence.
    long = {**meta, "oneshot": {**meta["oneshot"], "length_samples": 22050}}
    t = configs_for(long)[1]
    assert (t.window, t.burn_in, t.batch_size, t.patience) == (8192, 512, 8, 20)
    assert configs_for(long, {"patience": 3})[1].patience == 3  # the user's word wins
    t = configs_for(long, {"core": "flat"})[1]
    assert (t.window, t.burn_in, t.patience) == (22050, 0, 5)


def test_flat_folder_with_label_and_errors(tmp_path, write_wav, capsys):
    rng = np.random.default_rng(0)
    for k in range(3):
        write_wav(f"flat/h{k}.wav", hat(rng))
    rc = data.main(["--oneshot", str(tmp_path / "flat"), "--label", "shaker",
                    "--out", str(tmp_path / "ds"), "--sample-rate", str(RATE)])
    assert rc == 0
    assert dataset.open_dataset(tmp_path / "ds").labels == ["shaker"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.wav").write_bytes(b"junk")
    rc = data.main(["--oneshot", str(tmp_path / "empty"), "--out", str(tmp_path / "e")])
    assert rc == 2 and "no usable hit" in capsys.readouterr().err
    rc = data.main(["--oneshot", str(tmp_path / "flat"), "--attack", "0.5", "--length", "0.4",
                    "--out", str(tmp_path / "f")])
    assert rc == 2 and "--attack" in capsys.readouterr().err
    assert not (tmp_path / "e").exists() and not (tmp_path / "f").exists()


@pytest.fixture(scope="module")
def kit_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kit")
    write_kit(tmp / "kit", per_label=6)
    # No pre-emphasis: de-emphasis would turn a tiny model's residual noise into low-frequency
    # rumble that dominates a power-weighted centroid; the label steering is what is tested.
    build_oneshots(tmp / "kit", tmp / "ds",
                           dataset.DataConfig(sample_rate=RATE, preemphasis=0.0),
                           attack=0.002, length=0.15)
    # The flat core: on 6 hits a label the tiered default memorizes in these few steps.
    train(tmp / "ds", tmp / "run", options=dict(core="flat", layers=1, units=64, embedding=16),
          train_cfg=
          TrainConfig(window=1200, burn_in=0, batch_size=12, epochs=5, steps_per_epoch=30,
                      learning_rate=1e-2), verbose=0)
    return tmp


def test_labels_steer_the_spectral_centroid(kit_run, tmp_path):
    g = Generator.from_run(kit_run / "run")
    centroids = {}
    for label in ("kick", "hat"):
        paths = g.write(tmp_path / label, num=4, seed=3, label=label, temperature=0.8,
                        progress=False)
        hits = [sf.read(p)[0] for p in paths]
        assert all(len(h) == int(0.15 * RATE) for h in hits)
        centroids[label] = np.median([metrics.spectral_centroid(h, RATE) for h in hits])
    assert centroids["kick"] < 600 < centroids["hat"], centroids


def test_mix_endpoints_equal_the_pure_labels(kit_run, tmp_path):
    g = Generator.from_run(kit_run / "run")
    a = g.write(tmp_path / "a.wav", seed=5, label="kick", progress=False)[0]
    b = g.write(tmp_path / "b.wav", seed=5, mix={"kick": 1.0, "hat": 0.0}, progress=False)[0]
    c = g.write(tmp_path / "c.wav", seed=5, mix={"kick": 0.0, "hat": 2.0}, progress=False)[0]
    d = g.write(tmp_path / "d.wav", seed=5, label="hat", progress=False)[0]
    assert np.array_equal(sf.read(a)[0], sf.read(b)[0])
    assert np.array_equal(sf.read(c)[0], sf.read(d)[0])
    # A blend is its own point between them.
    m = g.mix_matrix(None, {"kick": 0.3, "hat": 0.7}, 2)
    np.testing.assert_allclose(m, [[0.7, 0.3]] * 2)  # labels are sorted: hat, kick


def test_generation_stops_once_every_hit_has_ended(kit_run, tmp_path, monkeypatch):
    """Once every hit of a group has fallen 60 dB, generate stops sampling: the late chunks
    are never drawn, and the files equal the gate applied to the whole hits. The chunks
    (150 samples) do not line up with the 5 ms frames (40) the writer measures."""
    g = Generator.from_run(kit_run / "run")
    n = int(round(0.15 * RATE))
    t = np.arange(n) / RATE
    x = 0.5 * np.sin(2 * np.pi * 300 * t) * np.exp(-t * 150)  # 60 dB down after 46 ms
    x[int(0.13 * RATE):int(0.13 * RATE) + 20] += 0.2  # a late click
    codes = dsp.mu_law_encode(x)
    drawn = []

    def fake_sample(n_steps, batch, *args, **kwargs):  # the model's chunks, designed
        for k in range(0, n_steps, 150):
            drawn.append(k)
            yield np.tile(codes[k:min(k + 150, n_steps)], (batch, 1))

    monkeypatch.setattr(g, "sample", fake_sample)
    raw = g.write(tmp_path / "raw", num=2, gate_db=0.0, fmt="float", normalize="off",
                  progress=False)
    assert len(drawn) == 8
    full = sf.read(raw[0])[0]
    ends = next(k for k in range(150, n, 150) if dsp.hit_fallen(dsp.frame_db(full[:k], RATE)[1]))
    drawn.clear()
    gated = g.write(tmp_path / "gated", num=2, gate_db=60.0, fmt="float", normalize="off",
                    progress=False)
    assert len(drawn) == ends // 150 < 8
    for r, q in zip(raw, gated):
        y, full = sf.read(q)[0], sf.read(r)[0]
        assert len(y) == n and metrics.second_onset(full, RATE) is not None
        np.testing.assert_allclose(y, dsp.end_hit(full, RATE, 60.0), atol=1e-6)


def test_oneshot_cli_generate_prime_and_errors(kit_run, tmp_path, capsys):
    run = str(kit_run / "run")
    assert generate.main([run, "--label", "hat", "--num", "3", "--out", str(tmp_path / "h"),
                          "-q"]) == 0
    files = sorted((tmp_path / "h").glob("*.wav"))
    assert len(files) == 3 and all(sf.info(f).frames == int(0.15 * RATE) for f in files)
    # --prime: the hit starts with the aligned start of the user's own hit.
    rng = np.random.default_rng(9)
    mine = np.concatenate([np.zeros(200), kick(rng)])
    sf.write(tmp_path / "mine.wav", mine, RATE)
    assert generate.main([run, "--label", "kick", "--prime", str(tmp_path / "mine.wav"),
                          "--out", str(tmp_path / "p.wav"), "-q"]) == 0
    y = sf.read(tmp_path / "p.wav")[0]
    attack = int(0.002 * RATE)
    ref = dsp.fix_length(dsp.align_hit(mine, attack), attack + int(0.01 * RATE) + 1)
    assert len(y) == int(0.15 * RATE)
    assert np.corrcoef(y[:len(ref)], ref)[0, 1] > 0.9
    for args, words in ((["--label", "snare"], "unknown label"),
                        (["--mix", "kick=-1,hat=1"], ">= 0"),
                        (["--mix", "kick=0,hat=0"], "all be 0"),
                        (["--mix", "kick=x"], "not a number")):
        assert generate.main([run, *args, "--out", str(tmp_path / "bad.wav"), "-q"]) == 2
        assert words in capsys.readouterr().err.splitlines()[-1]
    assert not (tmp_path / "bad.wav").exists()


def test_eval_per_label(kit_run, capsys):
    rc = evaluation.main([str(kit_run / "run"), "--hits", "3", "-q"])
    assert rc == 0
    assert "attack err." in capsys.readouterr().out
    result = json.loads((kit_run / "run" / "eval.json").read_text())
    for label in ("kick", "hat"):
        v = result["oneshots"][label]
        assert v["generated_hits"] == 3 and v["real_hits"] == 6
        assert 0 <= v["attack_within_5ms"] <= 1 and v["spectral_distance_db"] >= 0
        # the gate only removes second onsets, and eval reports the hits both ways
        assert v["gate_db"] == 60 and 0 <= v["second_onsets_gated"] <= v["second_onsets"]
    assert (kit_run / "run" / "plots" / "oneshots.png").stat().st_size > 5000


def test_generated_hits_are_brought_to_minus_1_dbfs_like_sample_packs(kit_run, tmp_path):
    from audiornn import dsp

    run = str(kit_run / "run")
    assert generate.main([run, "--label", "kick", "--num", "3", "--out", str(tmp_path / "k"),
                          "-q"]) == 0
    peaks = [np.max(np.abs(sf.read(f)[0])) for f in sorted((tmp_path / "k").glob("*.wav"))]
    assert np.allclose(peaks, dsp.PEAK_TARGET, atol=2e-4), peaks
    assert generate.main([run, "--label", "kick", "--num", "3", "--out", str(tmp_path / "raw"),
                          "--no-normalize", "-q"]) == 0
    raw = [np.max(np.abs(sf.read(f)[0])) for f in sorted((tmp_path / "raw").glob("*.wav"))]
    assert not np.allclose(raw, dsp.PEAK_TARGET, atol=2e-4), raw  # the model's own level


def test_generate_ends_hits_with_the_gate_and_gate_0_is_the_model_alone(kit_run, tmp_path):
    """The same hits (same seed) written with the gate and with --gate 0: identical up to
    where the gated one has fallen 60 dB, silent after it."""
    from audiornn import dsp

    run = str(kit_run / "run")
    for name, extra in (("gated", []), ("raw", ["--gate", "0"])):
        assert generate.main([run, "--label", "hat", "--num", "2", "--seed", "3", "--out",
                              str(tmp_path / name), "--no-normalize", "--format", "float",
                              *extra, "-q"]) == 0
    for f in sorted((tmp_path / "raw").glob("*.wav")):
        raw, rate = sf.read(f)
        gated = sf.read(tmp_path / "gated" / f.name)[0]
        np.testing.assert_allclose(gated, dsp.end_hit(raw, rate, 60.0), atol=1e-6)
