"""`python -m audiornn export RUN --format aidax|nam --out FILE`: a regression effect for plugins.

Two formats, both JSON:

- **aidax**: RTNeural's model JSON as AIDA-X loads it: `in_shape`
  [null, null, inputs], `in_skip` (1: the dry input is added to the output),
  `in_gain`/`out_gain` in dB, and `layers`, each with its `type` ("lstm",
  "gru", "dense"), `activation`, `shape` [null, null, units] and `weights` in
  Keras' layout (recurrent: kernel (in, G), recurrent kernel (units, G), bias;
  gates i, f, c, o for LSTM and z, r, h for GRU). Knob models take the knobs
  as extra inputs after the dry sample.
- **nam**: Neural Amp Modeler's `.nam`: `version`, `architecture` "LSTM",
  `config` {num_layers, input_size, hidden_size}, `sample_rate`, `metadata`
  and one flat `weights` list: per layer the (4H, in + H) matrix over [x, h]
  row by row (gates i, f, g, o), the bias, the initial hidden and cell
  states; then the head's H weights and its bias.

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


def _weights(run_dir: Path):
    from audiornn.runtime.model import load_run

    model, cfg = load_run(run_dir)
    m = cfg.model
    if not heads.get(m.head).exports:
        raise AudioRNNError(f"{run_dir}: the classification head cannot be exported (plugins play "
                            "one float sample per step); train with --head regression")
    rnns = [model.get_layer(f"rnn{i}").get_weights() for i in range(m.layers)]
    head = model.get_layer("head").get_weights()
    knobs = streams.knobs(m.streams)
    if any(s.per == "step" for s in knobs):
        raise AudioRNNError(f"{run_dir}: per-step conditions cannot be exported; give the knobs "
                            "one value per pair (--knob)")
    return cfg, rnns, head, knobs


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
        "layers": [
            {"type": m.cell, "activation": "", "shape": [None, None, m.units],
             "weights": [kernel.tolist(), recurrent.tolist(), bias.tolist()]},
            {"type": "dense", "activation": "", "shape": [None, None, 1],
             "weights": [head[0].tolist(), head[1].tolist()]},
        ],
    }


def to_nam(run_dir: str | Path) -> dict:
    """The run as a Neural Amp Modeler `.nam` file (a dict)."""
    run_dir = Path(run_dir)
    cfg, rnns, head, knobs = _weights(run_dir)
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
    esr = _validation_esr(run_dir)
    return {
        "version": NAM_VERSION,
        "architecture": "LSTM",
        "config": {"num_layers": m.layers, "input_size": 1, "hidden_size": m.units},
        "weights": np.concatenate(flat).astype(np.float64).tolist(),
        "sample_rate": cfg.codec.sample_rate,
        "metadata": {"name": run_dir.name, "modeled_by": "audiornn",
                     "training": {"validation_esr": esr}},
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
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(doc))
    return f"wrote {out} ({fmt}, {out.stat().st_size / 1024:.0f} KiB)"
