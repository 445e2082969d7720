"""A crafted run folder cannot make a tool delete, write or read outside it, hang, fill memory, print
another file's content or drive the terminal: each is refused in one line (or, for checkpoint
state, ignored), and the victims outside the folder survive untouched."""

import json
import os
import shutil

import pytest
import torch
from helpers.entry_points import assert_refused, run_entry_point, run_in_process
from helpers.messages import naming
from helpers.paths import PROJECT_ROOT
from helpers.run_folders import copy_run, edit_json
from helpers.train_configs import compose_train_config, tiny_run_overrides

from loralab.files.safe_paths import RunFolderError
from loralab.runs.resume import resume_arguments
from loralab.tools.evaluation import evaluate_run
from loralab.tools.merged_export import export_merged
from loralab.tools.prediction import predict_texts
from loralab.training.experiment import train

# Most cases call the tools in this process (a refusal comes before anything runs); one case per
# family runs the entry point in a subprocess, bounded in time and memory, as a user would.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("run_folders")]  # one worker builds the shared runs
CONFIG_DIR = PROJECT_ROOT / "conf"


def _victims(root):
    """A file and a folder (with a file) outside the run folder, and their content to check later."""
    victim_dir = root / "victims" / "folder"
    victim_dir.mkdir(parents=True)
    (victim_dir / "keep.txt").write_text("folder content")
    victim_file = root / "victims" / "file.ckpt"
    victim_file.write_text("file content")
    return victim_file, victim_dir


def _untouched(victim_file, victim_dir):
    assert victim_file.read_text() == "file content"
    assert (victim_dir / "keep.txt").read_text() == "folder content"
    assert sorted(p.name for p in victim_file.parent.iterdir()) == ["file.ckpt", "folder"]


# -- resume= ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["absolute", "relative"])
def test_resume_ignores_checkpoint_paths_that_lead_out_of_the_run(finished_runs, tmp_path, spelling):
    # Lightning resolves a relative path from the working folder (the project root here); either
    # way the state names files outside the run.
    """Lightning deletes 'old' checkpoints by the paths in the callback state it restores."""
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    victim_file, victim_dir = _victims(tmp_path)
    last = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)

    def aim(path):
        return str(path) if spelling == "absolute" else os.path.relpath(path, run / "checkpoints")

    for key, state in checkpoint["callbacks"].items():
        if key.startswith("ModelCheckpoint"):
            state.update(
                dirpath=str(run / "checkpoints"),  # as if never moved, so every field is restored
                best_model_path=aim(victim_file),
                best_model_score=torch.tensor(-1.0),  # the next epoch is better: the "old" best is deleted
                kth_best_model_path=aim(victim_dir),
                kth_value=torch.tensor(-1.0),
                last_model_path=aim(victim_dir),
                best_k_models={aim(victim_file): torch.tensor(-1.0), aim(victim_dir): torch.tensor(-1.0)},
            )
    torch.save(checkpoint, last)
    resumed = run_entry_point("train.py", f"resume={run}", "trainer.max_epochs=3", finished_runs["cache"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _untouched(victim_file, victim_dir)
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 3
    # The dropped last path falls back to the resumed file, which the new last.ckpt replaces.
    assert sorted(p.name for p in (run / "checkpoints").glob("last*.ckpt")) == ["last.ckpt"]
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2


@pytest.mark.parametrize(
    "override",
    [
        "callbacks.model_checkpoint.dirpath=OUT",
        "logger.tensorboard.save_dir=OUT",
        "+logger.csv.save_dir=OUT",
        "trainer.default_root_dir=OUT",
        "paths.output_dir=OUT",
        "paths.cache_dir=OUT",
        "callbacks.epoch_curves.filename=../../../OUT/curves.png",
        "callbacks.model_checkpoint.filename=../../OUT/x",
        "logger.tensorboard.name=../../OUT",
        "+trainer.profiler.dirpath=OUT",
    ],
)
def test_resume_replays_no_override_that_sets_where_the_run_writes(
    finished_runs, tmp_path, monkeypatch, capsys, override
):
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    out = tmp_path / "out"
    out.mkdir()
    overrides = run / ".hydra" / "overrides.yaml"
    overrides.write_text(overrides.read_text() + f"- {json.dumps(override.replace('OUT', str(out)))}\n")
    key = override.split("=", 1)[0].lstrip("+")
    # The fixture's runs were made with a cache folder of their own, which is not replayed either.
    args = [f"resume={run}", "trainer.max_epochs=3", *([] if key == "paths.cache_dir" else [finished_runs["cache"]])]
    with pytest.raises(RunFolderError, match=naming("overrides.yaml", f"key {key}")):
        resume_arguments(args)
    # Typed again on the command line, the key is the user's: the folder's value is not replayed.
    retyped = resume_arguments([*args, f"{override.split('=')[0]}=mine", finished_runs["cache"]])
    assert not [arg for arg in retyped if str(out) in arg]
    if key == "callbacks.model_checkpoint.dirpath":  # end to end once
        resumed = run_in_process(monkeypatch, capsys, "train.py", *args)
        assert_refused(resumed, "overrides.yaml", f"key {key}", "sets where the run writes")
    assert not any(out.iterdir())


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ("model.lora.target_modules=(a|aa)+$", "pattern"),
        ("model.lora.rank_pattern={'(x+x+)+y':4}", "pattern"),
        ("data.label_names=[neg,\u202epos]", "control characters"),
    ],
)
def test_resume_replays_no_pattern_or_control_characters(finished_runs, tmp_path, override, why):
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    overrides = run / ".hydra" / "overrides.yaml"
    overrides.write_text(overrides.read_text() + f"- {json.dumps(override)}\n")
    with pytest.raises(RunFolderError, match=naming("overrides.yaml", "key ", why)):
        resume_arguments([f"resume={run}", "trainer.max_epochs=3", finished_runs["cache"]])


