"""Opening sources: local files, bad files, http(s) streaming, dandi:// resolution."""

from __future__ import annotations

import fnmatch
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import requests
from io_builders import poisson_spikes, write_ephys

from neuroalign.core.errors import NWBFormatError, SourceError
from neuroalign.io import (
    expand_dandi_uri,
    load_responses,
    open_nwb,
    parse_dandi_uri,
    read_units,
)
from neuroalign.io import source as source_mod


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"missing\.nwb'?: no such file"), \
            open_nwb(tmp_path / "missing.nwb"):
        pass


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a folder"), open_nwb(tmp_path):
        pass


def test_not_hdf5(tmp_path: Path) -> None:
    bad = tmp_path / "notes.nwb"
    bad.write_text("just text, not HDF5\n" * 50)
    with pytest.raises(NWBFormatError, match=r"notes\.nwb: not an HDF5 file"), open_nwb(bad):
        pass


def test_truncated_hdf5(amygdala_file: Path, tmp_path: Path) -> None:
    data = amygdala_file.read_bytes()
    cut = tmp_path / "cut.nwb"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(NWBFormatError, match=r"cut\.nwb: .*truncated or corrupt HDF5"):
        with open_nwb(cut) as h5:
            read_units(h5)


def test_hdf5_that_is_not_nwb(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(NWBFormatError, match="HDF5 but not NWB"), open_nwb(path):
        pass


def test_parse_dandi_uri() -> None:
    assert parse_dandi_uri("dandi://000409@0.230630.1/sub-a/sub-a_ses-b.nwb") == (
        "000409", "0.230630.1", "sub-a/sub-a_ses-b.nwb")
    assert parse_dandi_uri("dandi://000017/sub-x/x.nwb") == ("000017", None, "sub-x/x.nwb")
    with pytest.raises(SourceError, match="not a DANDI URI"):
        parse_dandi_uri("dandi://17/x.nwb")


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HTTP range requests, as S3 does."""

    requests_seen: list[str] = []  # noqa: RUF012 - per-class log shared with the test

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        path = Path(self.directory) / self.path.lstrip("/").split("?")[0]
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.requests_seen.append(self.headers.get("Range", "full"))
        rng = self.headers.get("Range")
        if rng:
            start, end = rng.split("=")[1].split("-")
            lo, hi = int(start), min(int(end), len(data) - 1)
            chunk = data[lo:hi + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {lo}-{hi}/{len(data)}")
        else:
            chunk = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(chunk)


@pytest.fixture
def http_server(amygdala_file: Path) -> Iterator[str]:
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(amygdala_file.parent), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_streaming_reads_same_units(amygdala_file: Path, http_server: str,
                                         tmp_path: Path) -> None:
    with open_nwb(amygdala_file) as h5:
        local = read_units(h5)
    with open_nwb(f"{http_server}/{amygdala_file.name}", cache_dir=tmp_path / "c") as h5:
        remote = read_units(h5)
    np.testing.assert_array_equal(local.spike_times, remote.spike_times)
    np.testing.assert_array_equal(local.region, remote.region)
    assert any((tmp_path / "c" / "chunks").rglob("*")), "streamed chunks are cached on disk"


class _FakeAsset:
    def __init__(self, url: str) -> None:
        self.url = url

    def get_content_url(self, follow_redirects: int = 0, strip_query: bool = False) -> str:
        return self.url


class _FakeDandiset:
    def __init__(self, url: str, calls: list[tuple[str, ...]], key: tuple[str, ...]) -> None:
        self.url, self.calls, self.key = url, calls, key

    def get_asset_by_path(self, path: str) -> _FakeAsset:
        self.calls.append((*self.key, path))
        return _FakeAsset(self.url)


class _FakeClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.calls: list[tuple[str, ...]] = []

    def get_dandiset(self, dandiset_id: str, version_id: str | None = None) -> _FakeDandiset:
        return _FakeDandiset(self.url, self.calls, (dandiset_id, str(version_id)))


def test_dandi_uri_resolves_and_streams(amygdala_file: Path, http_server: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    client = _FakeClient(f"{http_server}/{amygdala_file.name}")
    monkeypatch.setattr(source_mod, "make_dandi_client", lambda: client)
    monkeypatch.setattr(source_mod, "http_probe", lambda url, timeout=5.0: None)
    uri = "dandi://000689@0.240101.0/sub-1/sub-1_ses-1_ecephys.nwb"
    resp = load_responses(uri, profile="amygdala")
    assert client.calls == [("000689", "0.240101.0", "sub-1/sub-1_ses-1_ecephys.nwb")]
    assert resp.attrs["source"] == uri
    local = load_responses(amygdala_file, profile="amygdala")
    np.testing.assert_array_equal(resp.values, local.values)


def test_dandi_missing_asset_is_a_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from dandi.exceptions import NotFoundError

    class _MissingClient(_FakeClient):
        def get_dandiset(self, dandiset_id: str, version_id: str | None = None) -> _FakeDandiset:
            raise NotFoundError(f"No such Dandiset: {dandiset_id!r}")

    monkeypatch.setattr(source_mod, "make_dandi_client", lambda: _MissingClient("unused"))
    monkeypatch.setattr(source_mod, "http_probe", lambda url, timeout=5.0: None)
    with pytest.raises(SourceError, match=r"dandiset 000409 version latest has no asset "
                                          r"'sub-x/sub-x\.nwb' \(No such Dandiset"):
        with open_nwb("dandi://000409/sub-x/sub-x.nwb"):
            pass


def test_http_error_status_is_a_source_error(http_server: str) -> None:
    with pytest.raises(SourceError, match=r"cannot stream .*/absent\.nwb \(HTTP 404 "):
        with open_nwb(f"{http_server}/absent.nwb"):
            pass


def test_unreachable_url_is_a_source_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceError, match=r"cannot stream .* \(ConnectionError: "):
        with open_nwb(f"http://127.0.0.1:{port}/x.nwb"):
            pass


def test_dandi_offline_is_a_clear_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(self: requests.Session, method: str, url: str, **kwargs: object) -> None:
        raise requests.ConnectionError(f"offline: {url}")

    monkeypatch.setattr(requests.Session, "request", no_network)
    with pytest.raises(SourceError, match=r"cannot reach the DANDI archive .*offline"):
        with open_nwb("dandi://000409/sub-x/sub-x.nwb"):
            pass


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROALIGN_CACHE", str(tmp_path / "envcache"))
    assert source_mod.cache_root() == tmp_path / "envcache"
    assert source_mod.cache_root(tmp_path / "arg") == tmp_path / "arg"


# --- the shipped DANDI config of the Steinmetz et al. sessions (dandiset 000017) -----------


class _GlobAsset(_FakeAsset):
    def __init__(self, path: str, url: str) -> None:
        super().__init__(url)
        self.path = path


class _GlobClient(_FakeClient):
    """A DANDI client over a fixed asset list, each asset served by the range server."""

    def __init__(self, base: str, paths: list[str]) -> None:
        super().__init__(base)
        self.paths = paths

    def get_dandiset(self, dandiset_id: str, version_id: str | None = None) -> Any:
        client = self

        class _Set(_FakeDandiset):
            def get_asset_by_path(self, path: str) -> _FakeAsset:
                self.calls.append((*self.key, path))
                return _FakeAsset(f"{client.url}/{path}")

            def get_assets_by_glob(self, pattern: str) -> Iterator[_GlobAsset]:
                self.calls.append((*self.key, "glob", pattern))
                return iter(_GlobAsset(p, f"{client.url}/{p}") for p in client.paths
                            if fnmatch.fnmatch(p, pattern))

        return _Set(self.url, self.calls, (dandiset_id, str(version_id)))


def _steinmetz_session(path: Path, seed: int) -> Path:
    """A small session in the layout of dandiset 000017: spike times, a trials table with
    feedback_type / feedback_time / visual_stimulus_time, regions on the units' peak
    channel."""
    rng = np.random.default_rng(seed)
    t0 = 5.0 + 6.0 * np.arange(12)
    trials = {"start_time": list(t0), "stop_time": list(t0 + 4.0),
              "visual_stimulus_time": list(t0 + 0.5), "feedback_time": list(t0 + 2.0),
              "feedback_type": [1, -1] * 6}
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_ephys(path, spikes=poisson_spikes(rng, 4, 90.0), trials=trials,
                       unit_columns={"peak_channel": [0, 1, 2, 3]},
                       electrode_locations=["BLA", "BLA", "ACA", "ACA"])


def test_shipped_steinmetz_dandi_config_lists_and_streams_its_sessions(
        amygdala_file: Path, http_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from neuroalign.batch import plan_batch
    from neuroalign.batch.config import load_config
    from neuroalign.batch.plan import _expand_sources
    from neuroalign.core.resources import package_data

    cfg = load_config(package_data("configs", "steinmetz-dandi.yaml"))
    (spec,) = cfg.sources
    assert spec.path == "dandi://000017/sub-*/*.nwb" and spec.is_remote
    assert (spec.profile, spec.align) == ("steinmetz", "outcome")
    root = amygdala_file.parent  # the folder the range server serves
    paths = ["sub-Cori/sub-Cori_ses-20161214_behavior+ecephys.nwb",
             "sub-Hench/sub-Hench_ses-20170615_behavior+ecephys.nwb"]
    for i, p in enumerate(paths):
        _steinmetz_session(root / p, seed=i)
    client = _GlobClient(http_server, [paths[1], "dandiset.yaml", paths[0]])
    monkeypatch.setattr(source_mod, "make_dandi_client", lambda: client)
    monkeypatch.setattr(source_mod, "http_probe", lambda url, timeout=5.0: None)

    expanded = _expand_sources(cfg)
    assert [loc for loc, _ in expanded] == [f"dandi://000017/{p}" for p in paths]
    cells, _ = plan_batch(cfg)  # names, measures and options checked as neuroalign batch does
    assert len(cells) == (len(cfg.agents) * len(cfg.tasks) * len(cfg.seeds)
                          * len(cfg.layers) * len(paths) * len(cfg.regions) * len(cfg.measures))
    assert sorted({c.source for c in cells}) == [loc for loc, _ in expanded]
    assert ("000017", "None", "glob", "sub-*/*.nwb") in client.calls
    loc, spec = expanded[0]
    remote = load_responses(loc, **spec.options())
    local = load_responses(root / paths[0], **spec.options())
    assert remote.attrs["source"] == loc
    np.testing.assert_array_equal(remote.values, local.values)
    assert remote.sizes["trial"] == 12 and set(remote["region"].values) == {"BLA", "ACA"}
    # outcome-locked: 6 bins of 0.25 s from 1.25 s before feedback_time
    np.testing.assert_allclose(remote["time"].values, -1.25 + 0.25 * np.arange(6) + 0.125)


def test_a_dandi_pattern_that_matches_nothing_is_a_source_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = _GlobClient("http://127.0.0.1:9", ["dandiset.yaml"])
    monkeypatch.setattr(source_mod, "make_dandi_client", lambda: client)
    monkeypatch.setattr(source_mod, "http_probe", lambda url, timeout=5.0: None)
    assert expand_dandi_uri("dandi://000017/sub-a/a.nwb") == ["dandi://000017/sub-a/a.nwb"]
    assert client.calls == []  # no pattern, no listing
    with pytest.raises(SourceError, match=r"no asset of dandiset 000017 version 0\.1 "
                                          r"matches 'sub-\*/\*\.nwb'"):
        expand_dandi_uri("dandi://000017@0.1/sub-*/*.nwb")
