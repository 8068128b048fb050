"""`python -m audiornn` with the map started as before brightness led it: the principal
components of the hits' features alone. The baseline of `bench_kits.py --pca-map`."""

import sys

import numpy as np

from audiornn.runtime import hitmap


def pca_points(hits: list[np.ndarray], rate: int, dim: int) -> np.ndarray:
    """The principal components of the hits' features (each standardized), radius 1."""
    f = np.array([hitmap.hit_features(x, rate) for x in hits])
    f = (f - f.mean(axis=0)) / (f.std(axis=0) + 1e-6)
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    pts = np.zeros((len(hits), dim))
    k = min(dim, u.shape[1])
    pts[:, :k] = u[:, :k] * s[:k]
    r = np.sqrt(np.mean(np.sum(pts**2, axis=1)))
    return pts / r if r > 0 else pts


if __name__ == "__main__":
    hitmap.initial_points = pca_points
    from audiornn.__main__ import main

    sys.exit(main(sys.argv[1:]))
