"""What `inv deliver` runs on each node: one command that checks for running workers, unpacks
the node's scripts into a new folder, and then waits, on its channel, for the word to make that
folder current (or to remove it, when the delivery stops).

No node may switch before every node has its upload, so deliver goes over the nodes twice; the
second time it only sends each node's held command its word (remote/held.py). Before, the
first pass took four commands and an SFTP session and the second a command of its own, which
on 32 nodes made most of the stage's time (bench/deliver_scale.py).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from octopus.remote.archive import (
    FREE_SPACE_LINE,
    UPLOAD_PREFIX,
    UploadFailed,
    tar_folder,
    unpack_command,
    upload_failure,
)
from octopus.remote.held import Held, wait_for_word
from octopus.remote.quick import QuickResult
from octopus.remote.shell import quote_path
from octopus.run.layout import PENDING_CURRENT, pending_current
from octopus.run.manifest import Manifest
from octopus.stages.worker_control import listed, running_command, stop_command
from octopus.steps.base import Step
from octopus.steps.context import StepContext

# The exit status of an upload command that found workers running and took nothing.
BUSY = 75
# The words a held upload waits for; any other (or none: the client went) removes it.
SWITCH = "switch"
DISCARD = "discard"


def switch_command(manifest: Manifest) -> str:
    """Shell text making the delivery current with one rename: never half replaced."""
    link, _ = pending_current(manifest.run_root, manifest.delivery)
    pending, current = (
        f'"$HOME"/{quote_path(link)}',
        f'"$HOME"/{quote_path(manifest.run_root)}/current',
    )
    return (
        f"{{ mv -Tf {pending} {current} 2>/dev/null || "
        f"{{ rm -f {current} && mv {pending} {current}; }}; }}"
    )


def discard_command(manifest: Manifest) -> str:
    """Shell text removing the upload and the link it brought."""
    link, _ = pending_current(manifest.run_root, manifest.delivery)
    return f'cd / && rm -rf "$HOME"/{quote_path(manifest.run_dir)} "$HOME"/{quote_path(link)}'


@dataclass(frozen=True)
class Busy:
    """A node where this experiment's workers still run: it took no upload."""

    running: str


