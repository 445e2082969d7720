"""A real ``train.py -m`` sweep survives a failing job, writes its summary (table, seed groups and
plot), says where it is and which job did best, exits 1 naming the failed jobs' files, can be rebuilt from the folder, and serves its runs,
scalars and hparams through a real TensorBoard, whose pages headless Chromium draws."""

import csv
import os
import shutil
import statistics
import subprocess
import sys

import pytest
from headless_chromium import find_chromium, headless_page
from helpers.paths import PROJECT_ROOT
from helpers.tiny_data import write_tiny_data
from helpers.train_configs import compose_train_config, tiny_run_overrides
from omegaconf import OmegaConf
from tensorboard_server import get_json, tensorboard_server

from loralab.runs.run_lock import LOCK_FILE
from loralab.sweeps.exit_status import failed_jobs_line
from loralab.sweeps.job_folders import SWEEP_SIZE_VARIABLE, job_folder_name, sweep_size
from loralab.sweeps.jobs import FAILURE_FILE
from loralab.sweeps.plot import MIN_ACCURACY_SPAN, sweep_figure
from loralab.sweeps.summary import group_rows

# Runs the entry points in subprocesses: the full suite, not the fast tier (CONTRIBUTING.md).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("sweep_summary")]  # one worker builds the module's runs


