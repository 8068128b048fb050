"""Small builders shared by the model tests."""

import numpy as np
import soundfile as sf

from audiornn import data as dataset
from audiornn.jobs.generate import build_from_sources


def sine_dataset(tmp_path, seconds=(1.0,), freq=440.0, name="ds", val_fraction=0.2, rate=16000):
    src = tmp_path / f"{name}_src"
    src.mkdir()
    for k, s in enumerate(seconds):
        t = np.arange(int(s * rate)) / rate
        x = 0.6 * np.sin(2 * np.pi * freq * t) + 0.2 * np.sin(2 * np.pi * 3 * freq * t)
        sf.write(src / f"{k}.wav", x, rate, subtype="FLOAT")
    build_from_sources([src], tmp_path / name,
                               dataset.DataConfig(sample_rate=rate, val_fraction=val_fraction))
    return tmp_path / name


def mconf(cell="lstm", layers=1, units=16, embedding=8, feedback=True, dry_input=False,
          n_labels=0, label_embedding=16, vectors=(), dropout=0.0):
    """A ModelConfig with the streams the old fixed inputs meant (prev, dry, label, vectors)."""
    from audiornn.config import ModelConfig
    from audiornn.streams import code_stream, label_stream, vector_stream

    streams = []
    if feedback:
        streams.append(code_stream("prev", "target", embedding))
    if dry_input:
        streams.append(code_stream("dry", "input", embedding))
    if n_labels:
        streams.append(label_stream(n_labels, label_embedding))
    for name, size, per in vectors:
        streams.append(vector_stream(name, size, per))
    return ModelConfig(streams=tuple(streams), cell=cell, layers=layers, units=units,
                       dropout=dropout)


def random_model(mc, seed=0, scale=0.2):
    """The model a config builds, its trainable weights perturbed (seeded) away from the init."""
    import keras

    from audiornn.runtime.model import build_model

    keras.utils.set_random_seed(seed)
    m = build_model(mc)
    rng = np.random.default_rng(seed)
    for w in m.trainable_weights:
        w.assign(w + rng.normal(0, scale, w.shape).astype("float32"))
    return m


def warm_averages(steps: int = 30, momentum: float = 0.99):
    """The optimizer's weight average after each of `steps` Adam steps on one variable, and
    the same computed here: after n steps the momentum is min(M, (1 + n) / (10 + n))."""
    import keras

    from audiornn.heads.base import adam

    opt, v = adam(0.1, momentum), keras.Variable(np.zeros(3, "float32"))
    opt.build([v])
    got, want, avg = [], [], np.zeros(3)
    for n in range(steps):
        grad = np.array([1.0, -2.0, 0.5], "float32") * (n % 3 - 1)
        opt.apply([keras.ops.convert_to_tensor(grad)], [v])
        got.append(np.asarray(opt._model_variables_moving_average[0]))
        m = min(momentum, (1 + n) / (10 + n))
        avg = m * avg + (1 - m) * np.asarray(v)
        want.append(avg)
    return np.array(got), np.array(want)
