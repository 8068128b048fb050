"""Records the golden outputs of tiny runs, one per job (run once; the files are committed).

The runs, their datasets and expected.json were recorded with audiornn at
commit aa998ee, before the jobs/streams refactor, in format version 1.
`tests/test_golden.py` loads these version-1 runs with today's code (the
migration) and asserts the same generated codes and held-out bits.

    .venv/bin/python tests/golden/record.py     # rewrites tests/golden/*
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
RATE = 8000


def tone(seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    x = np.zeros_like(t)
    for f in rng.uniform(100, 700, 3):
        x += np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    return 0.5 * x / np.max(np.abs(x))


def write_sources(tmp: Path):
    (tmp / "gen").mkdir()
    for k in range(3):
        sf.write(tmp / "gen" / f"{k}.wav", tone(0.6, k), RATE, subtype="FLOAT")
    (tmp / "fx").mkdir()
    for k in range(2):
        x = tone(0.8, 10 + k)
        sf.write(tmp / "fx" / f"dry{k}.wav", x, RATE, subtype="FLOAT")
        sf.write(tmp / "fx" / f"wet{k}.wav", 0.8 * np.tanh(3 * x), RATE, subtype="FLOAT")
    rng = np.random.default_rng(5)
    for name, f0 in (("low", 70.0), ("high", 900.0)):
        (tmp / "kit" / name).mkdir(parents=True)
        for k in range(3):
            t = np.arange(int(0.1 * RATE)) / RATE
            x = np.sin(2 * np.pi * f0 * rng.uniform(0.9, 1.1) * t) * np.exp(-t * 30)
            x = np.concatenate([np.zeros(int(rng.uniform(0, 0.01) * RATE)), x])
            sf.write(tmp / "kit" / name / f"{k}.wav", x, RATE, subtype="FLOAT")


def main():
    from audiornn.cli import data
    from audiornn.cli import train as train_cli

    tmp = HERE / "_sources"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write_sources(tmp)
    for job in ("generate", "effect", "effect_nofb", "oneshot"):
        shutil.rmtree(HERE / job, ignore_errors=True)
    common = ["--sample-rate", str(RATE)]
    assert data.main([str(tmp / "gen"), "--out", str(HERE / "generate" / "data"), *common,
                      "--val-fraction", "0.34"]) == 0
    assert data.main(["--pair", str(tmp / "fx/dry0.wav"), str(tmp / "fx/wet0.wav"),
                      "--pair", str(tmp / "fx/dry1.wav"), str(tmp / "fx/wet1.wav"),
                      "--out", str(HERE / "effect" / "data"), *common, "--val-fraction", "0.5"]) == 0
    shutil.copytree(HERE / "effect" / "data", HERE / "effect_nofb" / "data")
    assert data.main(["--oneshot", str(tmp / "kit"), "--out", str(HERE / "oneshot" / "data"),
                      *common, "--attack", "0.01", "--length", "0.1", "--val-fraction", "0.34"]) == 0
    shutil.rmtree(tmp)
    tiny = ["--layers", "1", "--units", "16", "--epochs", "1", "--steps-per-epoch", "3",
            "--batch-size", "4", "-q"]
    for job, extra in (("generate", ["--window", "256", "--burn-in", "16"]),
                       ("effect", ["--window", "256", "--burn-in", "16"]),
                       ("effect_nofb", ["--window", "256", "--burn-in", "16", "--no-feedback",
                                        "--cell", "gru"]),
                       ("oneshot", [])):
        assert train_cli.main([str(HERE / job / "data"), "--run", str(HERE / job / "run"),
                               *tiny, *extra]) == 0
        for junk in ("backup", "history.csv"):
            p = HERE / job / "run" / junk
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    expected = {}
    for job in ("generate", "effect", "effect_nofb", "oneshot"):
        expected[job] = outputs(HERE / job)
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk == "bits"}
                      for k, v in expected.items()}))


def outputs(folder: Path) -> dict:
    """Generated codes (seed 0) and held-out bits of a golden run, with the code of the day."""
    from audiornn.data import open_dataset
    from audiornn.evaluation import evaluate as evaluation
    from audiornn.runtime.model import load_run
    from audiornn.runtime.sampler import Generator

    model, config = load_run(folder / "run")
    ds = open_dataset(folder / "data")
    gen = Generator(model, config, chunk=100)
    out = {}
    seqs = evaluation.dataset_sequences(ds, "val")
    out["bits"] = evaluation.Scorer(model, config).score(seqs)["bits"]
    if "input" in ds.streams:
        dry = np.asarray(ds.streams["input"][:300], np.int32)
        chunks = [dry[k:k + 100] for k in range(0, len(dry), 100)]
        for mode in ("argmax", "sample"):
            codes = np.concatenate([c for c, _ in gen.apply_codes(chunks, mode, seed=3)])
            out[f"apply_{mode}"] = codes.tolist()
    else:
        mix = gen.mix_matrix(gen.labels[-1] if gen.labels else None, None, 2)
        codes = np.concatenate(list(gen.sample(250, batch=2, seed=7, mix=mix)), axis=1)
        out["sample"] = codes.tolist()
        prime = np.asarray(ds.streams["target"][:120], np.int32)
        codes = np.concatenate(list(gen.sample(150, batch=1, seed=2, prime_codes=prime,
                                               mix=gen.mix_matrix(None, None, 1))), axis=1)
        out["primed"] = codes.tolist()
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    main()