def _link_train_log(run, outside):
    (run / "train.log").unlink(missing_ok=True)
    (run / "train.log").symlink_to(outside / "file.ckpt")
    return ["train.log", "is a link"]


def _link_tensorboard(run, outside):
    shutil.rmtree(run / "tensorboard", ignore_errors=True)
    (run / "tensorboard").symlink_to(outside / "folder")
    return ["tensorboard", "is a link"]


def _link_hydra_folder(run, outside):
    shutil.copytree(run / ".hydra", outside / "folder" / "hydra_copy")
    shutil.rmtree(run / ".hydra")
    (run / ".hydra").symlink_to(outside / "folder" / "hydra_copy")
    return [".hydra", "is a link"]


def _lock_is_a_fifo(run, outside):
    os.mkfifo(run / ".lock")
    return [".lock", "fifo"]


def _hard_link_to_a_file_outside(run, outside):
    (run / "train.log").unlink(missing_ok=True)
    os.link(outside / "file.ckpt", run / "train.log")  # Hydra's log handler appends to it in place
    return ["train.log", "hard link"]


def _sparse_overrides(run, outside):
    with (run / ".hydra" / "overrides.yaml").open("ab") as file:
        file.truncate(1 << 40)
    return ["overrides.yaml", "sparse"]


@pytest.mark.parametrize(
    "make_hostile",
    [
        _link_train_log,
        _link_tensorboard,
        _link_hydra_folder,
        _lock_is_a_fifo,
        _sparse_overrides,
        _hard_link_to_a_file_outside,
    ],
)
def test_resume_refuses_a_folder_with_links_or_special_files(finished_runs, tmp_path, make_hostile):
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    victim_file, victim_dir = _victims(tmp_path)
    names = make_hostile(run, victim_file.parent)
    if make_hostile is _lock_is_a_fifo:  # end to end once, bounded in time
        resumed = run_entry_point(
            "train.py", f"resume={run}", "trainer.max_epochs=3", finished_runs["cache"], timeout=60
        )
        assert_refused(resumed, *names)
    else:
        with pytest.raises(RunFolderError) as refused:
            resume_arguments([f"resume={run}", "trainer.max_epochs=3", finished_runs["cache"]])
        assert all(name in str(refused.value) for name in names), str(refused.value)
    assert victim_file.read_text() == "file content"
    assert (victim_dir / "keep.txt").read_text() == "folder content"


# -- eval.py, predict.py, export.py -------------------------------------------------------------


@pytest.fixture
def evaluate(finished_runs, monkeypatch, capsys):
    """``python eval.py <run> <cache> <extra>`` in this process."""
    return lambda run, *extra: run_in_process(monkeypatch, capsys, "eval.py", run, finished_runs["cache"], *extra)


