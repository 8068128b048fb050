"""Small builders shared by the model tests."""

import numpy as np
import soundfile as sf

from audiornn import dataset


def sine_dataset(tmp_path, seconds=(1.0,), freq=440.0, name="ds", val_fraction=0.2, rate=16000):
    src = tmp_path / f"{name}_src"
    src.mkdir()
    for k, s in enumerate(seconds):
        t = np.arange(int(s * rate)) / rate
        x = 0.6 * np.sin(2 * np.pi * freq * t) + 0.2 * np.sin(2 * np.pi * 3 * freq * t)
        sf.write(src / f"{k}.wav", x, rate, subtype="FLOAT")
    dataset.build_from_sources([src], tmp_path / name,
                               dataset.DataConfig(sample_rate=rate, val_fraction=val_fraction))
    return tmp_path / name