class CheckAndUpload(Step):
    """Checks that none of this experiment's workers runs on the node (stops them with
    `force`) and, in the same command, unpacks the node's scripts into a new delivery folder,
    not current yet; the command then waits for Switch or Discard (`held`, by node). A failed
    upload removes what it left; when it could not (the connection was gone), the next upload
    does: a folder still holding an upload mark never unpacked whole, so it never became
    current. Returns Busy, or the delivery id once uploaded."""

    label = "check and upload scripts"

    def __init__(self, manifest: Manifest, folder: Path, force: bool) -> None:
        super().__init__()
        self.manifest = manifest
        self.folder = folder
        self.force = force
        self.held: dict[str, Held] = {}
        self._lock = threading.Lock()

    def describe(self, ctx: StepContext) -> list[str]:
        paths = ctx.experiment.paths
        return [
            f"look for running workers of this experiment ({paths.session_prefix}* sessions or "
            f"jobs, processes under ~/{paths.remote_run_dir})"
            + ("; stop them (--force)" if self.force else ""),
            f"upload {self.folder / ctx.name}/ -> ~/{self.manifest.run_dir}/",
        ]

    def _check(self, ctx: StepContext) -> str:
        """Shell text that lists running workers and, unless forced, ends there."""
        found = f"octopus_running=$({running_command(ctx)}); "
        if self.force:
            return found + (
                'if [ -n "$octopus_running" ]; then printf "%s\\n" "$octopus_running"; '
                f"{{ {stop_command(ctx)}; }} >/dev/null; fi; "
            )
        return found + (
            'if [ -n "$octopus_running" ]; then printf "%s\\n" "$octopus_running"; '
            f"exit {BUSY}; fi; "
        )

    def execute(self, ctx: StepContext) -> Busy | str:
        run_root = quote_path(self.manifest.run_root)
        half_uploads = (
            f'for d in "$HOME"/{run_root}/deliveries/*/; do '
            f'for a in "$d"{UPLOAD_PREFIX}*; do [ -e "$a" ] && {{ d=${{d%/}}; '
            f'rm -rf "$d" "$HOME"/{run_root}/{PENDING_CURRENT}"${{d##*/}}"; }}; break; done; done; '
        )
        token = secrets.token_hex(4)
        link = pending_current(self.manifest.run_root, self.manifest.delivery)
        data = tar_folder(
            self.folder / ctx.name, self.manifest.run_dir, token, fresh=True, link=link
        )
        command = (
            self._check(ctx)
            + half_uploads
            + unpack_command(self.manifest.run_dir, token, fresh=True, size=len(data), link=link[0])
            + "; "
            + wait_for_word({SWITCH: switch_command(self.manifest)}, discard_command(self.manifest))
        )
        try:
            outcome = ctx.connection().hold(command, data, timeout=ctx.timeout)
        except Exception:
            # Best effort: no half delivery stays on the node. Only over the connection still
            # open: a new one to a node gone silent would first wait out connect_timeout, and
            # the next upload removes what is left anyway.
            if ctx.connection().is_active():
                with contextlib.suppress(Exception):
                    ctx.quick(discard_command(self.manifest))
            raise
        if isinstance(outcome, QuickResult):
            result = outcome
        else:
            with self._lock:
                self.held[ctx.name] = outcome
            result = QuickResult(0, outcome.stdout, outcome.stderr)
        running = listed(
            "\n".join(
                line for line in result.stdout.splitlines() if not line.startswith(FREE_SPACE_LINE)
            )
        )
        if result.exited == BUSY:
            return Busy(running)
        if running:
            ctx.say(f"--force: stopped {running}")
        if not result.ok or ctx.name not in self.held:  # (ended without waiting: failed)
            raise upload_failure(result, self.manifest.run_dir, len(data))
        return self.manifest.delivery

    def take(self, node: str) -> Held | None:
        """The node's held upload, for Switch or Discard to finish."""
        with self._lock:
            return self.held.pop(node, None)

    def abandon_the_rest(self) -> None:
        """End the wait of every upload no Switch or Discard took: each node removes its own."""
        with self._lock:
            rest, self.held = list(self.held.values()), {}
        for held in rest:
            with contextlib.suppress(Exception):  # never hides why the stage stopped
                held.abandon()


class Discard(Step):
    """Removes an uploaded delivery that will not become current (another node is busy)."""

    label = "discard upload"

    def __init__(self, manifest: Manifest, upload: CheckAndUpload) -> None:
        super().__init__()
        self.manifest = manifest
        self.upload = upload

    def describe(self, ctx: StepContext) -> list[str]:
        return [f"remove ~/{self.manifest.run_dir}"]

    def execute(self, ctx: StepContext) -> None:
        held = self.upload.take(ctx.name)
        if held is not None:
            held.finish(DISCARD, ctx.timeout)
        else:
            ctx.quick(discard_command(self.manifest), warn=True)
        ctx.say("upload discarded: this node keeps its previous delivery")


class Switch(Step):
    """Makes the uploaded delivery current with one rename (never half replaced): the word
    its held upload waits for."""

    label = "switch to the new delivery"

    def __init__(self, manifest: Manifest, upload: CheckAndUpload) -> None:
        super().__init__()
        self.manifest = manifest
        self.upload = upload

    def describe(self, ctx: StepContext) -> list[str]:
        return [f"point ~/{self.manifest.run_root}/current at {self.manifest.delivery}"]

    def execute(self, ctx: StepContext) -> str:
        held = self.upload.take(ctx.name)
        if held is None:  # (a node whose upload went through always waits)
            raise UploadFailed(f"no upload of {self.manifest.delivery} waits for its switch")
        result = held.finish(SWITCH, ctx.timeout)
        if not result.ok:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            raise UploadFailed(
                f"switching ~/{self.manifest.run_root}/current to {self.manifest.delivery} "
                f"exited with {result.exited}" + (f": {lines[-1]}" if lines else "")
            )
        workers = self.manifest.workers_on(ctx.name)
        ctx.say(
            f"delivered {len(workers)} worker script(s), "
            f"{sum(len(p.ids) - p.kept for p in workers)} command(s)"
        )
        return self.manifest.delivery
