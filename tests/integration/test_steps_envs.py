"""Python environment and download steps on real hosts (offline: a wheelhouse, a local server)."""

from __future__ import annotations

import http.server
import io
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from octopus import DownloadGDriveFolder, SetupRYEVenv, SetupUvVenv, SetupVenv
from octopus.results import Outcome
from octopus.testing.sshhosts import TestCluster
from octopus.testing.wheels import build_wheel
from tests.conftest import cluster_nodes, run_stage_on

WHEEL_CACHE = Path("/var/tmp/octopus-wheel-cache")


@pytest.fixture(scope="module")
def wheelhouse(cluster: TestCluster) -> Path:
    build_wheel(cluster.wheelhouse, "octotiny", "1.0", value="from wheel")
    build_wheel(cluster.wheelhouse, "octoreq", "2.0", value="from requirements.txt")
    return cluster.wheelhouse


@pytest.fixture(scope="module")
def uv_wheel(wheelhouse: Path) -> Path:
    """uv's wheel from PyPI (cached on this machine), for hosts that have no index."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    if not list(WHEEL_CACHE.glob("uv-*.whl")):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                str(WHEEL_CACHE),
                "uv",
            ],
            check=True,
        )
    wheel = sorted(WHEEL_CACHE.glob("uv-*.whl"))[-1]
    shutil.copy(wheel, wheelhouse)
    return wheel


def test_setup_venv_installs_keeps_and_recreates(cluster: TestCluster, wheelhouse: Path):
    host = cluster.hosts[0]
    host.write("venv exp/reqs.txt", "octoreq==2.0\n")
    nodes = cluster_nodes(cluster, [0], python_version="3")
    step = SetupVenv(
        requirements=["octotiny"], use_requirements_txt=True, requirements_txt_filename="reqs.txt"
    )
    run = run_stage_on(nodes, [step], exp_folder_name="venv exp")
    assert run.report.ok, run.text
    python = "'venv exp'/venv3/bin/python"
    assert (
        host.exec(
            f"{python} -c 'import octotiny, octoreq; print(octotiny.VALUE, octoreq.VALUE)'"
        ).strip()
        == "from wheel from requirements.txt"
    )
    marker = host.write("venv exp/venv3/marker", "kept")
    assert run_stage_on(nodes, [SetupVenv()], exp_folder_name="venv exp").report.ok
    assert marker.exists()
    assert run_stage_on(nodes, [SetupVenv(force=True)], exp_folder_name="venv exp").report.ok
    assert not marker.exists()


def test_setup_venv_with_a_missing_package_fails_the_node(cluster: TestCluster, wheelhouse: Path):
    run = run_stage_on(
        cluster_nodes(cluster, [0]),
        [SetupVenv(requirements=["no-such-pkg"])],
        exp_folder_name="venv missing",
    )
    result = run.report.results[0]
    assert result.outcome is Outcome.FAILED
    assert "no-such-pkg" in result.stderr_tail


def test_setup_uv_venv_installs_uv_and_packages(cluster: TestCluster, uv_wheel: Path):
    host = cluster.hosts[1]
    host.write("uv exp/requirements.txt", "octoreq\n")
    nodes = cluster_nodes(cluster, [1])
    step = SetupUvVenv(requirements=["octotiny==1.0"], use_requirements_txt=True)
    run = run_stage_on(nodes, [step], exp_folder_name="uv exp")
    assert run.report.ok, run.text
    assert (host.home / ".octopus" / "uv" / "bin" / "uv").exists()
    assert (
        host.exec(
            "'uv exp'/.venv/bin/python -c 'import octotiny, octoreq; print(octotiny.VALUE)'"
        ).strip()
        == "from wheel"
    )
    # A second run reuses uv and the venv.
    marker = host.write("uv exp/.venv/marker", "kept")
    assert run_stage_on(nodes, [SetupUvVenv()], exp_folder_name="uv exp").report.ok
    assert marker.exists()


def test_setup_rye_venv_without_rye_or_network_says_what_to_use(cluster: TestCluster):
    run = run_stage_on(cluster_nodes(cluster, [1]), [SetupRYEVenv()], exp_folder_name="rye exp")
    result = run.report.results[0]
    assert result.outcome is Outcome.FAILED
    assert "SetupUvVenv does the same with uv" in result.stderr_tail


def _tar_gz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FakeDrive(http.server.BaseHTTPRequestHandler):
    """Serves Google Drive's answers: a confirmation form for big files, a sign-in page
    for files not shared, the file itself otherwise."""

    archive = _tar_gz({"dataset/train.csv": "a,b\n1,2\n", "dataset/README": "data\n"})

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        from urllib.parse import parse_qs, urlparse

        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        file_id = query.get("id", "")
        if url.path == "/uc" and file_id == "BIG":
            form = (
                '<html><form id="download-form" action="/download" method="get">'
                '<input type="hidden" name="id" value="BIG">'
                '<input type="hidden" name="confirm" value="t">'
                '<input type="hidden" name="uuid" value="abc&amp;1"></form></html>'
            )
            self._send(
                200,
                form.encode(),
                "text/html; charset=utf-8",
                {"Set-Cookie": "download_warning=1; Path=/"},
            )
        elif url.path == "/download" and query == {"id": "BIG", "confirm": "t", "uuid": "abc&1"}:
            self._send(
                200,
                self.archive,
                "application/x-gzip",
                {"Content-Disposition": 'attachment; filename="data.tar.gz"'},
            )
        elif url.path == "/uc" and file_id == "SMALL":
            self._send(
                200,
                b"just a file\n",
                "text/plain",
                {"Content-Disposition": 'attachment; filename="notes.txt"'},
            )
        elif url.path == "/uc" and file_id == "PRIVATE":
            self._send(200, b"<html>Sign in - Google Accounts</html>", "text/html")
        else:
            self._send(404, b"not found", "text/plain")


@pytest.fixture
def drive(cluster: TestCluster) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer((cluster.bridge_address, 0), FakeDrive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{cluster.bridge_address}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_gdrive_folder_follows_confirmation_and_extracts(cluster: TestCluster, drive: str):
    host = cluster.hosts[2]
    nodes = cluster_nodes(cluster, [2])
    run = run_stage_on(
        nodes,
        [
            DownloadGDriveFolder(gfile_id="BIG", target_dir="gd/data set", base_url=drive),
            DownloadGDriveFolder(gfile_id="SMALL", target_dir="gd/small", base_url=drive),
        ],
    )
    assert run.report.ok, run.text
    assert (host.home / "gd" / "data set" / "dataset" / "train.csv").read_text() == "a,b\n1,2\n"
    assert not list((host.home / "gd" / "data set").glob(".download-*"))
    assert (host.home / "gd" / "small" / "notes.txt").read_text() == "just a file\n"
    again = run_stage_on(
        nodes, [DownloadGDriveFolder(gfile_id="BIG", target_dir="gd/data set", base_url=drive)]
    )
    assert "gd/data set exists, skipped" in " ".join(again.lines("h3")).replace("'", "")


def test_download_gdrive_folder_not_shared_is_a_clear_failure(cluster: TestCluster, drive: str):
    for file_id, words in (("PRIVATE", "is not shared publicly"), ("GONE", "HTTP 404")):
        run = run_stage_on(
            cluster_nodes(cluster, [2]),
            [DownloadGDriveFolder(gfile_id=file_id, target_dir=f"gd/{file_id}", base_url=drive)],
        )
        result = run.report.results[0]
        assert result.outcome is Outcome.FAILED and result.exit_code == 3
        assert words in result.stderr_tail
