"""The level a generated hit follows: the envelope stream's values at generation.

A run trained with the envelope stream (data --envelope on) keeps every
training hit's envelope (config.job.envelopes: the stream's values every
dsp.envelope_hop samples). A generated hit follows:
- at a point of the map (--at, a label's centre, a dropped hit's place): the
  envelopes of the training hits nearest to it, weighted by inverse squared
  distance, so that a line across the map moves from one hit's decay to the other's;
- without a map: the mean envelope of the chosen label's (or blend's) hits;
- for --like: the dropped hit's own envelope (`of_signal`).
"""

from __future__ import annotations

import numpy as np

from audiornn import dsp
from audiornn.errors import AudioRNNError

#: How many training hits' envelopes a point of the map blends.
NEAREST = 4


def table(config) -> np.ndarray:
    """(hits, frames) the training hits' envelopes (the stream's values, 0..1)."""
    env = config.job.envelopes
    if not env:
        raise AudioRNNError("this run keeps no training envelopes (train it again with "
                            "data --envelope on)")
    return np.asarray(env, np.float64)


def at_points(config, map_points: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(num, frames): for each point, the envelopes of the NEAREST training hits around it,
    weighted by inverse squared distance (a training hit's own point: its envelope)."""
    return near_weights(map_points, points) @ table(config)


def near_weights(map_points: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(num, hits): for each point, the weights of the NEAREST training hits around it, by
    inverse squared distance, summing to 1 (the others 0; at a hit's own point, that hit)."""
    map_points = np.asarray(map_points, np.float64)
    out = np.zeros((len(points), len(map_points)))
    for r, p in enumerate(np.asarray(points, np.float64)):
        d2 = np.sum((map_points - p) ** 2, axis=1)
        near = np.argsort(d2)[:NEAREST]
        w = 1.0 / np.maximum(d2[near], 1e-12)
        out[r, near] = w / w.sum()
    return out


def for_labels(config, weights: np.ndarray | None, num: int) -> np.ndarray:
    """(num, frames): the mean envelope of each row's label blend's hits (all hits without
    labels)."""
    env = table(config)
    labels = np.array([-1 if h[1] is None else int(h[1]) for h in config.job.hits])
    out = np.tile(env.mean(axis=0), (num, 1))
    if weights is None or (labels < 0).all():
        return out
    for r, w in enumerate(np.asarray(weights, np.float64)[:num]):
        per = [(v, env[labels == k].mean(axis=0)) for k, v in enumerate(w) if v > 0 and (labels == k).any()]
        if per:
            out[r] = sum(v * e for v, e in per) / sum(v for v, _ in per)
    return out


def steps(frames: np.ndarray, rate: int, n: int) -> np.ndarray:
    """(num, n) the stream's per-step values from (num, frames) envelopes."""
    hop = dsp.envelope_hop(rate)
    db = np.asarray(frames, np.float64) * -dsp.ENVELOPE_FLOOR_DB + dsp.ENVELOPE_FLOOR_DB
    return np.stack([dsp.envelope_values(row, hop, n) for row in db])


def of_signal(y: np.ndarray, rate: int, n: int) -> np.ndarray:
    """(n,) the stream's values for a hit (aligned and levelled like the dataset's)."""
    hop = dsp.envelope_hop(rate)
    return dsp.envelope_values(dsp.envelope_db(y, hop), hop, n)
