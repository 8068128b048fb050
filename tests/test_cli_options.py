"""Every CLI option on every job it applies to, and a one-line error where it does not apply.

Runs on copies of the golden datasets (tests/golden), one tiny run per job.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiornn.cli import evaluate as evaluation
from audiornn.cli import generate, train

GOLDEN = Path(__file__).parent / "golden"
JOBS = {"generate": "generate", "effect": "effect", "oneshot": "oneshot"}
TRAIN = ["--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "4", "--layers", "1",
         "--units", "8", "--embedding", "4", "-q"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("opts")
    out = {}
    for job in JOBS:
        shutil.copytree(GOLDEN / job / "data", tmp / job / "data")
        extra = [] if job == "oneshot" else ["--window", "128", "--burn-in", "8"]
        if job == "effect":  # the 256-class head, whose decoding options are tested here
            extra += ["--head", "classes"]
        # Options every job takes: preview samples, dropout, GRU, seed, patience, time budget.
        assert train.main([str(tmp / job / "data"), "--run", str(tmp / job / "run"), *TRAIN, *extra,
                           "--sample-every", "1", "--cell", "gru", "--dropout", "0.1",
                           "--seed", "3", "--patience", "3", "--max-minutes", "5",
                           "--learning-rate", "0.01"]) == 0
        out[job] = tmp / job
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(4000) / 8000)
    sf.write(tmp / "in.wav", x, 8000)
    out["wav"] = tmp / "in.wav"
    return out


@pytest.mark.parametrize("job", list(JOBS))
def test_train_writes_previews_for_every_job(runs, job):
    run = runs[job] / "run"
    previews = sorted((run / "samples").glob("epoch*.wav"))
    assert [p.name for p in previews] == ["epoch0001.wav", "epoch0002.wav"]
    assert sf.info(str(previews[0])).frames > 0


def test_tensorboard_logs_or_a_clear_error(runs, tmp_path, capsys):
    import importlib.util

    rc = train.main([str(runs["generate"] / "data"), "--run", str(tmp_path / "run"), *TRAIN,
                     "--window", "128", "--burn-in", "8", "--epochs", "1", "--tensorboard"])
    if importlib.util.find_spec("tensorboard") is None:
        assert rc == 2 and "needs the tensorboard package" in capsys.readouterr().err
        assert not (tmp_path / "run").exists()
    else:
        assert rc == 0 and (tmp_path / "run" / "tensorboard").is_dir()


def test_resume_takes_more_epochs_and_refuses_other_settings(runs, capsys):
    run = runs["generate"] / "run"
    base = [str(runs["generate"] / "data"), "--run", str(run), *TRAIN, "--window", "128",
            "--burn-in", "8", "--cell", "gru", "--dropout", "0.1", "--seed", "3",
            "--learning-rate", "0.01"]
    assert train.main([*base, "--units", "9", "--resume"]) == 2
    assert "--resume with --units" in capsys.readouterr().err


GENERATE_OK = {
    "generate": [["--num", "2", "--seconds", "0.05", "--temperature", "0.8", "--seed", "3",
                  "--batch-size", "1", "--format", "float", "--normalize"],
                 ["--greedy", "--seconds", "0.05"], ["--decode", "argmax", "--seconds", "0.05"],
                 ["--prime", "WAV", "--seconds", "0.05"]],
    "effect": [["--input", "WAV"], ["--input", "WAV", "--decode", "mean", "--format", "float"],
               ["--input", "WAV", "--decode", "sample", "--temperature", "0.5", "--seed", "1",
                "--normalize"]],
    "oneshot": [["--label", "low"], ["--mix", "low=0.3,high=0.7", "--num", "2"],
                ["--prime", "WAV", "--label", "high"], ["--greedy"]],
}
GENERATE_BAD = {
    "generate": [(["--input", "WAV"], "applies effect runs"), (["--decode", "mean"], "--decode mean"),
                 (["--label", "x"], "no labels"), (["--cond", "amp=1"], "unknown condition")],
    "effect": [([], "give --input"), (["--input", "WAV", "--num", "2"], "do not go with it"),
               (["--input", "WAV", "--prime", "WAV"], "do not go with it")],
    "oneshot": [(["--label", "snare"], "unknown label"), (["--mix", "low=-1"], ">= 0"),
                (["--label", "low", "--mix", "low=1"], "not both"), (["--input", "WAV"], "applies")],
}


@pytest.mark.parametrize("job,argv", [(j, a) for j, cases in GENERATE_OK.items() for a in cases])
def test_generate_options(runs, tmp_path, job, argv):
    argv = [str(runs["wav"]) if a == "WAV" else a for a in argv]
    out = tmp_path / "out" if "--num" in argv else tmp_path / "out.wav"
    assert generate.main([str(runs[job] / "run"), "--out", str(out), "-q", *argv]) == 0
    files = sorted(out.glob("*.wav")) if out.is_dir() else [out]
    assert len(files) == (2 if "--num" in argv else 1)
    if "--input" in argv:
        assert sf.info(str(files[0])).frames == 4000


@pytest.mark.parametrize("job,argv,message",
                         [(j, a, m) for j, cases in GENERATE_BAD.items() for a, m in cases])
def test_generate_options_that_do_not_apply(runs, tmp_path, capsys, job, argv, message):
    argv = [str(runs["wav"]) if a == "WAV" else a for a in argv]
    assert generate.main([str(runs[job] / "run"), "--out", str(tmp_path / "o.wav"), "-q", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("job,argv,code,message", [
    ("generate", ["--generate", "0.05", "--split", "0.02", "--max-seconds", "0.1", "--lpc-order", "4"],
     0, "held-out"),
    ("generate", ["--audio", "WAV", "--compare", "WAV"], 0, "--audio files"),
    ("effect", ["--input", "WAV", "--target", "WAV", "--decode", "mean"], 0, "effect:"),
    ("effect", ["--generate", "0.1"], 2, "judged by its own sections"),
    ("effect", ["--audio", "WAV"], 2, "scored on their dataset"),
    ("oneshot", ["--hits", "2", "--temperature", "0.9", "--seed", "1"], 0, "label"),
    ("generate", ["--input", "WAV", "--target", "WAV"], 2, "not trained on dry/wet pairs"),
    ("generate", ["--split", "1e-9"], 2, "between one sample"),
])
def test_eval_options(runs, capsys, job, argv, code, message):
    argv = [str(runs["wav"]) if a == "WAV" else a for a in argv]
    assert evaluation.main([str(runs[job] / "run"), "-q", *argv]) == code
    captured = capsys.readouterr()
    assert message in (captured.out if code == 0 else captured.err)
