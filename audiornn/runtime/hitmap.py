"""The one-shots' map: a learned point per training hit, and placing a new hit on it.

The one-shot job learns a latent point per training hit together with the
model (an auto-decoder: the point is a per-sequence stream, its table a
trainable embedding with a small L2 penalty that keeps the map compact and
centred). Training starts the points from the hits' sound (`initial_points`:
brightness along the first axis, length along the second), so that similar hits start close and the
network can use the map from its first step. The table's last row is the centre (0), used for held-out hits. A
point anywhere on the map conditions generation (`generate --at`); a new hit
is placed by fitting its point with the model frozen (`generate --like`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np

from audiornn.config import RunConfig
from audiornn.errors import AudioRNNError
from audiornn.files import write_json_atomic
from audiornn.runtime.envelopes import near_weights


@dataclasses.dataclass
class HitMap:
    """The training hits' points, names and labels.

    Attributes:
      points: (n, dim) coordinates.
      names: the hits' file names.
      labels: (n,) label indices (-1 where the dataset has no labels).
      label_names: the run's label names.
    """

    points: np.ndarray
    names: list[str]
    labels: np.ndarray
    label_names: list[str]

    @classmethod
    def from_model(cls, model: keras.Model, config: RunConfig) -> HitMap:
        from audiornn.cores.base import latent_points

        return cls.from_table(latent_points(model), config)

    @classmethod
    def from_table(cls, table: np.ndarray, config: RunConfig) -> HitMap:
        hits = config.job.hits
        points = np.asarray(table, np.float64)[:-1]
        labels = np.array([-1 if h[1] is None else int(h[1]) for h in hits], int)
        return cls(points, [h[0] for h in hits], labels, list(config.job.labels))

    @property
    def dim(self) -> int:
        return int(self.points.shape[1])

    @property
    def radius(self) -> float:
        """The spread of the map: the RMS distance of the points from their mean."""
        c = self.points - self.points.mean(axis=0)
        return float(np.sqrt(np.mean(np.sum(c * c, axis=1)))) or 1.0

    def bounds(self, margin: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
        """The points' bounding box, widened by `margin` of the radius on every side."""
        pad = margin * self.radius
        return self.points.min(axis=0) - pad, self.points.max(axis=0) + pad

    def nearest(self, point) -> int:
        """Index of the training hit nearest to a point."""
        return int(np.argmin(np.sum((self.points - np.asarray(point)) ** 2, axis=1)))

    def centroid(self, weights: np.ndarray | None = None) -> np.ndarray:
        """The mean point of a label blend's hits ((n_labels,) weights), or of all hits."""
        if weights is None or not len(self.label_names) or (self.labels < 0).all():
            return self.points.mean(axis=0)
        out = np.zeros(self.dim)
        for k, w in enumerate(np.asarray(weights, np.float64)):
            if w > 0 and (self.labels == k).any():
                out += w * self.points[self.labels == k].mean(axis=0)
        total = sum(w for k, w in enumerate(weights) if w > 0 and (self.labels == k).any())
        return out / total if total else self.points.mean(axis=0)

    def label_weights(self, points: np.ndarray, blend: bool = True) -> np.ndarray | None:
        """(n, n_labels): each point's label blend, that of the training hits nearest to
        it, weighted as their envelopes are (envelopes.near_weights), so that the label
        moves smoothly along a line across the map as the point does; with `blend` off,
        one-hot: the nearest hit's label."""
        if not self.label_names:
            return None
        hits = np.eye(len(self.label_names))[np.maximum(self.labels, 0)]  # (hits, n_labels)
        if blend:
            return near_weights(self.points, points) @ hits
        return hits[[self.nearest(p) for p in points]]

    def grid(self, n: int = 5) -> np.ndarray:
        """(n * n, 2) points evenly across the map's box (the first two dimensions; the
        others at their mean), row by row from the top."""
        lo, hi = self.bounds(0.1)
        xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(hi[1], lo[1], n)
        pts = np.tile(self.points.mean(axis=0), (n * n, 1))
        pts[:, :2] = np.array([(x, y) for y in ys for x in xs])
        return pts

    def label_of(self, k: int) -> str | None:
        return self.label_names[self.labels[k]] if self.labels[k] >= 0 else None

    def to_json(self) -> dict:
        lo, hi = self.bounds()
        return {"dim": self.dim, "labels": self.label_names, "bounds": [lo.tolist(), hi.tolist()],
                "radius": self.radius,
                "points": [{"name": n, "label": self.label_of(k), "xy": p.round(5).tolist()}
                           for k, (n, p) in enumerate(zip(self.names, self.points))]}


