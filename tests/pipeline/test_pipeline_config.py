"""RunConfig: defaults, YAML loading, and a clear ConfigError for each bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import ConfigError
from neuroalign.io import PROFILES
from neuroalign.pipeline.config import (
    AgentSpec,
    RunConfig,
    SourceSpec,
    config_help,
    default_data_dir,
    load_config,
    profile_names,
)


def test_defaults_point_at_the_shipped_data():
    cfg = load_config()
    assert cfg.measures == ["rsa", "cka", "shape", "geometry"]
    (src,) = cfg.resolved_sources()
    assert Path(src.path) == default_data_dir() / "sessions"
    assert (src.window, src.bin_size, src.align) == ((-1.25, 0.25), 0.25, "outcome")


def test_yaml_paths_are_read_from_the_config_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "s.nwb").write_bytes(b"")
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("sources:\n  - path: data/s.nwb\n    regions: [BLA]\n"
                        "agents:\n  - name: dqn\n    seeds: [0, 1]\nn_boot: 10\n")
    cfg = load_config(cfg_file, overrides={"seed": 7})
    assert cfg.sources[0].path == str(tmp_path / "data" / "s.nwb")
    assert cfg.agents == [AgentSpec(name="dqn", seeds=[0, 1])]
    assert (cfg.n_boot, cfg.seed) == (10, 7)


def test_remote_sources_are_not_checked_on_disk():
    cfg = load_config({"sources": [{"path": "dandi://000689/sub-1/sub-1_ses-1.nwb"}]})
    assert cfg.sources[0].is_remote


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"n_bot": 3}, r"n_bot: unknown field; expected one of \[.*'n_boot'"),
        ({"sources": [{"path": "x.nwb", "bin": 0.1}]},
         r"sources\[0\]\.bin: unknown field; expected one of \[.*'bin_size'"),
        ({"agents": [{"name": "dqn", "layer": "x"}]},
         r"agents\[0\]\.layer: unknown field; expected one of \[.*'layers'"),
        ({"sources": [{"path": "/nonexistent/s.nwb"}]},
         r"sources\[0\]\.path: /nonexistent/s\.nwb does not exist"),
        ({"sources": [{"path": "dandi://1/a.nwb", "window": [0.25, -1.25]}]},
         r"sources\[0\]\.window: got \[0\.25, -1\.25\]; expected \[start, stop\) with stop "
         r"greater than start"),
        ({"sources": [{"path": "dandi://1/a.nwb", "window": [-1.0, 0.25]}]},
         r"sources\[0\]\.window: got \[-1\.0, 0\.25\); with n_approach=5 and "
         r"bin_size=0\.25 expected a window covering \[-1\.25, 0\.25\)"),
        ({"n_perm": 5}, r"n_perm: got 5; expected 0 \(no p-values\) or at least 19"),
        ({"n_boot": 1}, r"n_boot: got 1; expected 0 \(no intervals\) or at least 2$"),
        ({"n_perm": 10}, r"^config: n_perm: got 10; expected 0 \(no p-values\) or at least 19, the "
         r"fewest permutations that can reach p < 0\.05$"),
        ({"rdm_method": "cosine"}, r"rdm_method: got 'cosine'; expected 'crossnobis', "),
        ({"sources": [{"profile": "ibl"}]}, r"sources\[0\]\.path: missing; expected a value"),
        ({"measures": ["rsa", "mmd"]}, r"measures\[1\]: got 'mmd'; expected 'rsa', 'cka'"),
    ],
)
def test_bad_config_names_the_field(data, match):
    with pytest.raises(ConfigError, match=match):
        load_config(data)


def test_mistyped_profile_names_the_field_and_the_valid_names(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("sources:\n  - path: dandi://1/a.nwb\n    profile: amygdla\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert str(info.value) == (
        f"{cfg}: sources[0].profile: got 'amygdla'; expected one of {profile_names()}"
    )
    # every io profile, plus auto and generic, is accepted
    assert profile_names() == sorted({*PROFILES, "auto", "generic"})
    for name in profile_names():
        assert SourceSpec(path="dandi://1/a.nwb", profile=name).profile == name


def test_bad_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_config(bad)
    # one line that says where the problem is, not PyYAML's multi-line dump
    assert "\n" not in str(info.value)
    assert "line 2, column 1" in str(info.value)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a YAML mapping of fields, got list"):
        load_config(listing)


def test_help_documents_every_field():
    text = config_help()
    for model, prefix in ((RunConfig, ""), (SourceSpec, "sources[]."), (AgentSpec, "agents[].")):
        for name, field in model.model_fields.items():
            assert f"{prefix}{name}: {field.description}" in text
    result = CliRunner().invoke(app, ["run", "--help"], terminal_width=200)
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    for name in RunConfig.model_fields:
        assert f"- {name}:" in flat
    assert "dandi://<dandiset>[@<version>]/<asset path>" in flat
    for option in ("--out", "--overwrite", "--n-boot", "--n-perm", "--seed"):
        assert option in flat


def test_example_config_is_valid():
    cfg = load_config(default_data_dir() / "configs" / "example-run.yaml")
    assert [Path(s.path).name for s in cfg.sources] == [
        "sub-synthetic-mouse-0_ses-sim-0.nwb", "sub-synthetic-mouse-1_ses-sim-1.nwb"]
    assert all(Path(s.path).is_file() for s in cfg.sources)
    assert [a.name for a in cfg.agents] == ["dqn", "ppo"]


def test_command_line_error_exits_2_with_the_message(tmp_path):
    import subprocess
    import sys

    cfg = tmp_path / "run.yaml"
    cfg.write_text("n_boots: 10\n")
    proc = subprocess.run([sys.executable, "-m", "neuroalign.cli", "run", str(cfg)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"error: {cfg}: n_boots: unknown field; expected one of [" in proc.stderr


def test_a_shipped_example_is_found_by_name(tmp_path, monkeypatch):
    from neuroalign.core.errors import ConfigError
    from neuroalign.pipeline.config import default_data_dir, load_config, shipped_config

    monkeypatch.chdir(tmp_path)  # from any folder, as from an installed wheel
    assert shipped_config("steinmetz") == default_data_dir() / "configs" / "steinmetz.yaml"
    cfg = load_config("steinmetz")
    assert cfg.grid == "contrast" and all(a.task == "contrast" for a in cfg.agents)
    (tmp_path / "steinmetz").write_text("n_boot: 0\n")  # a file of that name wins
    assert shipped_config("steinmetz") == tmp_path.joinpath("steinmetz").relative_to(tmp_path)
    with pytest.raises(ConfigError, match=r"config file: got 'nope', which is neither a file "
                                          r"nor a shipped example; expected a YAML file or "
                                          r"one of \[.*'steinmetz'"):
        load_config("nope")
