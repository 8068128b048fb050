import numpy as np
import pytest

from audiornn import data as dataset
from audiornn.data.windows import WindowSequence
from audiornn.errors import AudioRNNError
from audiornn.jobs.generate import build_from_sources


def ramp_dataset(tmp_path, lengths=(3000, 2000, 1500), val=0.3):
    """A dataset whose codes are known: each file is a distinct sawtooth."""
    import soundfile as sf

    folder = tmp_path / "src"
    folder.mkdir()
    for k, n in enumerate(lengths):
        x = ((np.arange(n) * (k + 1)) % 200 / 100.0 - 1.0) * 0.8
        sf.write(folder / f"{k}.wav", x, 16000, subtype="FLOAT")
    build_from_sources([folder], tmp_path / "ds",
                               dataset.DataConfig(preemphasis=0.0, val_fraction=val))
    return dataset.open_dataset(tmp_path / "ds")


def test_shapes_masks_and_next_code_targets(tmp_path):
    ds = ramp_dataset(tmp_path)
    seq = WindowSequence(ds, "train", window=64, burn_in=8, batch_size=4, seed=3)
    x, y, w = seq[0]
    assert x["prev"].shape == y.shape == w.shape == (4, 64)
    assert np.all(w[:, :8] == 0) and np.all(w[:, 8:] == 1)
    assert np.array_equal(x["prev"][:, 1:], y[:, :-1])  # targets are the next codes
    codes = np.asarray(ds.streams["target"])
    for row in range(4):
        starts = [s for s in range(len(codes) - 64) if np.array_equal(codes[s:s + 64], x["prev"][row])]
        assert starts and np.array_equal(codes[starts[0] + 1:starts[0] + 65], y[row])


def test_windows_never_cross_file_boundaries(tmp_path):
    ds = ramp_dataset(tmp_path)
    seq = WindowSequence(ds, "train", window=500, burn_in=10, batch_size=64, seed=0, steps=5)
    bounds = [(s.offset, s.offset + s.length) for s in ds.split("train")]
    for idx in range(len(seq)):
        for start, seg in seq._train_starts(idx):
            assert seg.offset <= start and start + 501 <= seg.offset + seg.length
            assert (seg.offset, seg.offset + seg.length) in bounds


def test_deterministic_per_seed_and_epoch_and_reshuffled(tmp_path):
    ds = ramp_dataset(tmp_path)
    a = WindowSequence(ds, "train", 64, 8, 4, seed=1)
    b = WindowSequence(ds, "train", 64, 8, 4, seed=1)
    assert np.array_equal(a[0][0]["prev"], b[0][0]["prev"])
    first = a[0][0]["prev"].copy()
    a.on_epoch_end()
    assert not np.array_equal(a[0][0]["prev"], first)
    b.set_epoch(1)
    assert np.array_equal(a[0][0]["prev"], b[0][0]["prev"])
    c = WindowSequence(ds, "train", 64, 8, 4, seed=2)
    assert not np.array_equal(c[0][0]["prev"], first)


def test_validation_is_fixed_and_tiles_scored_positions(tmp_path):
    ds = ramp_dataset(tmp_path, lengths=(4000, 4000, 4000), val=0.3)
    v = WindowSequence(ds, "val", window=100, burn_in=20, batch_size=8, max_windows=None)
    seg = ds.split("val")[0]
    starts = [s for s, _ in v.val_starts]
    assert starts[:3] == [seg.offset, seg.offset + 80, seg.offset + 160]
    v.on_epoch_end()
    x1 = v[0][0]["prev"]
    v.on_epoch_end()
    assert np.array_equal(x1, v[0][0]["prev"])


def test_segment_mode_with_short_windows_takes_later_stretches_in_odd_rows(tmp_path):
    """Windows shorter than the hits: even rows start at a hit, from silence and scored from
    its first code; odd rows take a later stretch of a hit, read as a random window (the
    previous code is the one before it), its burn-in unscored, its positions its own;
    validation tiles every hit (its start, then stretches window - burn-in apart)."""
    from audiornn.streams import code_stream, position_stream

    ds = ramp_dataset(tmp_path, lengths=(900, 700, 600), val=0.0)
    codes = np.asarray(ds.streams["target"])
    seq = WindowSequence(ds, "train", window=256, burn_in=32, batch_size=4, start_mode="segment",
                         streams=(code_stream("prev", "target", 64), position_stream()))
    for idx in range(3):
        x, y, w = seq[idx]
        for row in range(4):
            pos = int(round(float(x["position"][row, 0, 0])))
            seg = next(s for s in ds.segments
                       if np.array_equal(y[row], codes[s.offset + pos:s.offset + pos + 256]))
            if row % 2 == 0:  # a hit's start
                assert pos == 0 and x["prev"][row, 0] == 128 and np.all(w[row] == 1)
            else:
                assert 1 <= pos <= seg.length - 256
                assert np.array_equal(x["prev"][row], codes[seg.offset + pos - 1:][:256])
                assert np.all(w[row, :32] == 0) and np.all(w[row, 32:] == 1)
    (tmp_path / "v").mkdir()
    ds = ramp_dataset(tmp_path / "v", lengths=(9000, 7000, 6000), val=0.1)
    v = WindowSequence(ds, "val", window=256, burn_in=32, batch_size=4, start_mode="segment",
                       max_windows=None)
    seg = ds.split("val")[0]
    k = [s - seg.offset for s, g in v.val_starts if g is seg]
    assert k == list(range(0, seg.length - 256 + 1, 224)) and len(k) > 2


def test_window_longer_than_every_file_is_an_error(tmp_path):
    ds = ramp_dataset(tmp_path)
    with pytest.raises(AudioRNNError, match="longer than every"):
        WindowSequence(ds, "train", window=10000, burn_in=8, batch_size=2)
    with pytest.raises(AudioRNNError, match="burn-in"):
        WindowSequence(ds, "train", window=8, burn_in=8, batch_size=2)


def test_segment_mode_starts_at_segment_with_silence_and_pads(tmp_path):
    ds = ramp_dataset(tmp_path, lengths=(300, 200, 150), val=0.0)
    seq = WindowSequence(ds, "train", window=300, burn_in=0, batch_size=3, start_mode="segment")
    x, y, w = seq[0]
    codes = np.asarray(ds.streams["target"])
    for row in range(3):
        n = int(w[row].sum())
        assert x["prev"][row, 0] == 128
        seg = [s for s in ds.segments if s.length == n]
        assert seg
        s = seg[0]
        assert np.array_equal(y[row, :n], codes[s.offset:s.offset + n])
        assert np.all(w[row, n:] == 0)
