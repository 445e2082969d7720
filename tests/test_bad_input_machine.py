"""The machine and the run folder: a full disk or a read-only folder stops in one line with every
file written before whole; a folder has one writer; a finished run is not rewritten by resume=."""

import errno
import json
import os
import re
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from helpers.messages import naming
from helpers.train_configs import compose_train_config, tiny_run_overrides

from loralab.atomic_files import WriteError, atomic_write, atomic_write_text
from loralab.callbacks.epoch_curves import EpochCurves
from loralab.callbacks.run_folder_lock import LockOutputFolder
from loralab.cli_errors import run_cli
from loralab.files.safe_paths import RunFolderError
from loralab.runs.resume import refuse_rerun_of_finished
from loralab.runs.run_lock import LOCK_FILE, RunFolderInUse, acquire_run_lock, release_run_lock, run_folder_lock
from loralab.training.experiment import train

HOST = socket.gethostname()


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_keeps_the_old_file_and_names_the_new_one(tmp_path):
    target = atomic_write_text(tmp_path / "metrics.json", "old")
    with pytest.raises(WriteError, match=naming(target, "No space left on device")):
        atomic_write(target, lambda tmp: (tmp.write_text("half"), full_disk()))
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]


def test_a_read_only_folder_is_named(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("tempfile.mkstemp", read_only)
    with pytest.raises(WriteError, match=naming("Read-only file system", "hydra.run.dir")):
        atomic_write_text(tmp_path / "x.json", "{}")


def test_a_full_disk_while_training_stops_in_one_line_and_earlier_checkpoints_load(
    tiny_data_dir, tmp_path, monkeypatch, capsys
):
    from lightning.fabric.plugins.io import torch_io

    real_save, saves = torch_io._atomic_save, []

    def save_then_fill_the_disk(checkpoint, path):
        saves.append(path)
        if len(saves) > 2:  # epoch 1 (best + last) is saved, epoch 2 finds the disk full
            full_disk()
        real_save(checkpoint, path)

    monkeypatch.setattr(torch_io, "_atomic_save", save_then_fill_the_disk)
    run_dir = tmp_path / "run"
    overrides = [*tiny_run_overrides(tiny_data_dir), "callbacks.model_checkpoint.monitor=epoch"]
    cfg = compose_train_config(run_dir, overrides)
    with pytest.raises(SystemExit) as stopped:
        run_cli(lambda: train(cfg))
    assert stopped.value.code == 1
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(rf"error: cannot write {run_dir}/checkpoints/\S+\.ckpt: No space left on device; .*", last_line)
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["epoch_000.ckpt", "last.ckpt"]  # no temporary file left
    for name in checkpoints:
        assert torch.load(run_dir / "checkpoints" / name, weights_only=True)["epoch"] == 0
    assert not (run_dir / "metrics.json").exists() and not (run_dir / LOCK_FILE).exists()


def test_curves_png_is_written_atomically(tmp_path, monkeypatch):
    (tmp_path / "curves.png").write_bytes(b"old image")
    metrics = {"train/loss_epoch": 0.5, "val/loss": 0.6, "train/acc": 0.8, "val/acc": 0.7}
    trainer = SimpleNamespace(
        callback_metrics=metrics, current_epoch=1, is_global_zero=True, default_root_dir=str(tmp_path), loggers=[]
    )

    def killed_while_writing(path, pixels, format):
        with open(path, "wb") as file:
            file.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("matplotlib.pyplot.imsave", killed_while_writing)
    with pytest.raises(WriteError):
        EpochCurves().on_fit_end(trainer, None)
    assert os.listdir(tmp_path) == ["curves.png"] and (tmp_path / "curves.png").read_bytes() == b"old image"


HOLD_LOCK = (
    "import sys; from loralab.runs.run_lock import acquire_run_lock; "
    "acquire_run_lock(sys.argv[1]); print('held', flush=True); sys.stdin.read()"
)


@pytest.fixture
def held_by_another_process(tmp_path):
    """``tmp_path`` locked by a live process (until the test ends or kills it)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        if holder.poll() is None:
            holder.communicate(timeout=30)


def test_a_folder_held_by_a_live_process_is_refused(tmp_path, held_by_another_process):
    with pytest.raises(RunFolderInUse) as refused:
        acquire_run_lock(tmp_path)
    message = str(refused.value)
    assert str(tmp_path) in message and f"process {held_by_another_process.pid} on {HOST}" in message
    assert "hydra.run.dir=" in message and "\n" not in message
    assert (tmp_path / LOCK_FILE).read_text() == f"{held_by_another_process.pid} {HOST}\n"


def test_a_lock_file_that_is_a_link_is_refused(tmp_path):
    (tmp_path / "elsewhere").write_text("keep me")
    (tmp_path / LOCK_FILE).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RunFolderError, match=LOCK_FILE):
        acquire_run_lock(tmp_path)
    assert (tmp_path / "elsewhere").read_text() == "keep me"


def test_the_lock_of_a_killed_process_is_taken_over_and_released(tmp_path, held_by_another_process):
    held_by_another_process.kill()  # SIGKILL: no atexit, the lock file stays with its pid
    held_by_another_process.wait()
    assert (tmp_path / LOCK_FILE).read_text() == f"{held_by_another_process.pid} {HOST}\n"
    with run_folder_lock(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()} {HOST}\n"
        with run_folder_lock(tmp_path):  # the same process again: fine, and the lock stays
            pass
        assert (tmp_path / LOCK_FILE).exists()
    assert not (tmp_path / LOCK_FILE).exists()


def test_release_leaves_another_process_lock(tmp_path):
    (tmp_path / LOCK_FILE).write_text(f"1 {HOST}\n")
    release_run_lock(tmp_path)
    assert (tmp_path / LOCK_FILE).exists()


def test_the_hydra_callback_refuses_a_folder_in_use_before_hydra_writes_there(
    tmp_path, capsys, held_by_another_process
):
    config = SimpleNamespace(hydra=SimpleNamespace(run=SimpleNamespace(dir=str(tmp_path))))
    with pytest.raises(SystemExit) as stopped:
        LockOutputFolder().on_run_start(config)
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"process {held_by_another_process.pid}" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == [LOCK_FILE]


def test_the_extra_processes_of_a_multi_device_run_share_its_lock(tmp_path, monkeypatch):
    (tmp_path / LOCK_FILE).write_text(f"1 {HOST}\n")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with run_folder_lock(tmp_path):
        pass


def test_run_folders_are_named_to_the_microsecond(tmp_path):
    first = compose_train_config(tmp_path, []).hydra.run.dir
    second = compose_train_config(tmp_path, []).hydra.run.dir
    assert re.fullmatch(r"outputs/train/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d{6}", first) and first != second
    assert sorted([second, first]) == [first, second]


def finished_run(tmp_path, epochs=2):
    (tmp_path / "metrics.json").write_text(json.dumps({"epochs": epochs, "val/acc_best": 0.9}))
    return tmp_path


def test_resume_refuses_a_finished_run(tmp_path):
    run = finished_run(tmp_path)
    with pytest.raises(ValueError, match=naming("2 epochs", "trainer.max_epochs=<more than 2>", "resume_finished")):
        refuse_rerun_of_finished(run, [f"resume={run}"])
    with pytest.raises(ValueError, match="has finished"):
        refuse_rerun_of_finished(run, [f"resume={run}", "trainer.max_epochs=2"])


def test_resume_of_a_finished_run_when_asked(tmp_path):
    run = finished_run(tmp_path)
    assert refuse_rerun_of_finished(run, ["trainer.max_epochs=3"]) == ["trainer.max_epochs=3"]
    assert refuse_rerun_of_finished(run, ["+resume_finished=true", "seed=1"]) == ["seed=1"]
    assert refuse_rerun_of_finished(tmp_path / "unfinished", ["seed=1"]) == ["seed=1"]