def test_eval_writes_no_file_a_recorded_name_aims_outside(finished_runs, tmp_path, evaluate):
    run = copy_run(finished_runs["own_base"], tmp_path / "a" / "b" / "run")
    escape = "../../../escaped"
    edit_json(run / "run_config.json", lambda c: c["data"].update(name=escape))
    assert_refused(evaluate(run), escape, "not a plain file name")
    assert not list(tmp_path.rglob("escaped*"))


@pytest.mark.parametrize("linked", ["eval", "eval/imdb_test.json"])
def test_eval_writes_through_no_link_in_the_folder(finished_runs, tmp_path, evaluate, linked):
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    victim_file, victim_dir = _victims(tmp_path)
    shutil.rmtree(run / "eval", ignore_errors=True)
    if linked == "eval":
        (run / "eval").symlink_to(victim_dir)
    else:
        (run / "eval").mkdir()
        (run / "eval" / "imdb_test.json").symlink_to(victim_file)
    assert_refused(evaluate(run, "--force"), linked, "a link")
    _untouched(victim_file, victim_dir)


def _sparse_base(run):
    with (run / "base_model.safetensors").open("ab") as file:
        file.truncate(1 << 42)  # 4 TiB that take no disk: a hash would read them all
    return ["base_model.safetensors", "sparse"]


def _sparse_vocabulary(run):
    with (run / "vocab.json").open("ab") as file:
        file.truncate(3 << 30)
    return ["vocab.json", "sparse"]


def _base_in_proc(run):
    depth = len(run.resolve().parts) - 1
    edit_json(run / "run_config.json", lambda c: c["base"].update(path="../" * depth + "proc/self/environ"))
    return ["/proc/self/environ", "file of the kernel"]


def _huge_header(run):
    path = run / "adapter" / "adapter_model.safetensors"
    header = json.dumps({"fc1.lora_A": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 1 << 42]}})
    path.write_bytes(len(header).to_bytes(8, "little") + header.encode())
    return ["adapter_model.safetensors", "states", "damaged or crafted"]


def _huge_width(run):
    edit_json(run / "run_config.json", lambda c: c["net"].update(hidden_dim=10**9))
    return ["run_config.json", "key net.hidden_dim", "1000000000", "from 1 to 65536"]


def _width_unlike_the_weights(run):
    edit_json(run / "run_config.json", lambda c: c["net"].update(embed_dim=60000))
    return ["tensor", "has shape", "run_config.json"]


def _rank_unlike_the_adapter(run):
    edit_json(run / "run_config.json", lambda c: c["lora"].update(rank=4000))
    return ["adapter_model.safetensors", "lora_A", "has shape"]


def _classes_unlike_the_head(run):
    names = [f"class{i}" for i in range(16000)]
    edit_json(run / "run_config.json", lambda c: c.update(num_classes=len(names), label_names=names))
    return ["fc2", "has shape"]


def _open_with(entry, run, tmp_path, cache):
    if entry == "predict":
        return predict_texts(run, ["a text"])
    if entry == "eval":
        return evaluate_run(run, CONFIG_DIR, [cache], force=True)
    return export_merged(run, tmp_path / "exported")


@pytest.mark.parametrize(
    ("entry", "make_hostile"),
    [
        ("predict", _sparse_base),
        ("eval", _sparse_vocabulary),
        ("export", _base_in_proc),
        ("predict", _huge_header),
        ("eval", _huge_width),
        ("export", _width_unlike_the_weights),
        ("predict", _rank_unlike_the_adapter),
        ("export", _classes_unlike_the_head),
    ],
)
def test_files_that_would_hang_or_fill_memory_are_refused_first(finished_runs, tmp_path, entry, make_hostile):
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    names = make_hostile(run)
    with pytest.raises(RunFolderError) as refused:
        _open_with(entry, run, tmp_path, finished_runs["cache"])
    assert all(name in str(refused.value) for name in names), str(refused.value)
    if make_hostile is _sparse_base:  # end to end once, bounded in time and memory
        assert_refused(run_entry_point("predict.py", run, "a text", timeout=90), *names)


SECRET = "AKIA-VERY-SECRET-42"


