"""Open an NWB source: a local path, an http(s) URL or a ``dandi://`` asset.

Remote files are streamed with :mod:`remfile` (HTTP range requests) and read with
:mod:`h5py`; only the bytes that are read travel. Fetched chunks are kept in an
on-disk cache whose folder is the ``cache_dir`` argument, else the
``NEUROALIGN_CACHE`` environment variable, else ``$XDG_CACHE_HOME/neuroalign``, else
``~/.cache/neuroalign`` (:func:`neuroalign.core.cache.cache_root`).

A ``dandi://<dandiset>[@<version>]/<asset path>`` URI is resolved to the asset's
S3 URL with the DANDI client (:class:`dandi.dandiapi.DandiAPIClient`). The client
is made by :func:`make_dandi_client`, and a short reachability probe of the
archive runs first through :func:`http_probe`; both are module-level functions so
that tests (and users behind proxies) can replace them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from neuroalign.core.atomic import check_regular_file
from neuroalign.core.cache import cache_root
from neuroalign.core.errors import NWBFormatError, SourceError

__all__ = [
    "DANDI_API_URL",
    "ResolvedSource",
    "cache_root",
    "expand_dandi_uri",
    "http_probe",
    "make_dandi_client",
    "open_nwb",
    "parse_dandi_uri",
    "resolve_source",
]

DANDI_API_URL = "https://api.dandiarchive.org/api"
_DANDI_RE = re.compile(r"^dandi://(?P<id>\d{6})(?:@(?P<version>[^/]+))?/(?P<path>.+)$")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class ResolvedSource:
    """Where the bytes of a source live.

    Attributes
    ----------
    source
        The string the user gave.
    kind
        ``"local"``, ``"url"`` or ``"dandi"``.
    location
        A local path (``kind == "local"``) or an http(s) URL.
    identity
        A string that changes when the content may change: path, size and mtime
        for local files, the resolved URL (and version) for remote ones.
    """

    source: str
    kind: str
    location: str
    identity: str


def parse_dandi_uri(uri: str) -> tuple[str, str | None, str]:
    """Split ``dandi://000409@0.230630.1234/sub-x/sub-x.nwb`` into (id, version, path).

    Raises
    ------
    SourceError
        If ``uri`` does not follow ``dandi://<6-digit id>[@<version>]/<asset path>``.
    """
    match = _DANDI_RE.match(uri)
    if match is None:
        raise SourceError(
            f"source {uri!r}: not a DANDI URI; expected "
            "'dandi://<6-digit dandiset>[@<version>]/<asset path>', "
            "e.g. 'dandi://000409@draft/sub-CSHL045/sub-CSHL045_ses-x.nwb'"
        )
    return match["id"], match["version"], match["path"]


def http_probe(url: str, timeout: float = 5.0) -> None:
    """One quick request to ``url``; raises ``requests.RequestException`` when unreachable."""
    import requests

    with requests.Session() as session:
        session.request("HEAD", url, timeout=timeout, allow_redirects=True)


def make_dandi_client() -> Any:
    """A :class:`dandi.dandiapi.DandiAPIClient` for the public archive."""
    from dandi.dandiapi import DandiAPIClient

    return DandiAPIClient(api_url=DANDI_API_URL)


def _probe_archive(uri: str) -> None:
    import requests

    try:
        http_probe(DANDI_API_URL)
    except requests.RequestException as err:
        raise SourceError(
            f"source {uri!r}: cannot reach the DANDI archive at {DANDI_API_URL} "
            f"(offline or blocked: {type(err).__name__}); download the asset and pass "
            "its local path, or retry when online"
        ) from None


def expand_dandi_uri(uri: str) -> list[str]:
    """The ``dandi://`` URIs of every asset a pattern names, sorted by path.

    A URI whose asset path holds glob characters (``*``, ``?``, ``[...]``), such as
    ``dandi://000017/sub-*/*.nwb``, is matched against the dandiset's asset paths
    by the archive (:meth:`dandi.dandiapi.RemoteDandiset.get_assets_by_glob`); any
    other URI is returned alone, unchecked (:func:`resolve_source` checks it).

    Raises
    ------
    SourceError
        A malformed URI, an unreachable archive, an unknown dandiset or version, a
        pattern that matches no asset.
    """
    import glob

    import requests
    from dandi.exceptions import HTTP404Error, NotFoundError

    dandiset, version, pattern = parse_dandi_uri(uri)
    if not glob.has_magic(pattern):
        return [uri]
    _probe_archive(uri)
    try:
        found = sorted(asset.path for asset in make_dandi_client().get_dandiset(
            dandiset, version).get_assets_by_glob(pattern))
    except (NotFoundError, HTTP404Error) as err:
        raise SourceError(f"source {uri!r}: dandiset {dandiset} version "
                          f"{version or 'latest'} not found ({err})") from None
    except requests.RequestException as err:
        raise SourceError(
            f"source {uri!r}: DANDI request failed ({type(err).__name__}: {err})"
        ) from None
    if not found:
        raise SourceError(f"source {uri!r}: no asset of dandiset {dandiset} version "
                          f"{version or 'latest'} matches {pattern!r}")
    at = f"@{version}" if version else ""
    return [f"dandi://{dandiset}{at}/{path}" for path in found]


def _resolve_dandi(uri: str) -> ResolvedSource:
    import requests
    from dandi.exceptions import HTTP404Error, NotFoundError

    dandiset, version, path = parse_dandi_uri(uri)
    _probe_archive(uri)
    try:
        client = make_dandi_client()
        asset = client.get_dandiset(dandiset, version).get_asset_by_path(path)
        url = asset.get_content_url(follow_redirects=1, strip_query=True)
    except (NotFoundError, HTTP404Error) as err:
        raise SourceError(
            f"source {uri!r}: dandiset {dandiset} version {version or 'latest'} has "
            f"no asset {path!r} ({err})"
        ) from None
    except requests.RequestException as err:
        raise SourceError(
            f"source {uri!r}: DANDI request failed ({type(err).__name__}: {err})"
        ) from None
    return ResolvedSource(uri, "dandi", str(url), f"dandi:{dandiset}@{version}:{path}:{url}")


def resolve_source(source: str | os.PathLike[str] | ResolvedSource) -> ResolvedSource:
    """Say where ``source`` lives and how to recognise its content again.

    A :class:`ResolvedSource` is returned unchanged (resolve once, open many times).

    Raises
    ------
    SourceError
        A missing local file, a malformed ``dandi://`` URI, an unreachable archive.
    """
    if isinstance(source, ResolvedSource):
        return source
    text = os.fspath(source)
    if text.startswith("dandi://"):
        return _resolve_dandi(text)
    if text.startswith(("http://", "https://")):
        return ResolvedSource(text, "url", text, f"url:{text}")
    path = Path(text).expanduser()
    check_regular_file(path, "source")  # a FIFO or a device would block or never end
    stat = path.stat()
    return ResolvedSource(
        text, "local", str(path.resolve()),
        f"file:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}",
    )


def _check_signature(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(8)
    # HDF5 files may carry a user block; the signature then sits at 512, 1024, ...
    if head != _HDF5_SIGNATURE:
        size = path.stat().st_size
        offset = 512
        with path.open("rb") as fh:
            while offset < size:
                fh.seek(offset)
                if fh.read(8) == _HDF5_SIGNATURE:
                    return
                offset *= 2
        hint = ("; binned counts in a .npz are converted with `neuroalign convert` (or read "
                "with neuroalign.io.convert.read_binned)" if path.suffix.lower() == ".npz" else "")
        raise NWBFormatError(
            f"{path}: not an HDF5 file (no HDF5 signature); expected an NWB file "
            f"written with HDF5{hint}"
        )


def _check_nwb(h5: h5py.File, name: str) -> None:
    ntype = h5.attrs.get("neurodata_type")
    if isinstance(ntype, bytes):
        ntype = ntype.decode()
    if ntype != "NWBFile" and "nwb_version" not in h5.attrs:
        raise NWBFormatError(
            f"{name}: HDF5 but not NWB (root attribute neurodata_type is {ntype!r}; "
            "expected 'NWBFile')"
        )


def _stream_error(resolved: ResolvedSource, why: str) -> SourceError:
    return SourceError(f"source {resolved.source!r}: cannot stream {resolved.location} ({why})")


def _check_remote(resolved: ResolvedSource, timeout: float = 30.0) -> None:
    """One ranged GET of the first bytes, so that transport failures raise ``SourceError``.

    remfile reports HTTP error statuses with plain ``Exception``s (and retries
    unreachable hosts with back-off); this check turns the usual failures, an
    unreachable host or a 4xx/5xx answer, into a clear error before it runs.
    """
    import requests

    try:
        with requests.get(resolved.location, headers={"Range": "bytes=0-7"}, stream=True,
                          timeout=timeout) as resp:
            status, reason = resp.status_code, resp.reason
    except requests.RequestException as err:
        raise _stream_error(resolved, f"{type(err).__name__}: {err}") from None
    if status not in (200, 206):
        raise _stream_error(resolved, f"HTTP {status} {reason}")


@contextlib.contextmanager
def open_nwb(
    source: str | os.PathLike[str] | ResolvedSource, cache_dir: str | os.PathLike[str] | None = None
) -> Iterator[h5py.File]:
    """Open an NWB file for reading, wherever it lives.

    Parameters
    ----------
    source
        A local path, an ``http(s)://`` URL, ``dandi://<id>[@<version>]/<path>``,
        or a :class:`ResolvedSource`.
    cache_dir
        Folder of the on-disk chunk cache for remote sources; defaults to
        the cache root (:func:`neuroalign.core.cache.cache_root`).

    Yields
    ------
    h5py.File
        The open file (read-only), closed on exit. Use :func:`resolve_source`
        for the source's identity.

    Raises
    ------
    SourceError
        Missing file, unreachable URL or archive, an HTTP error status.
    NWBFormatError
        Not HDF5, truncated or corrupt HDF5, HDF5 without NWB root attributes.
    """
    resolved = resolve_source(source)
    remote = None
    if resolved.kind == "local":
        path = Path(resolved.location)
        _check_signature(path)
        try:
            h5 = h5py.File(path, "r")
        except OSError as err:
            raise NWBFormatError(
                f"{path}: truncated or corrupt HDF5 file ({err}); re-download or re-export it"
            ) from None
        label = str(path)
    else:
        import remfile
        import requests

        _check_remote(resolved)
        folder = cache_root(cache_dir) / "chunks"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            remote = remfile.File(resolved.location, disk_cache=remfile.DiskCache(str(folder)))
            h5 = h5py.File(remote, "r")
        except requests.RequestException as err:  # a subclass of OSError: test it first
            if remote is not None:
                remote.close()
            raise _stream_error(resolved, f"{type(err).__name__}: {err}") from None
        except OSError as err:
            if remote is not None:
                remote.close()
            raise NWBFormatError(
                f"{resolved.source}: remote content is not readable HDF5 ({err})"
            ) from None
        label = resolved.source
    try:
        _check_nwb(h5, label)
        yield h5
    finally:
        h5.close()
        if remote is not None:
            remote.close()


def identity_hash(*parts: object) -> str:
    """A short stable hash of ``parts`` (their ``repr``), used for cache keys."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:24]