def run_train(args, tmp_path, timeout=600):
    """``train.py`` as a user runs it, offline, with its own cache."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "LORALAB_CACHE_DIR": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [sys.executable, "train.py", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


RANK_0_FAILURE = "failed: ConfigValueError: model.lora.rank=0 is not allowed: use an integer from 1 to 4096"


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    """Six tiny LoRA jobs: ranks 1, 2 and 0 (failing), each with seeds 1 and 2; and what the
    multirun printed."""
    tmp_path = tmp_path_factory.mktemp("sweep")
    sweep_dir = tmp_path / "sweep"
    overrides = tiny_run_overrides(write_tiny_data(tmp_path / "data")) + [
        "model=lora_textclassifier",
        "model.lora.rank=1,2,0",
        "seed=1,2",
        "trainer.max_epochs=1",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    result = run_train(["-m", *overrides], tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]  # two jobs failed
    return sweep_dir, result.stdout, result.stderr


def test_multirun_summary_has_every_job_and_a_plot(finished_sweep):
    sweep_dir, *_ = finished_sweep
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert [(r["job"], r["overrides"], r["group"], r["status"]) for r in rows] == [
        ("0", "model.lora.rank=1 seed=1", "model.lora.rank=1", "ok"),
        ("1", "model.lora.rank=1 seed=2", "model.lora.rank=1", "ok"),
        ("2", "model.lora.rank=2 seed=1", "model.lora.rank=2", "ok"),
        ("3", "model.lora.rank=2 seed=2", "model.lora.rank=2", "ok"),
        ("4", "model.lora.rank=0 seed=1", "model.lora.rank=0", RANK_0_FAILURE),
        ("5", "model.lora.rank=0 seed=2", "model.lora.rank=0", RANK_0_FAILURE),
    ]
    assert [r["rank"] for r in rows] == ["1", "1", "2", "2", "0", "0"] and {r["alpha"] for r in rows} == {"1.0"}
    # rank 1 on fc1 (16 -> 8) = 24 adapter parameters, rank 2 = 48; plus the 18-parameter head
    assert [int(r["trainable_params"]) for r in rows[:4]] == [24 + 18, 24 + 18, 48 + 18, 48 + 18]
    assert "Traceback" in (sweep_dir / "5" / "traceback.txt").read_text()
    assert (sweep_dir / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert float(rows[0]["test/acc"]) > 0
    assert "| 2 | model.lora.rank=2 seed=1 | model.lora.rank=2 | ok |" in (sweep_dir / "summary.md").read_text()


def test_jobs_that_differ_only_by_seed_are_grouped_with_mean_std_and_n(finished_sweep):
    sweep_dir, *_ = finished_sweep
    jobs = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    groups = list(csv.DictReader((sweep_dir / "summary_groups.csv").open()))
    assert [(g["group"], g["jobs"], g["n"], g["failed"]) for g in groups] == [
        ("model.lora.rank=1", "0 1", "2", "0"),
        ("model.lora.rank=2", "2 3", "2", "0"),
        ("model.lora.rank=0", "4 5", "0", "2"),
    ]
    for group, members in zip(groups[:2], (jobs[:2], jobs[2:4])):
        accuracies = [float(job["test/acc"]) for job in members]
        assert float(group["test/acc mean"]) == pytest.approx(statistics.fmean(accuracies))
        assert float(group["test/acc std"]) == pytest.approx(statistics.stdev(accuracies))
    assert groups[2]["test/acc mean"] == "" and groups[0]["trainable_params"] == "42"
    summary = (sweep_dir / "summary.md").read_text()
    mean, std = float(groups[0]["val/acc_best mean"]), float(groups[0]["val/acc_best std"])
    assert f"| model.lora.rank=1 | 2 | 0 | 1 | 1.0000 | True | {mean:.4f} ± {std:.4f} |" in summary


def test_a_multirun_ends_with_its_summary_and_best_job(finished_sweep):
    sweep_dir, stdout, _ = finished_sweep
    jobs = [r for r in csv.DictReader((sweep_dir / "summary.csv").open()) if r["status"] == "ok"]
    best = max(jobs, key=lambda r: float(r["val/acc_best"]))  # the first of equals
    groups = list(csv.DictReader((sweep_dir / "summary_groups.csv").open()))[:2]
    best_group = max(groups, key=lambda g: float(g["val/acc_best mean"]))
    mean, std = float(best_group["val/acc_best mean"]), float(best_group["val/acc_best std"])
    last_lines = stdout.strip().splitlines()[-5:]
    assert last_lines == [
        f"sweep: 4 of 6 jobs finished; summary: {sweep_dir / 'summary.md'}",
        f"best job by val/acc_best (maximize): {sweep_dir / best['job']}  val/acc_best={float(best['val/acc_best']):.4f}",
        f"  its overrides: {best['overrides']}",
        f"best seed group by mean val/acc_best: {best_group['group']}  {mean:.4f} ± {std:.4f} "
        f"(n=2, jobs {best_group['jobs']})",
        f"curves and HPARAMS: tensorboard --logdir {sweep_dir}",
    ]


def test_a_sweep_with_failed_jobs_exits_1_after_its_summary_naming_their_failure_files(finished_sweep):
    sweep_dir, stdout, stderr = finished_sweep
    assert (sweep_dir / "summary.md").is_file() and "sweep: 4 of 6 jobs finished" in stdout
    failures = f"{sweep_dir / '4' / 'failure.json'} {sweep_dir / '5' / 'failure.json'}"
    assert stderr.strip().splitlines()[-1] == f"error: 2 of 6 sweep jobs failed; why: {failures}"
    assert "Traceback" not in stderr and not (sweep_dir / LOCK_FILE).exists()  # the lock released first


def test_many_failed_jobs_are_named_by_a_pattern(tmp_path):
    for job in range(7):
        (tmp_path / str(job) / ".hydra").mkdir(parents=True)
        if job:
            (tmp_path / str(job) / FAILURE_FILE).write_text("{}")
    assert failed_jobs_line(tmp_path) == f"error: 6 of 7 sweep jobs failed; why: {tmp_path}/*/failure.json"
    (tmp_path / "6" / FAILURE_FILE).unlink()
    assert failed_jobs_line(tmp_path).endswith(f"why: {' '.join(str(tmp_path / j / FAILURE_FILE) for j in '12345')}")
    assert failed_jobs_line(tmp_path / "0") is None


def _groups(test_acc, std, frozen):
    return [
        {"n": 3, "rank": rank, "alpha": 1.0, "freeze_embeddings": frozen, "trainable_params": 100 * rank,
         "test/acc mean": acc, "test/acc std": std}
        for rank, acc in zip((1, 2, 4, 8), test_acc)
    ]  # fmt: skip


def test_the_plot_draws_error_bars_on_one_honest_y_axis():
    # the frozen-embedding panel of a real 16-job sweep: 0.6905 to 0.6930, noise
    groups = _groups([0.6920, 0.6930, 0.6922, 0.6905], 0.001, True) + _groups(
        [0.8679, 0.8685, 0.8673, 0.8660], 0.0, False
    )
    figure = sweep_figure(groups)
    rank_panels = figure.axes[:2]
    assert [axis.get_title() for axis in rank_panels] == ["freeze_embeddings=False", "freeze_embeddings=True"]
    low, high = rank_panels[1].get_ylim()
    assert {axis.get_ylim() for axis in figure.axes} == {(low, high)}  # one y axis for every panel
    assert low < 0.69 and high > 0.868 and high - low >= MIN_ACCURACY_SPAN
    bars = rank_panels[1].containers[0]
    assert bars.has_yerr and len(bars.lines[2][0].get_segments()) == 4  # an error bar per rank

    alone = sweep_figure(_groups([0.6920, 0.6930, 0.6922, 0.6905], 0.0, True))
    low, high = alone.axes[0].get_ylim()
    assert high - low >= MIN_ACCURACY_SPAN and low < 0.6905 and high > 0.693


def test_group_rows_average_over_finished_seeds_only():
    rows = [
        {"job": "0", "overrides": "seed=1", "group": "", "status": "ok", "rank": 1, "alpha": 1, "freeze_embeddings": True,
         "val/acc_best": 0.5, "test/acc": 0.6, "trainable_params": 9, "adapter_bytes": 10, "train_seconds": 1.0},
        {"job": "1", "overrides": "seed=2", "group": "", "status": "ok", "rank": 1, "alpha": 1, "freeze_embeddings": True,
         "val/acc_best": 0.7, "test/acc": 0.8, "trainable_params": 9, "adapter_bytes": 10, "train_seconds": 3.0},
        {"job": "2", "overrides": "seed=3", "group": "", "status": "failed: x", "rank": 1, "alpha": 1,
         "freeze_embeddings": True, "val/acc_best": "", "test/acc": "", "trainable_params": "", "adapter_bytes": "",
         "train_seconds": ""},
    ]  # fmt: skip
    (group,) = group_rows(rows)
    assert (group["n"], group["failed"], group["jobs"]) == (2, 1, "0 1 2")
    assert group["test/acc mean"] == pytest.approx(0.7) and group["test/acc std"] == pytest.approx(0.1414, abs=1e-4)


def test_job_folders_are_zero_padded_to_the_sweep_size(tmp_path, monkeypatch):
    assert [job_folder_name(n, 12) for n in (0, 3, 11)] == ["00", "03", "11"]
    assert [job_folder_name(n, 10) for n in (0, 9)] == ["0", "9"] and job_folder_name(7, 1000) == "007"
    # the basic sweeper: params of the config times those of the command line, the later one winning
    swept = compose_train_config(tmp_path, ["experiment=sweep_lora_textclassifier", "model.pretrained=x"])
    assert sweep_size(swept) == 4 * 2 * 2
    sweeper = OmegaConf.to_container(swept.hydra.sweeper)
    task = ["model.lora.rank=2,4", "seed=1,2,3"]
    with_task = OmegaConf.create({"hydra": {"sweeper": sweeper, "overrides": {"task": task}}})
    assert sweep_size(with_task) == 2 * 2 * 2 * 3
    search = compose_train_config(tmp_path, ["hparams_search=lora_optuna", "hydra.sweeper.n_trials=150"])
    assert sweep_size(search) == 150
    # hydra.sweep.subdir as Hydra resolves it in job 3, once the multirun's callback set the size
    monkeypatch.setenv(SWEEP_SIZE_VARIABLE, "12")
    subdir = OmegaConf.to_container(swept.hydra.sweep)["subdir"]
    job = OmegaConf.create({"hydra": {"job": {"num": 3}, "sweep": {"subdir": subdir}}})
    assert job.hydra.sweep.subdir == "03"


def test_the_summary_rebuilds_from_a_sweep_with_a_killed_job(finished_sweep, tmp_path):
    sweep_dir = shutil.copytree(finished_sweep[0], tmp_path / "copy")
    (sweep_dir / "1" / "metrics.json").unlink()  # as if job 1 had been killed
    rebuilt = subprocess.run(
        [sys.executable, "-m", "loralab.sweeps.summary", str(sweep_dir)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert [r["status"][:15] for r in rows] == ["ok", "no metrics.json", "ok", "ok"] + ["failed: ConfigV"] * 2
    assert rows[1]["test/acc"] == ""
    assert f"sweep: 3 of 6 jobs finished; summary: {sweep_dir / 'summary.md'}" in rebuilt.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "loralab.sweeps.summary", str(tmp_path / "typo")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1 and missing.stderr.startswith(
        f"error: sweep folder {tmp_path / 'typo'} does not exist;"
    )


def test_tensorboard_serves_the_sweep_runs_scalars_and_hparams(finished_sweep):
    sweep_dir, *_ = finished_sweep
    with tensorboard_server(sweep_dir, min_runs=5) as url:
        base = f"{url}/data"
        runs = get_json(f"{base}/runs")
        # the failed jobs logged nothing; "hparams" holds the sweep's HPARAMS description
        assert sorted(runs) == ["0/tensorboard", "1/tensorboard", "2/tensorboard", "3/tensorboard", "hparams"]
        tags = get_json(f"{base}/plugin/scalars/tags")
        assert {"val/acc_best", "test/acc", "train/loss_epoch"} <= set(tags["0/tensorboard"])
        experiment = get_json(f"{base}/plugin/hparams/experiment", {"experimentName": ""})
        infos = experiment["hparamInfos"]
        # the swept keys first and marked as differing (TensorBoard ticks the first five), then the rest
        assert [(h["name"], h["differs"]) for h in infos[:2]] == [("model.lora.rank", True), ("seed", True)]
        assert not any(h["differs"] for h in infos[2:])
        assert {"model.lora.alpha", "optim.optimizer.lr", "model"} <= {h["name"] for h in infos[2:]}
        assert {h["name"]: h["type"] for h in infos}["model.freeze_embeddings"] == "DATA_TYPE_BOOL"
        metrics = [m["name"]["tag"] for m in experiment["metricInfos"]]
        assert metrics == ["val/acc_best", "test/acc", "test/f1", "trainable_params"]
        groups = get_json(
            f"{base}/plugin/hparams/session_groups",
            {
                "experimentName": "",
                "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
                "colParams": [],
                "startIndex": 0,
                "sliceSize": 100,
            },
        )
        hparams = [group["hparams"] for group in groups["sessionGroups"]]
        assert sorted((h["model.lora.rank"], h["seed"]) for h in hparams) == [(1, 1), (1, 2), (2, 1), (2, 2)]
        # a boolean, not 1.0; an overridden config group as its option, not the whole config
        assert all(h["model.freeze_embeddings"] is True and h["model"] == "lora_textclassifier" for h in hparams)
        test_acc = [
            m["value"] for g in groups["sessionGroups"] for m in g["metricValues"] if m["name"]["tag"] == "test/acc"
        ]
        assert len(test_acc) == 4 and all(0 < value <= 1 for value in test_acc)


def _open(page, url: str, tab: str, *shown: str) -> str:
    """The text of TensorBoard's ``tab`` once it shows every one of ``shown`` (another tab of the
    same TensorBoard is left through its link, as a person does, without reloading the app)."""
    page.goto(f"{url}/#{tab}")
    return page.wait_for_text(*shown, timeout=60)


@pytest.mark.skipif(find_chromium() is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_a_person_reads_a_run_and_the_sweep_in_tensorboard_in_chromium(finished_sweep):
    """The pages, drawn by TensorBoard's own client code in a real browser: what a person looks for."""
    sweep_dir, *_ = finished_sweep
    with headless_page() as page:
        with tensorboard_server(sweep_dir / "0") as url:  # one run of the sweep
            charts = _open(page, url, "custom_scalars", "loss (train, validation)", "accuracy (train, validation)")
            page.wait_for_text("Matches (2)")  # each chart found its train and its validation series
            assert "learning rate" not in charts  # a constant rate (adamw) has no section
            scalars = _open(page, url, "scalars", "train/acc").splitlines()
            assert "epoch" not in scalars and not any(line.startswith("lr-") for line in scalars)
            _open(page, url, "images", "test/confusion_matrix", "curves/loss_and_accuracy")
            # the run's card, drawn from its Markdown: folder, command, settings; and the test tables
            _open(page, url, "text", str(sweep_dir / "0"), "python train.py", "model.lora.rank=1", "predicted")
        with tensorboard_server(sweep_dir, min_runs=5) as url:
            assert "sweep/summary" in get_json(f"{url}/data/plugin/images/tags")["hparams"]
            _open(page, url, "images", "sweep/summary")
            _open(page, url, "custom_scalars", "loss (train, validation)", "Matches (8)")  # 4 runs x 2 series
            hparams = _open(page, url, "hparams", "model.lora.rank", "seed", "val/acc_best", "test/acc")
            # the swept keys are listed (and ticked) before the ones every job shares
            assert max(hparams.index("model.lora.rank"), hparams.index("seed")) < hparams.index("model.lora.alpha")
