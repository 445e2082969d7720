"""The Python API and the console scripts, run as a user would: from a folder outside the checkout."""

import json
import os
import subprocess
import sys
import zipfile
from importlib import import_module
from pathlib import Path

import pytest
from helpers.paths import PROJECT_ROOT
from helpers.train_configs import tiny_run_overrides

from loralab.configs import CONFIG_DIR

API_SCRIPT = """
import json, sys
from loralab import api

run = api.load_run(sys.argv[1])
data_dir = sys.argv[2]
datamodule = api.build_datamodule(f"paths.data_dir={data_dir}", "model.tokenizer.min_frequency=1")
net = api.build_model(
    f"paths.data_dir={data_dir}", "model=lora_textclassifier", "model.lora.rank=4", datamodule=datamodule
)
print(json.dumps({
    "labels": run.label_names,
    "predictions": run.predict(["great wonderful loved it", "awful boring waste"]),
    "one": run.predict("superb brilliant"),
    "splits": {name: len(split) for name, split in datamodule.splits.items()},
    "trainable": sorted({n.split(".")[0] for n, p in net.named_parameters() if p.requires_grad}),
    "lora_rank": net.fc1.rank,
}))
"""


def run_python(args, cwd, tmp_path, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src"), "LORALAB_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout


@pytest.mark.integration
def test_console_train_then_the_api_loads_and_predicts_from_another_folder(tiny_data_dir, tmp_path):
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    run_dir = tmp_path / "run"
    overrides = tiny_run_overrides(tiny_data_dir) + [f"hydra.run.dir={run_dir}"]
    train = "import sys; from loralab.console_scripts import train; sys.argv[0] = 'loralab-train'; train()"
    run_python(["-c", train, *overrides], elsewhere, tmp_path)
    assert (run_dir / "train.log").is_file() and (run_dir / "model.safetensors").is_file()

    result = json.loads(run_python(["-c", API_SCRIPT, str(run_dir), str(tiny_data_dir)], elsewhere, tmp_path))
    assert result["labels"] == ["negative", "positive"]
    assert [label for label, _ in result["predictions"]] == ["positive", "negative"]
    assert result["one"][0][0] == "positive" and 0.5 < result["one"][0][1] <= 1.0
    assert result["splits"] == {"train": 190, "val": 10, "test": 100}
    assert result["trainable"] == ["fc1", "fc2"] and result["lora_rank"] == 4
    assert sorted(p.name for p in elsewhere.iterdir()) == []  # nothing written where the user stood


def test_api_train_writes_a_run_folder_that_load_run_opens(tiny_data_dir, tmp_path):
    from loralab import api

    run_dir = tmp_path / "run"
    metrics = api.train(*tiny_run_overrides(tiny_data_dir), output_dir=run_dir)
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics
    run = api.load_run(run_dir)
    assert run.folder == run_dir.resolve() and not run.net.training
    assert [label for label, _ in run.predict(["wonderful superb loved", "dull terrible hated"])] == [
        "positive",
        "negative",
    ]


def test_console_scripts_name_functions_that_exist():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"loralab-train", "loralab-eval", "loralab-predict", "loralab-export"}
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(import_module(module), function))


def test_the_built_wheel_ships_every_config(tmp_path):
    pytest.importorskip("setuptools")
    build = tmp_path / "source"
    # A copy of the tracked tree, so building leaves no build/ or egg-info in the checkout.
    files = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.split()
    for name in files:
        source, target = PROJECT_ROOT / name, build / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_file():
            target.write_bytes(source.read_bytes())
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        cwd=build,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("loralab-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("loralab/conf/")}
    expected = {"loralab/conf/" + str(p.relative_to(CONFIG_DIR)) for p in Path(CONFIG_DIR).rglob("*.yaml")}
    assert shipped == expected and "loralab/conf/train.yaml" in shipped
