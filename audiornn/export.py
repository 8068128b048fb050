"""`python -m audiornn export RUN --format aidax|nam --out FILE`: a regression effect for plugins.

Two formats, both JSON:

- **aidax**: RTNeural's model JSON as AIDA-X loads it: `in_shape`
  [null, null, inputs], `in_skip` (1: the dry input is added to the output),
  `in_gain`/`out_gain` in dB, and `layers`, each with its `type` ("lstm",
  "gru", "dense"), `activation`, `shape` [null, null, units] and `weights` in
  Keras' layout (recurrent: kernel (in, G), recurrent kernel (units, G), bias;
  gates i, f, c, o for LSTM and z, r, h for GRU). Knob models take the knobs
  as extra inputs after the dry sample.
- **nam**: Neural Amp Modeler's `.nam`: `version`, `architecture`, `config`,
  `sample_rate`, `metadata` and one flat `weights` list.
  - "LSTM" (`--core flat`): `config` {num_layers, input_size, hidden_size};
    per layer the (4H, in + H) matrix over [x, h] row by row (gates i, f, g,
    o), the bias, the initial hidden and cell states; then the head's H
    weights and its bias.
  - "WaveNet" (`--core wavenet`): `config` {layers: per layer array
    {input_size, condition_size, head_size, channels, kernel_size, dilations,
    activation, gated, head_bias}, head: null, head_scale}; per array the
    rechannel weights, per layer the dilated conv's weights and bias, the
    input mixer's weights, the 1x1's weights and bias, then the head
    rechannel's weights (and bias in the last array); head_scale last. Every
    convolution's weights are PyTorch's (out, in, kernel) flattened row-major
    (kernel tap 0 the oldest sample).

A run that a format cannot hold is refused with the option that would make it
exportable.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from audiornn import heads, streams
from audiornn.errors import AudioRNNError
from audiornn.files import atomic_path

NAM_VERSION = "0.5.4"
#: The hidden sizes AIDA-X compiles its recurrent layers for (one layer, 1 to 3 inputs).
AIDAX_UNITS = (8, 12, 16, 20, 32, 40, 64, 80)
AIDAX_MAX_INPUTS = 3


def _open(run_dir: Path):
    """The run's model, config and knobs, refused where no format can hold it."""
    from audiornn.runtime.model import load_run

    model, cfg = load_run(run_dir)
    m = cfg.model
    if not heads.get(m.head).exports:
        raise AudioRNNError(f"{run_dir}: the classification head cannot be exported (plugins play "
                            "one float sample per step); train with --head regression")
    knobs = streams.knobs(m.streams)
    if any(s.per == "step" for s in knobs):
        raise AudioRNNError(f"{run_dir}: per-step conditions cannot be exported; give the knobs "
                            "one value per pair (--knob)")
    return model, cfg, knobs


def _weights(run_dir: Path, opened=None):
    model, cfg, knobs = opened or _open(run_dir)
    m = cfg.model
    if m.core != "flat":
        raise AudioRNNError(f"{run_dir}: AIDA-X loads recurrent models; this run is --core "
                            f"{m.core} (export it with --format nam, or train with --core flat)")
    rnns = [model.get_layer(f"rnn{i}").get_weights() for i in range(m.layers)]
    head = model.get_layer("head").get_weights()
    return cfg, rnns, head, knobs


def _validation(run_dir: Path) -> dict:
    """RUN/validation.json (what `train` measured over whole segments), {} before it."""
    path = run_dir / "validation.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _validation_esr(run_dir: Path) -> float | None:
    """The whole-segment validation ESR that `train` measured (RUN/validation.json); for runs
    trained before it, the best windowed `val_esr` of history.csv."""
    whole = run_dir / "validation.json"
    if whole.exists():
        return float(json.loads(whole.read_text())["esr"])
    path = run_dir / "history.csv"
    if not path.exists():
        return None
    with open(path, newline="") as f:
        vals = [float(r["val_esr"]) for r in csv.DictReader(f) if r.get("val_esr")]
    return min(vals) if vals else None


def to_aidax(run_dir: str | Path) -> dict:
    """The run as AIDA-X / RTNeural model JSON (a dict)."""
    run_dir = Path(run_dir)
    cfg, rnns, head, knobs = _weights(run_dir)
    m = cfg.model
    if m.layers != 1:
        raise AudioRNNError(f"{run_dir}: AIDA-X loads one recurrent layer, this run has "
                            f"{m.layers}; train with --layers 1")
    if m.units not in AIDAX_UNITS:
        raise AudioRNNError(f"{run_dir}: AIDA-X loads hidden sizes {', '.join(map(str, AIDAX_UNITS))}; "
                            f"this run has {m.units}; train with --units 32 (or another of them)")
    n_in = 1 + sum(s.size for s in knobs)
    if n_in > AIDAX_MAX_INPUTS:
        raise AudioRNNError(f"{run_dir}: AIDA-X takes at most {AIDAX_MAX_INPUTS - 1} knobs; this "
                            f"run has {n_in - 1}")
    kernel, recurrent, bias = rnns[0]
    return {
        "in_shape": [None, None, n_in],
        "in_skip": int(m.skip),
        "in_gain": 0.0,
        "out_gain": 0.0,
        "sample_rate": cfg.codec.sample_rate,
        "knobs": [s.name for s in knobs],
        "metadata": _metadata(run_dir, cfg),
        "layers": [
            {"type": m.cell, "activation": "", "shape": [None, None, m.units],
             "weights": [kernel.tolist(), recurrent.tolist(), bias.tolist()]},
            {"type": "dense", "activation": "", "shape": [None, None, 1],
             "weights": [head[0].tolist(), head[1].tolist()]},
        ],
    }


