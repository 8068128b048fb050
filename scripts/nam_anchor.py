"""The anchor for bench_gear.py (not a test, not part of the package): the Neural Amp
Modeler trainer on one capture, for a fixed wall-clock budget.

Run by a Python that has the `neural-amp-modeler` package (PyTorch), never the
project's own environment:

  NAM_PYTHON scripts/nam_anchor.py --dry reamp.wav --wet rec.wav --delay L \
      --val START STOP --arch feather|lstm --minutes M --music music_dry.wav --out DIR

Trains with NAM's full trainer (`nam.train.full.main`) on the raw pair, samples
[0, START) for training and [START, STOP) for validation, `delay` L (the latency
`data --pair` found), Lightning's `max_time` as the budget. The architectures are
the ones the issue's table used: NAM's WaveNet "feather" (the same layout and size as
audiornn's `--core wavenet --shape feather`) and its LSTM 1 x 24, with the
learning rates and losses of NAM's own simplified trainer. Writes DIR/model.nam,
then the best model's output for the validation segment (from silence) and for the
held-out music, as float WAVs; bench_gear.py scores them as it scores audiornn.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from nam.models._from_nam import init_from_nam
from nam.train import full

_A = [1, 2, 4, 8, 16, 32, 64]
_B = [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


def _array(inputs: int, channels: int, head: int, dilations: list, last: bool) -> dict:
    return {"input_size": inputs, "condition_size": 1, "channels": channels,
            "head": {"out_channels": head, "kernel_size": 1, "bias": last},
            "kernel_size": 3, "dilations": dilations, "activation": "Tanh", "gated": False}


MODELS = {
    "feather": {
        "net": {"name": "WaveNet", "config": {"head_scale": 0.02, "layers_configs": [
            _array(1, 8, 4, _A, False), _array(8, 4, 1, _B, True)]}},
        "loss": {"val_loss": "esr", "mrstft_weight": 2e-4},
        "optimizer": {"lr": 0.004},
        "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.993}},
    },
    "lstm": {
        "net": {"name": "LSTM", "config": {"num_layers": 1, "hidden_size": 24,
                                           "train_burn_in": 4096, "train_truncate": 512}},
        "loss": {"val_loss": "esr", "mask_first": 4096, "pre_emph_weight": 1.0,
                 "pre_emph_coef": 0.85},
        "optimizer": {"lr": 0.01},
        "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.995}},
    },
}


def apply(net, x: np.ndarray) -> np.ndarray:
    """The model on `x` from silence, in one pass (NAM pads the start with zeros)."""
    with torch.no_grad():
        return net(torch.from_numpy(x.astype(np.float32))).numpy().astype(np.float64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry", required=True)
    p.add_argument("--wet", required=True)
    p.add_argument("--delay", type=int, default=0)
    p.add_argument("--val", type=int, nargs=2, required=True, metavar=("START", "STOP"))
    p.add_argument("--arch", choices=list(MODELS), required=True)
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--music", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    data = {"train": {"stop_samples": a.val[0], "ny": 8192},
            "validation": {"start_samples": a.val[0], "stop_samples": a.val[1], "ny": None,
                           "require_input_pre_silence": None},
            "common": {"x_path": a.dry, "y_path": a.wet, "delay": a.delay,
                       "allow_unequal_lengths": True}}
    learning = {"train_dataloader": {"batch_size": 16, "shuffle": True, "pin_memory": False,
                                     "drop_last": True, "num_workers": 0},
                "val_dataloader": {},
                "trainer": {"max_epochs": 100000, "max_time": {"seconds": round(60 * a.minutes)},
                            "accelerator": "cpu", "enable_progress_bar": False}}
    full.main(data, MODELS[a.arch], learning, out, no_show=True, make_plots=False)
    net = init_from_nam(json.loads((out / "model.nam").read_text()))
    net.eval()
    dry, rate = sf.read(a.dry, dtype="float64")
    sf.write(out / "val_out.wav", apply(net, dry[a.val[0]:a.val[1]]), rate, subtype="FLOAT")
    music, rate = sf.read(a.music, dtype="float64")
    sf.write(out / "music_out.wav", apply(net, music), rate, subtype="FLOAT")


if __name__ == "__main__":
    main()
