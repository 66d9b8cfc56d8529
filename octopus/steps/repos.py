"""Steps that fetch code and data onto the nodes: CloneRepo and DownloadGDriveFolder."""

from __future__ import annotations

import posixpath
from typing import Any

from octopus.remote.shell import quote_path
from octopus.schema import PathLike, path_text
from octopus.steps.base import Step
from octopus.steps.context import StepContext

GDRIVE_URL = "https://drive.google.com"


def repo_folder(url: str) -> str:
    """The folder `git clone URL` creates: the last path part without .git."""
    name = posixpath.basename(url.rstrip("/").split(":")[-1])
    return name[:-4] if name.endswith(".git") else name


class CloneRepo(Step):
    """Clone a repository into the experiment folder; skipped when it is already there."""

    def __init__(
        self,
        repo_url: str,
        recurse_submodules: bool = False,
        target: PathLike | None = None,
        branch: str | None = None,
        force: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo_url = repo_url
        self.recurse_submodules = recurse_submodules
        self.target = path_text(target) if target is not None else None
        self.branch = branch
        self.force = force

    def folder(self, ctx: StepContext) -> str:
        return self.target or ctx.experiment.exp_folder_name or repo_folder(self.repo_url)

    def commands(self, ctx: StepContext) -> list[str]:
        folder = quote_path(self.folder(ctx))
        options = " --recurse-submodules" if self.recurse_submodules else ""
        if self.branch:
            options += f" --branch {quote_path(self.branch)}"
        clone = f"git clone{options} -- {quote_path(self.repo_url)} {folder}"
        if self.force:
            return [f"rm -rf -- {folder} && {clone}"]
        return [f"if [ -e {folder}/.git ]; then echo {folder} exists, skipped; else {clone}; fi"]

    def __str__(self) -> str:
        return f"CloneRepo({self.repo_url})"


# Runs on the node with its own python3 and only the standard library. Google Drive answers a
# download of a large file with a page asking to confirm (a form, or a link with confirm=);
# a file that is not shared gets a sign-in or "request access" page, or 403/404.
_GDRIVE_SCRIPT = r"""
import html, os, re, shutil, sys, tarfile, tempfile, urllib.error, urllib.parse, urllib.request
import http.cookiejar, zipfile
base, file_id, target, extract = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
url = base.rstrip("/") + "/uc?" + urllib.parse.urlencode({"export": "download", "id": file_id})
def fail(msg):
    print("DownloadGDriveFolder: " + msg, file=sys.stderr)
    sys.exit(3)
for _ in range(5):
    try:
        resp = opener.open(url, timeout=120)
    except urllib.error.HTTPError as exc:
        fail(f"file {file_id} is not shared publicly or does not exist (HTTP {exc.code}); "
             "share it as 'anyone with the link'")
    except urllib.error.URLError as exc:
        fail(f"cannot reach {base}: {exc.reason}")
    if "text/html" not in resp.headers.get("Content-Type", ""):
        break
    page = resp.read().decode("utf-8", "replace")
    form = re.search(r'<form[^>]*id="download-form"[^>]*action="([^"]+)"', page)
    link = re.search(r'href="([^"]*confirm=[^"]*)"', page)
    if form:
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
        url = urllib.parse.urljoin(url, html.unescape(form.group(1)))
        url += "?" + urllib.parse.urlencode({k: html.unescape(v) for k, v in fields.items()})
    elif link:
        url = urllib.parse.urljoin(url, html.unescape(link.group(1)))
    else:
        fail(f"file {file_id} is not shared publicly (Google Drive sent a page instead of the "
             "file); share it as 'anyone with the link'")
else:
    fail("too many confirmation pages")
disposition = resp.headers.get("Content-Disposition", "")
match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", disposition)
name = os.path.basename(urllib.parse.unquote(match.group(1))) if match else file_id
os.makedirs(target, exist_ok=True)
fd, part = tempfile.mkstemp(dir=target, prefix=".download-")
with os.fdopen(fd, "wb") as out:
    shutil.copyfileobj(resp, out)
if extract and tarfile.is_tarfile(part):
    with tarfile.open(part) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(target, filter="data")
        else:
            archive.extractall(target)
    os.remove(part)
    print(f"extracted {name} into {target}")
elif extract and zipfile.is_zipfile(part):
    with zipfile.ZipFile(part) as archive:
        archive.extractall(target)
    os.remove(part)
    print(f"extracted {name} into {target}")
else:
    os.replace(part, os.path.join(target, name))
    print(f"saved {name} into {target}")
"""


class DownloadGDriveFolder(Step):
    """Download a shared Google Drive file into target_dir on the node (archives are unpacked).

    Skipped when target_dir exists. `base_url` points elsewhere for mirrors and tests.
    """

    def __init__(
        self,
        gfile_id: str,
        target_dir: PathLike,
        base_url: str = GDRIVE_URL,
        extract: bool = True,
        python_cmd: str = "python3",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gfile_id = gfile_id
        self.target_dir = path_text(target_dir)
        self.base_url = base_url
        self.extract = extract
        self.python_cmd = python_cmd

    def commands(self, ctx: StepContext) -> list[str]:
        target = quote_path(self.target_dir)
        download = (
            f"{quote_path(self.python_cmd)} -c {quote_path(_GDRIVE_SCRIPT)} "
            f"{quote_path(self.base_url)} {quote_path(self.gfile_id)} {target} "
            f"{1 if self.extract else 0}"
        )
        return [f"if [ -e {target} ]; then echo {target} exists, skipped; else {download}; fi"]

    def describe(self, ctx: StepContext) -> list[str]:
        return [
            f"download Google Drive file {self.gfile_id} into {self.target_dir} "
            f"(from {self.base_url}; skipped if it exists)"
        ]

    def __str__(self) -> str:
        return f"DownloadGDriveFolder({self.gfile_id})"
