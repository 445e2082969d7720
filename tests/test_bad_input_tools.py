"""eval.py, predict.py, export.py and the sweep summary: a wrong argument or a damaged or missing
file ends in one line and a non-zero exit; nothing that exists is overwritten without --force."""

import json

import pytest
from conftest import compose_train_config, run_in_process, tiny_run_overrides, write_tiny_data

from loralab.cli_errors import run_cli
from loralab.sweeps.summary import main as summary_main
from loralab.training.experiment import train


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished TextClassifier run (the cache beside it, for eval.py)."""
    root = tmp_path_factory.mktemp("tools")
    overrides = tiny_run_overrides(write_tiny_data(root / "data")) + [f"paths.cache_dir={root / 'cache'}"]
    train(compose_train_config(root / "run", overrides))
    return root / "run"


def command(script, args, monkeypatch, capsys, stdin=""):
    """Run ``script`` as its command line does, in this process: (exit code, stderr lines, stdout)."""
    result = run_in_process(monkeypatch, capsys, script, *args, stdin=stdin)
    return result.returncode, result.stderr.strip().splitlines(), result.stdout


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("eval.py", ["{tmp}/nope"], "error: run folder {tmp}/nope does not exist"),
        ("eval.py", ["{tmp}/a_file"], "error: {tmp}/a_file is a file, not a run folder"),
        ("eval.py", ["{tmp}"], "error: {tmp} has no metrics.json: its training did not finish"),
        ("eval.py", ["{run}", "split=dev"], "error: split=dev is not a split; use one of test, val, train"),
        ("eval.py", ["{run}", "--forse"], "error: unknown option --forse; the options are --force"),
        ("eval.py", ["{run}", "ag_news"], "error: 'ag_news' is not an override; write key=value"),
        ("predict.py", ["{run}"], "error: stdin held no text (only empty lines)"),
        ("predict.py", ["{run}", " "], "error: text 1 of the command line is empty"),
        ("predict.py", ["{tmp}/nope", "a text"], "error: run folder {tmp}/nope does not exist"),
        ("export.py", ["{run}"], "error: export.py takes a run folder and an output folder, got 1 argument(s)"),
        ("export.py", ["{run}", "{run}"], "error: {run} is the run folder {run} (or inside or above it)"),
        ("export.py", ["{run}", "{run}/merged"], "error: {run}/merged is the run folder"),
        ("export.py", ["{run}", "{tmp}/a_file"], "error: {tmp}/a_file is a file; pass a folder to export into"),
        (
            "export.py",
            ["{run}", "{tmp}/holder"],
            "error: {tmp}/holder is not empty (it may hold a model); pass --force",
        ),
        ("export.py", ["{run}", "{tmp}/out", "--overwrite"], "error: unknown option --overwrite"),
        ("export.py", ["{run}", "{tmp}/a_file/out"], "error: {tmp}/a_file/out cannot be made: {tmp}/a_file is a file"),
    ],
)
def test_a_wrong_argument_is_one_line(finished, tmp_path, monkeypatch, capsys, script, args, expected):
    (tmp_path / "a_file").write_text("keep")
    (tmp_path / "holder").mkdir()
    (tmp_path / "holder" / "model.safetensors").write_text("an earlier export")
    before = sorted(p.name for p in finished.iterdir())
    args = [a.format(tmp=tmp_path, run=finished) for a in args]
    code, err, _ = command(script, args, monkeypatch, capsys)
    assert code == 1 and len(err) == 1 and err[0].startswith(expected.format(tmp=tmp_path, run=finished)), err
    assert sorted(p.name for p in finished.iterdir()) == before
    assert (tmp_path / "a_file").read_text() == "keep"
    assert (tmp_path / "holder" / "model.safetensors").read_text() == "an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "holder"]  # no staging folder left


def test_export_writes_a_new_folder_and_replaces_one_only_with_force(finished, tmp_path, monkeypatch, capsys):
    out = tmp_path / "merged"
    assert command("export.py", [finished, out], monkeypatch, capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "model.safetensors", "vocab.json"]  # the card too
    first = (out / "model.safetensors").read_bytes()
    (out / "notes.txt").write_text("mine")
    code, err, _ = command("export.py", [finished, out], monkeypatch, capsys)
    assert code == 1 and "pass --force" in err[0] and (out / "model.safetensors").read_bytes() == first
    assert command("export.py", [finished, out, "--force"], monkeypatch, capsys)[0] == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.safetensors").read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]


def test_eval_keeps_an_existing_result_unless_forced(finished, monkeypatch, capsys):
    result = finished / "eval" / "imdb_test.json"
    result.parent.mkdir(exist_ok=True)
    result.write_text('{"test/acc": 0.5}\n')
    code, err, _ = command("eval.py", [finished], monkeypatch, capsys)
    assert code == 1 and err == [f"error: {result} exists; pass --force to overwrite it, or remove it first"]
    assert command("eval.py", [finished, "--force"], monkeypatch, capsys)[0] == 0
    assert json.loads(result.read_text())["examples"] == 100


def test_a_damaged_model_file_is_one_line(finished, tmp_path, monkeypatch, capsys):
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for item in finished.iterdir():
        if item.is_file():
            (damaged / item.name).write_bytes(item.read_bytes())
    (damaged / ".hydra").mkdir()
    for item in (finished / ".hydra").iterdir():
        (damaged / ".hydra" / item.name).write_bytes(item.read_bytes())
    (damaged / "model.safetensors").write_bytes(b"\x00\x01 not safetensors")
    for script, args in [("predict.py", [damaged, "great film"]), ("export.py", [damaged, tmp_path / "out"])]:
        code, err, _ = command(script, args, monkeypatch, capsys)
        assert code == 1 and len(err) == 1, err
        assert err[0].startswith(f"error: {damaged / 'model.safetensors'}: ") and "damaged" in err[0]
    assert not (tmp_path / "out").exists()


def test_predict_reads_stdin_and_labels_each_text(finished, monkeypatch, capsys):
    code, _, out = command("predict.py", [finished], monkeypatch, capsys, stdin="a great film\n\nan awful plot\n")
    assert code == 0 and len(out.strip().splitlines()) == 2


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "missing", "error: sweep folder {d}/missing does not exist"),
        (lambda d: (d / "f").write_text("x") and d / "f", "error: {d}/f is a file"),
        (lambda d: d, "error: {d} holds no sweep jobs (no <job>/.hydra/overrides.yaml): nothing to summarise"),
    ],
)
def test_sweep_summary_of_nothing_is_refused(tmp_path, capsys, make, expected):
    folder = make(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        run_cli(lambda: summary_main([str(folder)]))
    assert stopped.value.code == 1
    assert capsys.readouterr().err.strip().startswith(expected.format(d=tmp_path))
    assert not (tmp_path / "summary.csv").exists()


def test_sweep_summary_names_a_damaged_job_file(tmp_path, capsys):
    (tmp_path / "0" / ".hydra").mkdir(parents=True)
    (tmp_path / "0" / ".hydra" / "overrides.yaml").write_text("- model.lora.rank=1\n")
    (tmp_path / "0" / "metrics.json").write_text('{"test/acc": 0.8')
    with pytest.raises(SystemExit):
        run_cli(lambda: summary_main([str(tmp_path)]))
    message = capsys.readouterr().err.strip()
    assert message.startswith(f"error: {tmp_path}/0/metrics.json is damaged (JSONDecodeError")
    assert message.endswith("delete that job folder or re-run the job")
