"""Hostile outputs, leftovers, CSV cells and checkpoints, across the parts.

Each case ends in a one-line NeuroalignError (exit status 2 on the command
line, no traceback), or in the correct result; never in a traceback, a hang or
work done for nothing. (Hostile NWB files: tests/io/test_io_hostile.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from neuroalign.core.atomic import (
    atomic_dir,
    atomic_file,
    check_output_path,
    prepare_output_dir,
    sweep_stale,
)
from neuroalign.core.csvsafe import neutralise_formulas, neutralise_text, write_csv
from neuroalign.core.errors import (
    CheckpointError,
    ConfigError,
    OutputError,
    ResourceError,
    SourceError,
)
from neuroalign.core.limits import check_memory, format_bytes, parse_size

REPO = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- output locations, checked before any work


@pytest.mark.parametrize(("where", "match"), [
    ("/proc/neuroalign-out", "lies on the special filesystem /proc"),
    ("/sys/kernel/neuroalign-out", "lies on the special filesystem /sys"),
    ("/dev/neuroalign-out", "lies on the special filesystem /dev"),
], ids=["proc", "sys", "dev"])
def test_output_on_a_special_filesystem(where: str, match: str) -> None:
    with pytest.raises(OutputError, match=match):
        prepare_output_dir(where)


def test_output_below_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "report.txt"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=r"lies below .*report\.txt, which is a file"):
        prepare_output_dir(blocker / "a" / "b")
    with pytest.raises(OutputError, match="which is a file"):
        with atomic_file(blocker / "x.nc"):
            pass
    assert blocker.read_text() == "x"


def test_output_that_is_a_fifo_or_a_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "out.nc"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file or folder"):
        check_output_path(fifo, kind="file")
    with pytest.raises(OutputError, match="is a folder; expected a file name"):
        check_output_path(tmp_path, kind="file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_output_in_a_read_only_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="is not writable"):
            prepare_output_dir(locked / "out")
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm")
def test_shared_memory_folder_is_an_ordinary_output() -> None:
    assert check_output_path("/dev/shm/neuroalign-check") == Path("/dev/shm/neuroalign-check")


def test_cli_refuses_unwritable_outputs_before_any_work(tmp_path: Path, cli: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cli.assert_one_line_error(cli.run("run", "--out", "/proc/neuroalign-report"),
                    "output folder /proc/neuroalign-report: lies on the special filesystem")
    from typer.testing import CliRunner

    from neuroalign.cli import app

    probe = CliRunner().invoke(app, ["zoo", "probe", "dqn", "--task", "pavlovian", "--out",
                                     str(blocker / "acts.nc")])
    assert isinstance(probe.exception, OutputError) and "which is a file" in str(probe.exception)
    from neuroalign.simulate import make_dataset

    with pytest.raises(OutputError, match="which is a file"):
        make_dataset(blocker / "sessions", n_sessions=1)


def _batch_config(folder: Path) -> Path:
    config = folder / "batch.yaml"
    config.write_text("agents: [dqn]\ntasks: [pavlovian]\nseeds: [0]\nlayers: [trunk.0]\n"
                      "sources: [none/*.nwb]\nregions: [BLA]\nmeasures: [rsa]\n")
    return config


def test_batch_refuses_unwritable_outputs_like_run(tmp_path: Path, cli: Any) -> None:
    from neuroalign.batch import load_config, run_batch

    config = _batch_config(tmp_path)
    cli.assert_one_line_error(cli.run("batch", str(config), "--out", "/proc/neuroalign-batch"),
                              "batch folder /proc/neuroalign-batch: lies on the special "
                              "filesystem /proc")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = load_config(config)
    for out, match in (("/sys/kernel/neuroalign-batch", "lies on the special filesystem /sys"),
                       (blocker / "batch", r"lies below .*file, which is a file")):
        with pytest.raises(OutputError, match=match):
            run_batch(cfg, out, progress=False)
    assert blocker.read_text() == "x"


# --- leftovers of killed writes


def test_leftovers_of_dead_writers_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    from neuroalign.core import atomic

    host, dead, me = atomic._HOST, _dead_pid(), os.getpid()
    stale_dir = tmp_path / f".report.natmp-{host}-{dead}-abc.tmp"
    stale_dir.mkdir()
    (stale_dir / "results.csv").write_text("half")
    stale_file = tmp_path / f".x.nc.natmp-{host}-{dead}-def.nc"
    stale_file.write_text("half")
    live = tmp_path / f".y.nc.natmp-{host}-{me}-ghi.nc"
    live.write_text("being written")
    other_host = tmp_path / f".z.nc.natmp-elsewhere{host}-{dead}-jkl.nc"
    other_host.write_text("someone else's")
    user_file = tmp_path / ".hidden"
    user_file.write_text("mine")
    with atomic_dir(tmp_path / "report") as tmp:
        (tmp / "results.csv").write_text("complete")
    assert not stale_dir.exists() and not stale_file.exists()
    assert live.exists() and other_host.exists() and user_file.exists()
    assert (tmp_path / "report" / "results.csv").read_text() == "complete"
    assert sweep_stale(tmp_path, force=True) == []


def test_a_killed_write_leaves_nothing_the_next_one_keeps(tmp_path: Path) -> None:
    script = (
        "import os, signal, sys\n"
        "from neuroalign.core.atomic import atomic_dir\n"
        "with atomic_dir(sys.argv[1]) as tmp:\n"
        "    (tmp / 'responses.nc').write_bytes(b'partial')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out")], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.returncode == -9
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".out.natmp-")]
    assert len(leftovers) == 1 and not (tmp_path / "out").exists()
    with atomic_dir(tmp_path / "other") as tmp:  # the next write into the folder
        (tmp / "responses.nc").write_bytes(b"complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


# --- CSV cells


@pytest.mark.parametrize(("text", "safe"), [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("BLA", "BLA"), ("-0.5", "-0.5"), ("+3", "+3"),
    ("", ""), ("a=b", "a=b"),
], ids=["equals", "plus", "minus", "at", "tab", "cr", "plain", "negative-number",
        "signed-number", "empty", "inner-equals"])
def test_formula_prefixes_are_neutralised(text: str, safe: str) -> None:
    assert neutralise_text(text) == safe


def test_report_csv_neutralises_while_parquet_keeps_raw(tmp_path: Path) -> None:
    from neuroalign.report.build import write_tables

    rows = []
    for agent, family in (("dqn", "value"), ("ppo", "policy")):
        for region in ("=cmd|' /C calc'!A0", "@SUM(A1)"):
            rows.append({"agent": agent, "family": family, "layer": "trunk.0", "seed": 0,
                         "session": "-s1", "region": region, "n": 12, "note": None,
                         "measure": "rsa", "estimate": -0.25, "ci_low": -0.5, "ci_high": 0.1,
                         "p_value": 0.01, "ceiling_low": 0.8, "ceiling_high": 0.9,
                         "higher_is_similar": True})
    results = pd.DataFrame(rows)
    write_tables(tmp_path, results)
    raw = pd.read_parquet(tmp_path / "results.parquet")
    assert set(raw["region"]) == {"=cmd|' /C calc'!A0", "@SUM(A1)"}
    csv = pd.read_csv(tmp_path / "results.csv")
    assert set(csv["region"]) == {"'=cmd|' /C calc'!A0", "'@SUM(A1)"}
    assert set(csv["session"]) == {"'-s1"}
    assert csv["estimate"].tolist() == [-0.25] * 4  # numbers stay numbers
    for path in (tmp_path / "results.csv", tmp_path / "summary.csv"):
        cells = [c for line in path.read_text().splitlines() for c in line.split(",")]
        assert not [c for c in cells if c[:1] in ("=", "@")], path.name


def test_write_csv_neutralises_headers_and_index(tmp_path: Path) -> None:
    frame = pd.DataFrame({"=evil": ["x"], "ok": [1]}, index=pd.Index(["@row"]))
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == [",'=evil,ok", "'@row,x,1"]
    assert list(neutralise_formulas(frame).columns) == ["'=evil", "ok"]


# --- memory limits


def test_memory_sizes_parse_and_refuse() -> None:
    assert parse_size("8GiB") == 8 * 1024**3 and parse_size("1.5k") == 1500
    assert parse_size(4096) == 4096
    assert format_bytes(75 * 1024**3) == "75.0 GiB"
    with pytest.raises(ResourceError, match=r"x: needs 2\.0 KiB; the memory limit is 1\.0 KiB"
                                            r".*raise the limit with --opt"):
        check_memory(2048, "x", "1KiB", option="--opt")
    with pytest.raises(ResourceError, match="needs inf"):
        check_memory(float("inf"), "x")


# --- checkpoints: metadata never builds more than the weights hold


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from neuroalign.zoo.agent import build_agent
    from neuroalign.zoo.checkpoint import save_checkpoint

    agent = build_agent("dqn", "pavlovian", 0)
    agent.metrics = {"success_rate": 0.0}
    return save_checkpoint(agent, tmp_path_factory.mktemp("ckpt") / "dqn.safetensors")


def _tampered(src: Path, dst: Path, **config: Any) -> Path:
    from safetensors.torch import load_file, save_file

    from neuroalign.zoo.checkpoint import METADATA_KEY, read_metadata

    meta = read_metadata(src)
    meta["config"] = {**meta["config"], **config}
    save_file(load_file(str(src)), str(dst), metadata={METADATA_KEY: json.dumps(meta)})
    return dst


@pytest.mark.parametrize(("config", "error", "match"), [
    ({"hidden": 100000}, ResourceError,
     r"a trunk of 2 layers x 100000 units \(float32\): needs 74\.5 GiB"),
    ({"n_layers": 200000}, CheckpointError,
     r"config.n_layers=200000; the weights hold 2 trunk layer\(s\) of 64 units"),
    ({"hidden": 32}, CheckpointError, "config.hidden=32, config.n_layers=2; the weights hold"),
    ({"hidden": "64"}, CheckpointError, "config.hidden: got '64'; expected a positive integer"),
    ({"n_layers": 0}, CheckpointError, "config.n_layers: got 0; expected a positive integer"),
    ({"hidden": -3}, CheckpointError, "config.hidden: got -3"),
    ({"evil": "os.system"}, CheckpointError, r"unknown fields \['evil'\]"),
    ({"n_quantiles": 10**9}, CheckpointError, r"unknown fields \['n_quantiles'\]"),
], ids=["hidden-100000", "n_layers-200000", "hidden-mismatch", "hidden-text", "no-layers",
        "hidden-negative", "unknown-field", "dqn-with-quantiles"])
def test_tampered_checkpoint_is_refused_before_building(
        checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        config: dict[str, Any], error: type[Exception], match: str) -> None:
    from neuroalign.zoo import checkpoint as module

    path = _tampered(checkpoint, tmp_path / "bad.safetensors", **config)

    import torch

    real_build = module.build_agent

    def never(*args: Any, **kwargs: Any) -> Any:
        if torch.empty(0).device.type == "meta":  # sizes only, no memory: allowed
            return real_build(*args, **kwargs)
        raise AssertionError("the network was built from tampered metadata")

    monkeypatch.setattr(module, "build_agent", never)
    with pytest.raises(error, match=match):
        module.load_checkpoint(path)


def test_tampered_head_size_is_refused_before_building(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from neuroalign.zoo import checkpoint as module
    from neuroalign.zoo.agent import build_agent
    from neuroalign.zoo.checkpoint import save_checkpoint

    agent = build_agent("qrdqn", "pavlovian", 0)
    path = save_checkpoint(agent, tmp_path / "qr.safetensors")
    huge = _tampered(path, tmp_path / "huge.safetensors", n_quantiles=10**9)
    wrong = _tampered(path, tmp_path / "wrong.safetensors", n_quantiles=8)
    real_build = module.build_agent

    def meta_only(*args: Any, **kwargs: Any) -> Any:
        assert torch.empty(0).device.type == "meta", "built from tampered metadata"
        return real_build(*args, **kwargs)

    monkeypatch.setattr(module, "build_agent", meta_only)
    with pytest.raises(ResourceError, match=r"the network its metadata describe \(float32\): "
                                            r"needs 484\.\d GiB"):
        module.load_checkpoint(huge)
    with pytest.raises(CheckpointError, match=r"the metadata give heads.q.bias the shape "
                                              r"\(16,\); the file holds \(32,\)"):
        module.load_checkpoint(wrong)


def test_untampered_checkpoint_still_loads(checkpoint: Path) -> None:
    from neuroalign.zoo.checkpoint import load_checkpoint

    assert load_checkpoint(checkpoint).config.hidden == 64


def test_checkpoint_that_is_a_fifo_or_truncated(checkpoint: Path, tmp_path: Path) -> None:
    from neuroalign.zoo.checkpoint import load_checkpoint

    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="is a FIFO, not a regular file"):
        load_checkpoint(fifo)
    half = tmp_path / "half.safetensors"
    half.write_bytes(checkpoint.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(half)


def _rewritten(src: Path, dst: Path, weights: Any = None, **meta_changes: Any) -> Path:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from neuroalign.zoo.checkpoint import METADATA_KEY

    with safe_open(str(src), framework="pt") as handle:
        meta = json.loads(handle.metadata()[METADATA_KEY])
    meta.update(meta_changes)
    tensors = load_file(str(src))
    if weights is not None:
        weights(tensors)
    save_file(tensors, str(dst), metadata={METADATA_KEY: json.dumps(meta)})
    return dst


@pytest.mark.parametrize(("value", "match"), [
    (float("nan"), r"tensor trunk\.0\.weight holds 3 non-finite value\(s\) \(NaN or inf\) "
                   r"of \d+; expected finite weights"),
    (float("inf"), r"tensor trunk\.0\.weight holds 3 non-finite value\(s\)"),
], ids=["nan", "inf"])
def test_checkpoint_with_non_finite_weights_is_refused(checkpoint: Path, tmp_path: Path,
                                                       value: float, match: str) -> None:
    from neuroalign.zoo.checkpoint import load_checkpoint

    def poison(tensors: dict[str, Any]) -> None:
        tensors["trunk.0.weight"].view(-1)[:3] = value

    path = _rewritten(checkpoint, tmp_path / "bad.safetensors", weights=poison)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


@pytest.mark.parametrize(("changes", "match"), [
    ({"metrics": "good"}, r"metadata: metrics: got 'good'; expected a valid dictionary"),
    ({"seed": "0"}, r"metadata: seed: got '0'; expected a valid integer"),
    ({"agent": 3}, r"metadata: agent: got 3; expected a valid string"),
    ({"config": [1, 2]}, r"metadata: config: got \[1, 2\]; expected a valid dictionary"),
    ({"trunk": "lstm"}, r"metadata: trunk: got 'lstm'; expected 'mlp' or 'gru'"),
    ({"evil": 1}, r"metadata: evil: unknown field; expected one of \['agent', "),
], ids=["metrics-text", "seed-text", "agent-number", "config-list", "trunk", "unknown"])
def test_checkpoint_metadata_is_checked_by_type(checkpoint: Path, tmp_path: Path,
                                                changes: dict[str, Any], match: str) -> None:
    from neuroalign.zoo.checkpoint import load_checkpoint, read_metadata

    path = _rewritten(checkpoint, tmp_path / "bad.safetensors", **changes)
    for read in (load_checkpoint, read_metadata):
        with pytest.raises(CheckpointError, match=match):
            read(path)


# --- configs are data


def test_yaml_config_cannot_run_code(tmp_path: Path) -> None:
    from neuroalign.pipeline.config import load_config

    marker = tmp_path / "pwned"
    config = tmp_path / "run.yaml"
    config.write_text(f"n_boot: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(config)
    assert not marker.exists()


def test_run_memory_limit_is_an_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from neuroalign.cli import app
    from neuroalign.core.limits import MAX_MEMORY_ENV

    monkeypatch.setenv(MAX_MEMORY_ENV, "8GiB")  # restored after the test
    monkeypatch.setenv("NEUROALIGN_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["run", "--max-memory", "1KiB", "--quiet", "--no-figures",
                                      "--out", str(tmp_path / "report")])
    assert isinstance(result.exception, ResourceError)
    assert "needs 393.8 KiB; the memory limit is 1.0 KiB" in str(result.exception)
    assert not (tmp_path / "report").exists()
    # a parameter of the loads, not an environment variable the command sets
    assert os.environ[MAX_MEMORY_ENV] == "8GiB"


# --- structure: the ground (core) depends on no part; no import cycles in the zoo


def _imports(path: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_core_imports_no_part_and_zoo_tasks_no_cycle() -> None:
    parts = ("io", "zoo", "compare", "geometry", "pipeline", "batch", "study", "report",
             "simulate")
    for path in sorted((REPO / "neuroalign" / "core").glob("*.py")):
        bad = sorted(m for m in _imports(path)
                     if any(m == f"neuroalign.{p}" or m.startswith(f"neuroalign.{p}.")
                            for p in parts))
        assert bad == [], f"{path.name} imports {bad}"
    zoo = REPO / "neuroalign" / "zoo"
    assert "neuroalign.zoo.tasks" not in _imports(zoo / "contrast_task.py")
    assert "neuroalign.zoo.contrast_task" in _imports(zoo / "tasks.py")
    # the names core keeps for the parts are the parts' own
    from neuroalign.core.contracts import CONTRAST_STEP_S
    from neuroalign.core.vocabulary import DATASET_PROFILES
    from neuroalign.io import PROFILES
    from neuroalign.zoo.contrast import STEP_S

    assert tuple(PROFILES) == DATASET_PROFILES and STEP_S == CONTRAST_STEP_S


# --- degenerate values at the public entry points (rules: neuroalign.core.degenerate)


def test_values_near_1e300_give_the_numbers_of_the_unscaled_values() -> None:
    import numpy as np

    from neuroalign.compare import cka, shape_distance
    from neuroalign.compare.inference import evaluate

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 6)), rng.normal(size=(5, 12, 8))
    for fn in (lambda a, b: cka(a, b), lambda a, b: shape_distance(a, b),
               lambda a, b: shape_distance(a, b, alpha=0.0)):
        np.testing.assert_allclose(fn(x * 1e300, y.mean(0) * 2e300), fn(x, y.mean(0)),
                                   rtol=1e-9)
    # partial whitening depends on the scale: refused in one line, not an SVD failure
    from neuroalign.core.errors import InferenceError

    with pytest.raises(InferenceError, match=r"values up to .* overflow float64, and the "
                                             r"angular score with alpha=0.5 depends on"):
        shape_distance(x * 1e300, y.mean(0), alpha=0.5)
    plain = evaluate("cka", x, y, bootstrap="repetitions", n_boot=20, seed=1)
    huge = evaluate("cka", x * 1e300, y * 1e300, bootstrap="repetitions", n_boot=20, seed=1)
    for col in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(huge[col], plain[col], rtol=1e-9)


def test_degenerate_patterns_are_refused_at_the_public_entry_points() -> None:
    import numpy as np

    from neuroalign.compare.inference import evaluate
    from neuroalign.core.errors import InferenceError

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 6)), rng.normal(size=(5, 12, 8))
    with pytest.raises(InferenceError, match=r"y\[0\] has 1 unit\(s\); every measure needs "
                                             r"at least 2"):
        evaluate("cka", x, y[..., :1], seed=0)
    with pytest.raises(InferenceError, match=r"y\[0\] has 2 repetition\(s\) of condition 0; "
                                             r"cross-validated RDMs and intervals need at "
                                             r"least 3"):
        evaluate("shape", x, y[:2], bootstrap="repetitions", n_boot=20, seed=0)
    bad = x.copy()
    bad[3, 2] = np.inf
    with pytest.raises(InferenceError, match=r"model holds 1 infinite value\(s\) \(first "
                                             r"at repetition 0, condition 3, unit 2\)"):
        evaluate("cka", bad, y, seed=0)