def hit_features(x: np.ndarray, rate: int) -> np.ndarray:
    """What a hit sounds like, as numbers: its average log spectrum (dB in 129 bands)
    and its energy envelope (dB in 12 stretches)."""
    from audiornn import metrics

    spectrum = 10 * np.log10(metrics.average_spectrum(x, rate, 256)[1] + 1e-10)
    env = [10 * np.log10(np.mean(p**2) + 1e-10) for p in np.array_split(np.asarray(x), 12)]
    return np.concatenate([spectrum, env])


def initial_points(hits: list[np.ndarray], rate: int, dim: int) -> np.ndarray:
    """Where training starts the map (training then moves the points: an auto-decoder).

    The first coordinate is the hit's brightness (its log spectral centroid), so that
    the map runs from dark (left) to bright (right) and a line between two hits passes
    through the brightnesses between theirs. The second is its length (the log of its
    energy's mean time), from short (bottom) to long. Any others are the principal
    components of the rest of the hits' sound (`hit_features`, each standardized, with
    brightness and length taken out). Each is standardized, the second and later at
    half brightness's spread, so brightness decides most which hits are near; the points
    are then scaled to a radius of 1.
    """
    from audiornn import metrics

    def standard(v):
        v = np.asarray(v, np.float64)
        return (v - v.mean()) / (v.std() + 1e-9)

    bright = standard(np.log([max(metrics.spectral_centroid(np.asarray(x), rate), 1.0) for x in hits]))
    length = standard(np.log([energy_time(x, rate) + 1e-3 for x in hits]))
    pts = np.zeros((len(hits), dim))
    pts[:, 0] = bright
    if dim > 1:
        pts[:, 1] = 0.5 * length
    if dim > 2:
        f = np.array([hit_features(x, rate) for x in hits])
        f = (f - f.mean(axis=0)) / (f.std(axis=0) + 1e-6)
        known = np.stack([bright, length], axis=1)
        rest = f - known @ np.linalg.lstsq(known, f, rcond=None)[0]
        u, s, _ = np.linalg.svd(rest, full_matrices=False)
        k = min(dim - 2, u.shape[1])
        other = u[:, :k] * s[:k]
        spread = np.sqrt(np.mean(other[:, 0] ** 2)) if k else 0.0
        if spread > 0:
            pts[:, 2:2 + k] = 0.5 * other / spread
    r = np.sqrt(np.mean(np.sum(pts**2, axis=1)))
    return pts / r if r > 0 else pts


def energy_time(x: np.ndarray, rate: int) -> float:
    """The energy-weighted mean time of a hit, in seconds: short hits small, ringing ones large."""
    e = np.asarray(x, np.float64) ** 2
    return float(np.sum(np.arange(len(e)) * e) / max(np.sum(e), 1e-20) / rate)


def write_map(run_dir: str | os.PathLike, model: keras.Model, config: RunConfig) -> Path:
    """Writes RUN/map.json: every training hit's point, file name and label."""
    path = Path(run_dir) / "map.json"
    write_json_atomic(path, HitMap.from_model(model, config).to_json())
    return path


def parse_point(text: str, dim: int) -> np.ndarray:
    """`--at X,Y`: dim finite numbers separated by commas."""
    try:
        v = np.array([float(t) for t in str(text).split(",")], np.float64)
    except ValueError:
        v = np.zeros(0)
    if v.size != dim or not np.all(np.isfinite(v)):
        raise AudioRNNError(f"--at takes {dim} finite numbers separated by commas "
                            f"(a point of the map), got {text!r}")
    return v


def variations(centre: np.ndarray, num: int, spread: float, radius: float, seed: int) -> np.ndarray:
    """`num` points around a centre: the first is the centre, the others Gaussian at
    `spread` times the map's radius."""
    if not (spread >= 0 and np.isfinite(spread)):
        raise AudioRNNError(f"--spread must be a finite number >= 0, got {spread}")
    rng = np.random.default_rng(seed)
    pts = centre + spread * radius * rng.standard_normal((num, centre.size)) / np.sqrt(centre.size)
    pts[0] = centre
    return pts


# ---------------------------------------------------------------- placing a new hit


def hit_signal(path: str | os.PathLike, config: RunConfig) -> np.ndarray:
    """A user's hit read, resampled, aligned, levelled and cut like the dataset's."""
    from audiornn import dsp
    from audiornn.data import audio

    o, codec = config.job.layout, config.codec
    x, rate = audio.read(path)
    y = dsp.resample(x, rate, codec.sample_rate)
    if not len(y) or float(np.max(np.abs(y))) < 1e-4:
        raise AudioRNNError(f"{path}: silent (peak below -80 dBFS); not a usable hit")
    y = dsp.fix_length(dsp.align_hit(y, o.attack_samples, o.align), o.length_samples)
    return y * dsp.output_gain(float(np.max(np.abs(y))), o.hit_level)


