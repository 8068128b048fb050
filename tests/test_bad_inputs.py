"""Zero tracebacks: every bad input is one line on stderr and exit code 2, and leaves nothing behind.

One table: (command, arguments, words the one-line error must contain). The
arguments name fixtures by placeholder: DS (a good dataset), RUN (a trained
run), and broken copies of them made per case.
"""

import shutil

import numpy as np
import pytest
import soundfile as sf
from helpers import sine_dataset

from audiornn.cli import capture, data, generate, train
from audiornn.cli import evaluate as evaluation

RATE = 8000
MAIN = {"data": data.main, "train": train.main, "generate": generate.main,
        "eval": evaluation.main, "capture": capture.main}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    ds = sine_dataset(tmp, seconds=(1.0, 0.5), rate=RATE)
    assert train.main([str(ds), "--run", str(tmp / "run"), "--epochs", "1", "--steps-per-epoch",
                       "1", "--window", "64", "--burn-in", "4", "--units", "8", "--layers", "1",
                       "--core", "flat", "-q"]) == 0
    t = np.arange(RATE) / RATE
    sf.write(tmp / "tone.wav", 0.5 * np.sin(2 * np.pi * 220 * t), RATE)
    return tmp


def broken_dataset(good, tmp_path, how):
    ds = tmp_path / "broken"
    shutil.copytree(good / "ds", ds)
    target = ds / "target.npy"
    if how == "truncated":
        target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
    elif how == "garbage":
        target.write_bytes(b"\x93NUMPY garbage garbage garbage" * 10)
    elif how == "empty":
        target.write_bytes(b"")
    elif how == "no streams":
        import json

        meta = json.loads((ds / "dataset.json").read_text())
        del meta["streams"]
        (ds / "dataset.json").write_text(json.dumps(meta))
    return ds


def broken_run(good, tmp_path, how):
    run = tmp_path / "brokenrun"
    shutil.copytree(good / "run", run)
    model = run / "model.keras"
    model.write_bytes(model.read_bytes()[:500] if how == "truncated" else b"not a zip file")
    return run


NUMBERS = ["inf", "nan", "0", "-1", "1e400"]

CASES = [
    # broken datasets, in train and in eval --dataset
    *[("train", ["BROKEN:" + how, "--run", "NEW"], words)
      for how, words in (("truncated", "target.npy"), ("garbage", "target.npy"),
                         ("empty", "target.npy"), ("no streams", "streams"))],
    *[("eval", ["RUN", "--dataset", "BROKEN:" + how], words)
      for how, words in (("truncated", "target.npy"), ("garbage", "target.npy"),
                         ("empty", "target.npy"), ("no streams", "streams"))],
    # a broken model file says so, and which file
    ("generate", ["BROKENRUN:truncated", "--out", "OUT"], "model.keras: not a complete Keras file"),
    ("generate", ["BROKENRUN:garbage", "--out", "OUT"], "model.keras: not a complete Keras file"),
    # every numeric option: inf, nan, 0, negative, enormous
    *[("generate", ["RUN", "--out", "OUT", "--seconds", v], "--seconds") for v in NUMBERS + ["1e7"]],
    *[("generate", ["RUN", "--out", "OUT", "--temperature", v], "--temperature")
      for v in NUMBERS + ["1e-30", "1e30"]],
    *[("generate", ["RUN", "--out", "OUT", "--num", v], "--num") for v in ["0", "-1", "1000000"]],
    *[("generate", ["RUN", "--out", "OUT", "--batch-size", v], "--batch-size")
      for v in ["0", "-1", "100000000"]],
    *[("eval", ["RUN", "--generate", v], "--generate") for v in NUMBERS + ["1e9"]],
    *[("eval", ["RUN", "--max-seconds", v], "--max-seconds") for v in NUMBERS + ["1e9"]],
    *[("eval", ["RUN", "--split", v], "--split") for v in NUMBERS + ["1e-9", "1e9"]],
    *[("eval", ["RUN", "--hits", v], "--hits") for v in ["-1", "1000000"]],
    *[("eval", ["RUN", "--lpc-order", v], "--lpc-order") for v in ["0", "-1", "1000"]],
    *[("eval", ["RUN", "--temperature", v], "--temperature") for v in NUMBERS + ["1e-30"]],
    *[("train", ["DS", "--run", "NEW", opt, v], opt)
      for opt in ("--learning-rate", "--max-minutes") for v in NUMBERS + ["1e30"]],
    *[("train", ["DS", "--run", "NEW", opt, v], opt)
      for opt in ("--epochs", "--batch-size", "--window", "--units", "--layers",
                  "--steps-per-epoch") for v in ["0", "-1", "1000000000"]],
    *[("train", ["DS", "--run", "NEW", "--dropout", v], "--dropout") for v in ["nan", "-1", "1"]],
    *[("train", ["DS", "--run", "NEW", "--pitch", v], "--pitch") for v in ["-1", "10", "17", "5000"]],
    ("train", ["DS", "--run", "NEW", "--pitch", "320", "--pitch-window", "9999"], "--pitch-window"),
    *[("data", ["TONE", "--out", "NEWDS", "--sample-rate", v], "--sample-rate")
      for v in ["0", "-1", "1000000000"]],
    *[("data", ["TONE", "--out", "NEWDS", "--preemphasis", v], "--preemphasis")
      for v in ["inf", "nan", "-1", "1"]],
    *[("data", ["TONE", "--out", "NEWDS", "--max-silence", v], "--max-silence")
      for v in ["inf", "nan", "-1"]],
    *[("data", ["--oneshot", "GOOD", "--out", "NEWDS", opt, v], opt)
      for opt in ("--attack", "--length") for v in ["inf", "nan", "-1", "1e9"]],
    *[("capture", ["--out", "OUT", opt, v], opt)
      for opt in ("--minutes", "--sample-rate") for v in NUMBERS + ["1e9"]],
    # outputs that cannot be written
    ("generate", ["RUN", "--out", "/nonexistent-dir/x/out.wav"], "/nonexistent-dir/x"),
    ("capture", ["--out", "/proc/audiornn/reamp.wav"], "/proc/audiornn"),
]


