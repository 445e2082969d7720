"""eval.py, predict.py, export.py and the sweep summary: a wrong argument or a damaged or missing
file ends in one line and a non-zero exit; nothing that exists is overwritten without --force."""

import json

import pytest
from helpers.entry_points import run_in_process
from helpers.tiny_data import write_tiny_data
from helpers.train_configs import compose_train_config, tiny_run_overrides

from loralab.cli_errors import run_cli
from loralab.sweeps.summary import main as summary_main
from loralab.training.experiment import train

pytestmark = pytest.mark.xdist_group("finished_run")  # one worker builds the module's runs


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


def assert_one_line(code, err, expected_code, *names):
    """Exit ``expected_code``, one ``error:`` line naming each of ``names``, no traceback."""
    assert code == expected_code and len(err) == 1 and err[0].startswith("error: "), (code, err)
    for name in names:
        assert name in err[0], (name, err[0])


# (script, arguments, exit code: 2 for a malformed command line, 1 for a path that cannot be used, names)
WRONG_ARGUMENTS = [
    ("eval.py", ["{tmp}/nope"], 1, ["{tmp}/nope"]),
    ("eval.py", ["{tmp}/a_file"], 1, ["{tmp}/a_file"]),
    ("eval.py", ["{tmp}"], 1, ["{tmp}", "metrics.json"]),
    ("eval.py", ["{run}", "split=dev"], 2, ["split=dev", "test", "val", "train"]),
    ("eval.py", ["{run}", "--forse"], 2, ["--forse", "--help"]),
    ("eval.py", ["{run}", "ag_news"], 2, ["'ag_news'", "key=value"]),
    ("eval.py", [], 2, ["RUN_FOLDER"]),
    ("predict.py", ["{run}"], 1, ["stdin"]),
    ("predict.py", ["{run}", " "], 1, ["text 1"]),
    ("predict.py", ["{tmp}/nope", "a text"], 1, ["{tmp}/nope"]),
    ("predict.py", ["{run}", "--great"], 2, ["--great"]),
    ("export.py", ["{run}"], 2, ["OUTPUT_FOLDER"]),
    ("export.py", ["{run}", "{run}"], 1, ["{run}"]),
    ("export.py", ["{run}", "{run}/merged"], 1, ["{run}/merged"]),
    ("export.py", ["{run}", "{tmp}/a_file"], 1, ["{tmp}/a_file"]),
    ("export.py", ["{run}", "{tmp}/holder"], 1, ["{tmp}/holder", "--force"]),
    ("export.py", ["{run}", "{tmp}/out", "--overwrite"], 2, ["--overwrite"]),
    ("export.py", ["{run}", "{tmp}/a_file/out"], 1, ["{tmp}/a_file/out", "{tmp}/a_file is a file"]),
]


@pytest.mark.parametrize(("script", "args", "expected_code", "names"), WRONG_ARGUMENTS)
def test_a_wrong_argument_is_one_line(finished, tmp_path, monkeypatch, capsys, script, args, expected_code, names):
    (tmp_path / "a_file").write_text("keep")
    (tmp_path / "holder").mkdir()
    (tmp_path / "holder" / "model.safetensors").write_text("an earlier export")
    before = sorted(p.name for p in finished.iterdir())
    args = [a.format(tmp=tmp_path, run=finished) for a in args]
    code, err, _ = command(script, args, monkeypatch, capsys)
    assert_one_line(code, err, expected_code, *(n.format(tmp=tmp_path, run=finished) for n in names))
    assert sorted(p.name for p in finished.iterdir()) == before
    assert (tmp_path / "a_file").read_text() == "keep"
    assert (tmp_path / "holder" / "model.safetensors").read_text() == "an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "holder"]  # no staging folder left


@pytest.mark.parametrize(
    ("script", "arguments"),
    [
        ("eval.py", ["RUN_FOLDER", "KEY=VALUE", "--force"]),
        ("predict.py", ["RUN_FOLDER", "TEXT"]),
        ("export.py", ["RUN_FOLDER", "OUTPUT_FOLDER", "--force"]),
    ],
)
def test_help_lists_each_argument(monkeypatch, capsys, script, arguments):
    code, err, out = command(script, ["--help"], monkeypatch, capsys)
    assert code == 0 and err == []
    described = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and line.split()]
    assert set(arguments) <= set(described), out
    assert "model.pretrained=<base>" in out


def test_export_writes_a_new_folder_and_replaces_one_only_with_force(finished, tmp_path, monkeypatch, capsys):
    out = tmp_path / "merged"
    assert command("export.py", [finished, out], monkeypatch, capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "model.safetensors", "vocab.json"]  # the card too
    first = (out / "model.safetensors").read_bytes()
    (out / "notes.txt").write_text("mine")
    code, err, _ = command("export.py", [finished, out], monkeypatch, capsys)
    assert_one_line(code, err, 1, str(out), "--force")
    assert (out / "model.safetensors").read_bytes() == first
    assert command("export.py", [finished, out, "--force"], monkeypatch, capsys)[0] == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.safetensors").read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]


def test_eval_keeps_an_existing_result_unless_forced(finished, monkeypatch, capsys):
    result = finished / "eval" / "imdb_test.json"
    result.parent.mkdir(exist_ok=True)
    result.write_text('{"test/acc": 0.5}\n')
    code, err, _ = command("eval.py", [finished], monkeypatch, capsys)
    assert_one_line(code, err, 1, str(result), "--force")
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
        assert_one_line(code, err, 1, str(damaged / "model.safetensors"))
    assert not (tmp_path / "out").exists()


def test_predict_reads_stdin_and_labels_each_text(finished, monkeypatch, capsys):
    code, _, out = command("predict.py", [finished], monkeypatch, capsys, stdin="a great film\n\nan awful plot\n")
    assert code == 0 and len(out.strip().splitlines()) == 2


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (lambda d: d / "missing", ["{d}/missing"]),
        (lambda d: (d / "f").write_text("x") and d / "f", ["{d}/f"]),
        (lambda d: d, ["{d}", "overrides.yaml"]),
    ],
)
def test_sweep_summary_of_nothing_is_refused(tmp_path, capsys, make, names):
    folder = make(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        run_cli(lambda: summary_main([str(folder)]))
    assert_one_line(
        stopped.value.code, capsys.readouterr().err.strip().splitlines(), 1, *(n.format(d=tmp_path) for n in names)
    )
    assert not (tmp_path / "summary.csv").exists()


def test_sweep_summary_names_a_damaged_job_file(tmp_path, capsys):
    (tmp_path / "0" / ".hydra").mkdir(parents=True)
    (tmp_path / "0" / ".hydra" / "overrides.yaml").write_text("- model.lora.rank=1\n")
    (tmp_path / "0" / "metrics.json").write_text('{"test/acc": 0.8')
    with pytest.raises(SystemExit) as stopped:
        run_cli(lambda: summary_main([str(tmp_path)]))
    assert_one_line(stopped.value.code, capsys.readouterr().err.strip().splitlines(), 1, f"{tmp_path}/0/metrics.json")