def hit_codes(path: str | os.PathLike, config: RunConfig, seconds: float) -> np.ndarray:
    """A user's hit (`hit_signal`) up to `seconds` past its mark, as codes (its shape, its
    level taken out, where the run learned shapes: data --envelope on)."""
    o, codec = config.job.layout, config.codec
    n = min(o.length_samples, o.attack_samples + max(1, int(round(seconds * codec.sample_rate))))
    return codec.encode(hit_shape(hit_signal(path, config), config)[:n])[0].astype(np.int32)


def hit_shape(y: np.ndarray, config: RunConfig) -> np.ndarray:
    """A hit (aligned and levelled like the dataset's) as the run's codes hold it: where the
    run learned shapes (data --envelope on), divided by its envelope's gain."""
    from audiornn import dsp
    from audiornn.runtime import envelopes

    if not config.job.layout.envelope:
        return y
    return y / dsp.envelope_gain(envelopes.of_signal(y, config.codec.sample_rate, len(y)))


def hit_envelope(path: str | os.PathLike, config: RunConfig) -> np.ndarray:
    """(length,) a user's hit's envelope stream values (runtime/envelopes.py)."""
    from audiornn.runtime import envelopes

    o = config.job.layout
    return envelopes.of_signal(hit_signal(path, config), config.codec.sample_rate, o.length_samples)


def _fit_model(model: keras.Model, config: RunConfig, rows: int) -> keras.Model:
    """The run's model with a latent table of `rows` points, every other weight copied and frozen."""
    from audiornn.runtime.model import build_model

    streams = tuple(dataclasses.replace(s, classes=rows) if s.behaviour.map else s
                    for s in config.model.streams)
    fm = build_model(dataclasses.replace(config.model, streams=streams))
    for layer in fm.layers:
        if layer.weights and layer.name != "latent_embedding":
            layer.set_weights(model.get_layer(layer.name).get_weights())
            layer.trainable = False
    return fm


def _batch(fm: keras.Model, config: RunConfig, codes: np.ndarray, labels: np.ndarray,
           envelope: np.ndarray | None = None):
    """Teacher-forced inputs for `rows` copies of one hit, row k at latent row k."""
    hit = SimpleNamespace(codes=codes, labels=labels, rows=len(labels), n=len(codes),
                          scale=1.0 / config.job.layout.length_samples, envelope=envelope)
    x = {s.name: s.behaviour.fit_value(s, hit) for s in config.model.streams}
    return x, np.tile(codes, (hit.rows, 1))


def _row_bits(fm: keras.Model, x: dict, y: np.ndarray) -> np.ndarray:
    """Bits per sample of each row."""
    logits = np.asarray(fm.predict_on_batch(x), np.float64)
    logits -= logits.max(axis=-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    ce = -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
    return ce.mean(axis=1) / np.log(2)


def place(model: keras.Model, config: RunConfig, path: str | os.PathLike, *, starts: int = 4,
          steps: int = 16, seconds: float = 0.1, step_size: float = 0.1,
          progress=None) -> dict:
    """Places a new hit on the map: the point (and label) under which the frozen model
    gives the hit the highest likelihood.

    First the hit is scored at every training hit's point with that hit's label
    (one forward pass); from the `starts` best, `steps` Adam steps of at most
    `step_size` times the map's radius move the points, each kept inside the
    map's box (`HitMap.bounds`). Only the first `seconds` after the peak are
    fitted: the attack and early decay carry most of a hit's character.

    Returns {"point", "label" (index or -1), "bits", "nearest", "bits_start"}.
    """
    from audiornn.cores.base import latent_points, set_latent_points

    hm = HitMap.from_model(model, config)
    codes = hit_codes(path, config, seconds)
    env = hit_envelope(path, config) if config.job.layout.envelope else None
    n = len(hm.points)
    fm = _fit_model(model, config, n)
    set_latent_points(fm, hm.points)
    x, y = _batch(fm, config, codes, hm.labels, env)
    bits = _row_bits(fm, x, y)
    if progress:
        progress(1)
    best = np.argsort(bits)[:starts]
    k = len(best)
    fm = _fit_model(model, config, k)
    set_latent_points(fm, hm.points[best])
    lo, hi = hm.bounds()
    fm.compile(optimizer=keras.optimizers.Adam(step_size * hm.radius),
               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _batch(fm, config, codes, hm.labels[best], env)
    for i in range(steps):
        fm.train_on_batch(x, y)
        set_latent_points(fm, np.clip(latent_points(fm), lo, hi))
        if progress:
            progress(2 + i)
    fitted = _row_bits(fm, x, y)
    points = latent_points(fm)
    j = int(np.argmin(fitted))
    if fitted[j] > bits[best[0]]:  # the steps made it worse: keep the best start
        point, b, label = hm.points[best[0]], float(bits[best[0]]), int(hm.labels[best[0]])
    else:
        point, b, label = points[j], float(fitted[j]), int(hm.labels[best[j]])
    return {"point": point, "label": label, "bits": b,
            "bits_start": float(bits[best[0]]), "nearest": hm.nearest(point)}