@pytest.mark.parametrize("command,argv,words", CASES,
                         ids=[f"{c}-{'-'.join(a[1:] if a[0] in ('RUN', 'DS') else a)[:50]}"
                              for c, a, _ in CASES])
def test_bad_input_is_one_line_and_exit_2(good, tmp_path, capsys, command, argv, words):
    names = {"RUN": good / "run", "DS": good / "ds", "OUT": tmp_path / "out.wav",
             "NEW": tmp_path / "newrun", "NEWDS": tmp_path / "newds", "TONE": good / "tone.wav",
             "GOOD": good}
    args = []
    for a in argv:
        if a.startswith("BROKEN:"):
            args.append(str(broken_dataset(good, tmp_path, a.split(":", 1)[1])))
        elif a.startswith("BROKENRUN:"):
            args.append(str(broken_run(good, tmp_path, a.split(":", 1)[1])))
        else:
            args.append(str(names.get(a, a)))
    try:
        rc = MAIN[command](args + ["-q"] if command in ("train", "generate", "eval") else args)
    except SystemExit as e:  # argparse's own checks
        rc = e.code
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, err
    assert "Traceback" not in err and len(lines) == 1, err
    assert words in lines[0], lines[0]
    assert not (tmp_path / "out.wav").exists() and not (tmp_path / "newds").exists()
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert not leftovers, leftovers


def test_many_files_with_few_file_descriptors_and_no_leftovers(good, tmp_path):
    """--num larger than the open-file limit: files are opened one batch at a time."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    try:
        rc = generate.main([str(good / "run"), "--out", str(tmp_path / "many"), "--num", "600",
                            "--seconds", "0.002", "-q"])
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert rc == 0
    assert len(list((tmp_path / "many").glob("*.wav"))) == 600
    assert not list((tmp_path / "many").glob(".*"))


def test_a_killed_generate_leaves_nothing_on_the_next_run(good, tmp_path):
    out = tmp_path / "x.wav"
    stale = tmp_path / ".x.wav.abc123.part.wav"  # what a SIGKILL mid-generation leaves
    stale.write_bytes(b"RIFF partial")
    assert generate.main([str(good / "run"), "--out", str(out), "--seconds", "0.01", "-q"]) == 0
    assert out.exists() and not stale.exists()


def test_anti_phase_stereo_builds_a_dataset(good, tmp_path):
    t = np.arange(RATE) / RATE
    x = 0.5 * np.sin(2 * np.pi * 220 * t)
    sf.write(tmp_path / "anti.wav", np.stack([x, -x], 1), RATE)
    assert data.main([str(tmp_path / "anti.wav"), "--out", str(tmp_path / "ds"), "--sample-rate",
                      str(RATE), "-q"]) == 0


def test_a_killed_data_build_leaves_nothing_on_the_next_run(good, tmp_path):
    for name in (".ds.partial-1234abcd", ".ds.old-1234abcd"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "target.npy").write_bytes(b"half")
    assert data.main([str(good / "tone.wav"), "--out", str(tmp_path / "ds"), "--sample-rate",
                      str(RATE), "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