def _metadata(run_dir: Path, cfg) -> dict:
    """NAM's metadata: the name, `loudness` (the model's output RMS in dBFS over the capture's
    validation segment) and, under `training`, the whole-segment validation ESR, the
    recording's latency (samples the gear's output lagged the dry file, removed in training)
    and the rate."""
    v = _validation(run_dir)
    return {"name": run_dir.name, "modeled_by": "audiornn",
            "loudness": v.get("output_rms_dbfs"),
            "training": {"validation_esr": _validation_esr(run_dir),
                         "latency_samples": v.get("latency_samples"),
                         "sample_rate": cfg.codec.sample_rate}}


def _nam_wavenet(run_dir: Path, model, cfg, knobs) -> dict:
    from audiornn.cores import wavenet

    if cfg.model.skip:
        raise AudioRNNError(f"{run_dir}: NAM's WaveNet has no input skip; train without --skip")
    if knobs:
        raise AudioRNNError(f"{run_dir}: NAM's WaveNet takes the guitar alone; knob models "
                            "export with --core flat --format aidax")

    def torch(kernel):  # Keras (kernel, in, out) -> PyTorch (out, in, kernel), flattened
        return np.transpose(kernel, (2, 1, 0)).reshape(-1)

    arrays = wavenet.layer_weights(model, cfg.model)
    layers, flat = [], []
    for a, arr in enumerate(arrays):
        last = a == len(arrays) - 1
        ch = arr["rechannel"].shape[2]
        layers.append({"input_size": int(arr["rechannel"].shape[1]),
                       "condition_size": 1, "head_size": int(arr["head"].shape[2]),
                       "channels": int(ch), "kernel_size": wavenet.KERNEL,
                       "dilations": [lay["dilation"] for lay in arr["layers"]],
                       "activation": "Tanh", "gated": False, "head_bias": last})
        flat.append(torch(arr["rechannel"]))
        for lay in arr["layers"]:
            flat += [torch(lay["conv"]), lay["conv_bias"], torch(lay["mixer"]),
                     torch(lay["out"]), lay["out_bias"]]
        flat.append(torch(arr["head"]))
        if last:
            flat.append(arr["head_bias"])
    flat.append(np.ones(1))  # head_scale: the regression head's Dense(1) is the last rechannel
    return {
        "version": NAM_VERSION,
        "architecture": "WaveNet",
        "config": {"layers": layers, "head": None, "head_scale": 1.0},
        "weights": np.concatenate(flat).astype(np.float64).tolist(),
        "sample_rate": cfg.codec.sample_rate,
        "metadata": _metadata(run_dir, cfg),
    }


def to_nam(run_dir: str | Path) -> dict:
    """The run as a Neural Amp Modeler `.nam` file (a dict)."""
    run_dir = Path(run_dir)
    model, cfg, knobs = _open(run_dir)
    if cfg.model.core == "wavenet":
        return _nam_wavenet(run_dir, model, cfg, knobs)
    cfg, rnns, head, knobs = _weights(run_dir, (model, cfg, knobs))
    m = cfg.model
    if m.cell != "lstm":
        raise AudioRNNError(f"{run_dir}: NAM's recurrent architecture is the LSTM; train with --cell lstm")
    if m.skip:
        raise AudioRNNError(f"{run_dir}: NAM's LSTM has no input skip; train without --skip "
                            "(or export with --format aidax)")
    if knobs:
        raise AudioRNNError(f"{run_dir}: NAM's LSTM takes the guitar alone; knob models export "
                            "with --format aidax")
    flat = []
    for kernel, recurrent, bias in rnns:
        w = np.concatenate([kernel, recurrent], axis=0).T  # (4H, in + H), rows over [x, h]
        flat += [w.reshape(-1), bias, np.zeros(m.units), np.zeros(m.units)]
    flat += [head[0][:, 0], head[1]]
    return {
        "version": NAM_VERSION,
        "architecture": "LSTM",
        "config": {"num_layers": m.layers, "input_size": 1, "hidden_size": m.units},
        "weights": np.concatenate(flat).astype(np.float64).tolist(),
        "sample_rate": cfg.codec.sample_rate,
        "metadata": _metadata(run_dir, cfg),
    }


#: Each format's name -> the function that turns a run into its JSON document. To add a
#: format, write its function above and name it here.
FORMATS = {"aidax": to_aidax, "nam": to_nam}


def export(run_dir: str | Path, fmt: str, out: str | Path) -> str:
    """Writes the run in `fmt` to `out` (atomically); returns a one-line summary."""
    if fmt not in FORMATS:
        raise AudioRNNError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    doc = FORMATS[fmt](run_dir)
    out = Path(out)
    if not out.parent.is_dir():
        raise AudioRNNError(f"{out}: its folder does not exist")
    from audiornn.runtime import ir

    h = ir.load(run_dir)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(doc))
    line = f"wrote {out} ({fmt}, {out.stat().st_size / 1024:.0f} KiB)"
    if h is not None:  # the cab and the room (train --ir): the plugin's IR slot loads it
        rate = json.loads((Path(run_dir) / "config.json").read_text())["codec"]["sample_rate"]
        side = ir.save_as(out.with_name(out.stem + ".ir.wav"), h, rate)
        line += (f" and {side} (the impulse response, {len(h) / rate:.2f} s: load it in the "
                 "plugin's IR slot)")
    return line