@pytest.mark.parametrize(
    "content",
    [
        f"[default]\naws_secret_access_key = {SECRET}\n",  # one column, named by the secret's line
        f"text,label\ngood film,1\n{SECRET},not-a-label\n",  # a label cell that is not an integer
        f"{SECRET}=1\n",
    ],
)
def test_data_errors_never_quote_a_file_the_folder_names(finished_runs, tmp_path, evaluate, content):
    secret = tmp_path / "credentials.csv"
    secret.write_text(content)
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    edit_json(run / "run_config.json", lambda c: c["data"].update(path=str(secret)))
    with pytest.raises(ValueError) as refused:
        evaluate_run(run, CONFIG_DIR, [finished_runs["cache"]])
    assert "run_config.json" in str(refused.value) and SECRET not in str(refused.value)
    if content.startswith("[default]"):  # end to end once
        evaluated = evaluate(run)
        assert_refused(evaluated, "run_config.json", "content is not shown")
        assert SECRET not in evaluated.stderr + evaluated.stdout
    # The user's own choice of the same file is theirs to see.
    with pytest.raises(ValueError) as own:
        evaluate_run(run, CONFIG_DIR, [finished_runs["cache"], f"data.path={secret}"])
    assert "content is not shown" not in str(own.value)


def test_resumed_data_errors_never_quote_a_file_the_folder_names(finished_runs, tmp_path):
    secret = tmp_path / "credentials.csv"
    secret.write_text(f"[default]\naws_secret_access_key = {SECRET}\n")
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    overrides = run / ".hydra" / "overrides.yaml"
    overrides.write_text(overrides.read_text() + f"- {json.dumps(f'+data.path={secret}')}\n")
    resumed = run_entry_point("train.py", f"resume={run}", "trainer.max_epochs=3", finished_runs["cache"])
    assert_refused(resumed, "overrides.yaml", "content is not shown")
    assert SECRET not in resumed.stderr + resumed.stdout + (run / "train.log").read_text()


def test_label_names_reach_the_terminal_escaped(finished_runs, tmp_path, monkeypatch, capsys):
    run = copy_run(finished_runs["own_base"], tmp_path / "run")
    names = ["\x1b]0;owned\x07\x1b[2Jneg", "pos\u202etxt.exe"]
    edit_json(run / "run_config.json", lambda c: c.update(label_names=names))
    predicted = run_in_process(monkeypatch, capsys, "predict.py", run, "great superb film", "awful waste")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert "\x1b" not in predicted.stdout and "\u202e" not in predicted.stdout and "\x07" not in predicted.stdout
    assert "\\x1b]0;owned\\x07\\x1b[2Jneg" in predicted.stdout or "pos\\u202etxt.exe" in predicted.stdout


# -- model.pretrained= --------------------------------------------------------------------------


@pytest.mark.parametrize("linked", ["model.safetensors", "vocab.json"])
def test_a_pretrained_folder_whose_files_link_out_is_refused(finished_runs, tmp_path, linked):
    pretrained = copy_run(finished_runs["pretrain"], tmp_path / "pretrained")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.move(pretrained / linked, outside / linked)
    (pretrained / linked).symlink_to(outside / linked)
    overrides = tiny_run_overrides(finished_runs["root"] / "data") + [finished_runs["cache"]]
    overrides += ["experiment=imdb_lora", f"model.pretrained={pretrained}", "trainer.max_epochs=1"]
    with pytest.raises(RunFolderError, match=naming(linked)):
        train(compose_train_config(tmp_path / "new_run", overrides))
    assert not (tmp_path / "new_run" / "run_config.json").exists()


# -- sweep summaries ----------------------------------------------------------------------------


def test_a_sweep_summary_writes_through_no_link_of_the_sweep_folder(tmp_path):
    from loralab.sweeps.summary import write_sweep_summary
    from loralab.training.tensorboard_hparams import write_sweep_experiment

    victim_file, victim_dir = _victims(tmp_path)
    sweep = tmp_path / "sweep"
    (sweep / "0" / ".hydra").mkdir(parents=True)
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    (sweep / "0" / "metrics.json").write_text(json.dumps({"val/acc_best": 0.5, "test/acc": 0.5}))
    for name in ("summary.md", "summary.csv", "summary_groups.csv", "summary.png"):
        (sweep / name).symlink_to(victim_file)
    (sweep / "hparams").symlink_to(victim_dir)
    write_sweep_summary(sweep)
    write_sweep_experiment(sweep, [{"seed": 1, "val/acc_best": 0.5}])
    _untouched(victim_file, victim_dir)
    assert not any(path.is_symlink() for path in sweep.iterdir())
    assert (sweep / "summary.md").read_text().startswith("|") and any((sweep / "hparams").iterdir())
