import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import speechlike

from audiornn import data as dataset
from audiornn import dsp
from audiornn.cli.data import main as _data_main
from audiornn.data import audio
from audiornn.jobs.generate import build_from_sources


def data_main(argv):
    try:
        return _data_main(argv)
    except SystemExit as e:  # argparse's own usage errors
        return e.code


def tone(seconds, rate, freq=220.0, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([x, 0.5 * x], axis=1) if channels == 2 else x


@pytest.fixture
def corpus(write_wav, tmp_path):
    write_wav("src/a.wav", tone(1.0, 44100, channels=2), 44100, "PCM_24")
    write_wav("src/sub/b.flac", tone(0.8, 22050), 22050)
    write_wav("src/c.aiff", speechlike(0.7, 48000), 48000, "PCM_16")
    write_wav("src/d.ogg", tone(0.6, 16000, 330), 16000)
    write_wav("src/e.wav", speechlike(0.5, 8000).astype(np.float32), 8000, "FLOAT")
    (tmp_path / "src/notes.txt").write_text("not audio")
    return tmp_path / "src"


def test_builds_dataset_from_many_formats(corpus, tmp_path, capsys):
    out = tmp_path / "ds"
    assert data_main([str(corpus), "--out", str(out), "--seed", "1"]) == 0
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["counts"]["files"] == 5 and meta["counts"]["skipped"] == 0
    assert meta["counts"]["ignored_non_audio"] == 1
    codes = np.load(out / "target.npy", mmap_mode="r")
    assert codes.dtype == np.uint8 and len(codes) == meta["n_codes"]
    expected = sum(dsp.resampled_length(n, r, 16000) for n, r in
                   [(44100, 44100), (17640, 22050), (33600, 48000), (9600, 16000), (4000, 8000)])
    assert meta["n_codes"] == expected
    segs = meta["segments"]
    assert sum(s["length"] for s in segs) == meta["n_codes"]
    assert {s["split"] for s in segs} == {"train", "val"}
    # Whole files per split, contiguous and non-overlapping.
    offsets = sorted((s["offset"], s["length"]) for s in segs)
    assert all(a + n == b for (a, n), (b, _) in zip(offsets, offsets[1:]))
    assert "dataset written to" in capsys.readouterr().out


def test_decoded_dataset_matches_source(write_wav, tmp_path):
    x = speechlike(1.0, 16000)
    write_wav("one.wav", x, 16000, "FLOAT")
    out = tmp_path / "ds"
    assert data_main([str(tmp_path / "one.wav"), "--out", str(out), "--val-fraction", "0.25"]) == 0
    ds = dataset.open_dataset(out)
    back, _ = dsp.decode(ds.streams["target"], ds.preemphasis, ds.gain())
    assert dsp.snr_db(x, back) > 35
    # A single file is split by its last fraction.
    val = ds.split("val")
    assert len(val) == 1 and val[0].length == 4000 and val[0].start == 12000


def test_gain_recorded_and_no_clipping(write_wav, tmp_path):
    sq = np.sign(np.sin(np.arange(16000) * 0.05)) * 0.99  # emphasis overshoots full scale
    write_wav("sq.wav", sq, 16000, "FLOAT")
    out = tmp_path / "ds"
    assert data_main([str(tmp_path / "sq.wav"), "--out", str(out)]) == 0
    ds = dataset.open_dataset(out)
    assert ds.gain() < 1.0
    back, _ = dsp.decode(ds.streams["target"], ds.preemphasis, ds.gain())
    assert dsp.snr_db(sq, back) > 30  # clipping the overshoot would wreck the square wave


@pytest.mark.parametrize("name,make,reason", [
    ("zero.wav", lambda p: p.write_bytes(b""), "empty file"),
    ("text.wav", lambda p: p.write_text("hello, I am not audio\n" * 20), "not a readable audio"),
    ("nan.wav", lambda p: sf.write(p, np.full(1000, np.nan, np.float32), 16000, "FLOAT"),
     "NaN"),
    ("silent.wav", lambda p: sf.write(p, np.zeros(16000), 16000), "all silent"),
    ("trunc.wav", None, "truncated"),
])
def test_bad_files_are_skipped_with_reason(tmp_path, write_wav, caplog, name, make, reason):
    good = write_wav("in/good.wav", tone(0.5, 16000), 16000)
    bad = tmp_path / "in" / name
    if make is None:
        full = write_wav("full.wav", tone(1.0, 16000), 16000, "PCM_16").read_bytes()
        bad.write_bytes(full[: len(full) // 2])
    else:
        make(bad)
    out = tmp_path / "ds"
    assert data_main([str(tmp_path / "in"), "--out", str(out)]) == 0
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["counts"]["files"] == 1
    assert [s["source"] for s in meta["skipped"]] == [str(bad)]
    assert reason in meta["skipped"][0]["reason"]
    assert any(name in r.getMessage() and reason in r.getMessage() for r in caplog.records)
    # --strict turns it into an error, and nothing is left behind.
    out2 = tmp_path / "ds2"
    assert data_main([str(tmp_path / "in"), "--out", str(out2), "--strict"]) == 2
    assert not out2.exists()
    assert good.exists()


def test_truncated_flac_is_skipped(tmp_path, write_wav):
    noisy = tone(1.0, 16000) + 0.01 * np.random.default_rng(0).standard_normal(16000)
    full = write_wav("f.flac", noisy, 16000).read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "t.flac").write_bytes(full[: len(full) // 2])
    write_wav("in/ok.wav", tone(0.5, 16000), 16000)
    assert data_main([str(tmp_path / "in"), "--out", str(tmp_path / "ds")]) == 0
    meta = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert meta["counts"]["skipped"] == 1


@pytest.mark.parametrize("argv,message", [
    (["missing_dir", "--out", "OUT"], "no such file or folder"),
    (["EMPTY", "--out", "OUT"], "no audio files found"),
    (["BAD", "--out", "OUT"], "no usable audio"),
    (["GOOD", "--out", "EXISTS"], "already exists"),
    (["GOOD", "--out", "OUT", "--preemphasis", "1.5"], "--preemphasis"),
    (["GOOD", "--out", "OUT", "--val-fraction", "2"], "--val-fraction"),
    (["GOOD", "--out", "OUT", "--sample-rate", "-3"], "--sample-rate"),
    (["--out", "OUT"], "no SOURCE"),
])
def test_cli_errors_exit_2_one_line(tmp_path, write_wav, capsys, argv, message):
    write_wav("good/a.wav", tone(0.5, 16000), 16000)
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.wav").write_bytes(b"RIFF0000junk")
    (tmp_path / "exists").mkdir()
    names = {"GOOD": "good", "EMPTY": "empty", "BAD": "bad", "OUT": "out", "EXISTS": "exists",
             "missing_dir": "missing_dir"}
    argv = [str(tmp_path / names[a]) if a in names else a for a in argv]
    assert data_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_subprocess_exit_code_and_single_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "audiornn", "data", str(tmp_path / "nope"),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].endswith("no such file or folder")
    assert "Traceback" not in r.stderr


def test_interrupt_leaves_nothing(tmp_path, write_wav, monkeypatch):
    for k in range(3):
        write_wav(f"in/{k}.wav", tone(0.5, 16000), 16000)
    calls = []

    def boom(stage, seconds, files):
        calls.append(stage)
        if stage == "encode" and files == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_from_sources([tmp_path / "in"], tmp_path / "ds", dataset.DataConfig(),
                                   progress=boom)
    assert "encode" in calls
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_overwrite_replaces(tmp_path, write_wav):
    write_wav("in/a.wav", tone(0.5, 16000), 16000)
    out = tmp_path / "ds"
    assert data_main([str(tmp_path / "in"), "--out", str(out)]) == 0
    write_wav("in/b.wav", tone(0.5, 16000), 16000)
    assert data_main([str(tmp_path / "in"), "--out", str(out), "--overwrite"]) == 0
    assert json.loads((out / "dataset.json").read_text())["counts"]["files"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "in"]


def test_demo_corpus_is_deterministic(tmp_path):
    from audiornn.data import corpus

    a = corpus.render_track(2.0, 16000, seed=5)
    b = corpus.render_track(2.0, 16000, seed=5)
    assert np.array_equal(a, b) and np.max(np.abs(a)) <= 0.9 + 1e-9
    paths = corpus.write_demo_corpus(tmp_path / "c", n_tracks=2, seconds=1.0)
    assert [audio.info(p).seconds for p in paths] == [1.0, 1.0]


def test_open_dataset_errors(tmp_path):
    from audiornn.errors import AudioRNNError

    with pytest.raises(AudioRNNError, match="no such dataset"):
        dataset.open_dataset(tmp_path / "none")
    (tmp_path / "foreign").mkdir()
    with pytest.raises(AudioRNNError, match="no dataset.json"):
        dataset.open_dataset(tmp_path / "foreign")
    (tmp_path / "foreign" / "dataset.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(AudioRNNError, match="another format"):
        dataset.open_dataset(tmp_path / "foreign")
    (tmp_path / "foreign" / "dataset.json").write_text(
        json.dumps({"format": dataset.FORMAT, "version": 99}))
    with pytest.raises(AudioRNNError, match="newer"):
        dataset.open_dataset(tmp_path / "foreign")


def test_max_silence_shortens_gaps_and_is_recorded(tmp_path, write_wav, capsys):
    rate = 16000
    tone = 0.5 * np.sin(2 * np.pi * 300 * np.arange(rate) / rate)
    write_wav("src/a.wav", np.concatenate([tone, np.zeros(3 * rate), tone]))
    assert _data_main([str(tmp_path / "src"), "--out", str(tmp_path / "ds"), "-q"]) == 0
    meta = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert meta["max_silence"]["seconds"] == 0.25
    assert meta["max_silence"]["removed_seconds"] == pytest.approx(2.75, abs=0.02)
    assert meta["n_codes"] == pytest.approx(2.25 * rate, abs=200)
    assert "2.8 s of silence removed" in capsys.readouterr().out
    assert _data_main([str(tmp_path / "src"), "--out", str(tmp_path / "ds0"), "-q",
                       "--max-silence", "0"]) == 0
    assert json.loads((tmp_path / "ds0" / "dataset.json").read_text())["n_codes"] == 5 * rate
    d = write_wav("dry.wav", tone)
    assert _data_main(["--pair", str(d), str(d), "--out", str(tmp_path / "p"),
                       "--max-silence", "0.3"]) == 2
    assert "applies to folders of recordings" in capsys.readouterr().err
