"""Optional sampling profile of the server with py-spy (``pip install py-spy``), and its top functions.

py-spy writes collapsed stacks ("raw" format: ``frame;frame;frame count`` per line; speedscope.app
opens such files as a flame graph). Here they are summed per function: *self* is the share of
samples in which the function itself was running, *total* the share in which it was on the stack.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Frames every stack of a thread passes through; left out of the "total" list, which they would top.
PLUMBING = (
    "(threading.py)",
    "(typer/",
    "(click/",
    "(asyncio/runners.py)",
    "(uvicorn/main.py)",
    "(uvicorn/server.py)",
    "(omnikanal/cli.py)",
    "<module>",
    "(anyio/_backends/_asyncio.py)",
)
_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?P<line>:\d+)?\)$")
PROJECT = "omnikanal/"


def py_spy_command() -> Path | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return beside
    found = shutil.which("py-spy")
    return Path(found) if found else None


class Recording:
    """A running ``py-spy record`` of one process; ``finish`` waits for it and returns the file."""

    def __init__(self, pid: int, out: Path, duration: float, mode: str = "cpu", rate: int = 100) -> None:
        command = py_spy_command()
        if command is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        self.out = out
        args = [
            str(command),
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--duration",
            str(max(1, round(duration))),
            "--format",
            "raw",
            "--threads",
            "--output",
            str(out),
        ]
        if mode != "native":
            args.append("--nonblocking")  # do not pause the server to sample (native stacks need it)
        if mode == "gil":
            args.append("--gil")  # only the thread holding the GIL: what the Python code costs
        elif mode == "native":
            args.append("--native")  # C frames too (SQLite, psycopg's libpq calls)
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def finish(self, timeout: float = 60.0) -> Path | None:
        try:
            _, err = self._proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            return None
        if self._proc.returncode != 0 or not self.out.exists():
            print(f"  py-spy failed ({self._proc.returncode}): {err.decode(errors='replace')[-500:]}")
            return None
        return self.out


def _short(frame: str, keep_line: bool = False) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match.group("file") + (match.group("line") or "" if keep_line else "")
    for marker in ("site-packages/", "/src/", "lib/python"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({file})"


def _charged(frames: list[str], index: int | None, innermost: int | None) -> str:
    """The project frame a sample is charged to, and the library that ran below the innermost
    project frame, if any (else a middleware high up the stack would seem to cost what the framework
    below it does)."""
    if index is None or innermost is None:
        return "(outside omnikanal: server, event loop)"
    name = _short(frames[index], keep_line=True)
    if innermost == len(frames) - 1:
        return name
    below = _short(frames[innermost + 1])
    file = below[below.rfind("(") + 1 : -1]
    library = file.split("/", 1)[0] if "/" in file else file.removesuffix(".py")
    return f"{name} -> {library}"


@dataclass
class Hotspots:
    samples: int
    threads: list[tuple[str, float]]  # thread, share of samples
    self_time: list[tuple[str, float]]  # function, share of samples
    total_time: list[tuple[str, float]]
    # each sample charged to the innermost line of the project's own code on its stack
    own_code: list[tuple[str, float]]
    # the same, skipping the project's database helpers (omnikanal/db/): which use case ran the SQL
    call_sites: list[tuple[str, float]]

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "threads": self.threads,
            "self": self.self_time,
            "total": self.total_time,
            "own_code": self.own_code,
            "call_sites": self.call_sites,
        }


def analyse(raw: Path, top: int = 25) -> Hotspots:
    """Sum collapsed stacks per thread and per function."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    project: Counter[str] = Counter()
    sites: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text(errors="replace").splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        count = int(match.group(2))
        frames = [f for f in match.group(1).split(";") if f]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        thread = "?"
        if frames and frames[0].startswith("thread "):
            thread, frames = frames[0], frames[1:]
        samples += count
        threads[re.sub(r"^thread \((?:0x)?[0-9a-fA-F]+\):?\s*", "", thread) or thread] += count
        if not frames:
            continue
        names = [_short(f) for f in frames]
        own[names[-1]] += count
        mine = [n for n, f in enumerate(frames) if PROJECT in f and "omnikanal/cli.py" not in f]
        domain = [n for n in mine if "omnikanal/db/" not in frames[n]]
        innermost = mine[-1] if mine else None
        project[_charged(frames, innermost, innermost)] += count
        sites[_charged(frames, domain[-1] if domain else innermost, innermost)] += count
        for name in set(names):
            if not any(marker in name for marker in PLUMBING):
                total[name] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, 100.0 * n / samples) for name, n in counter.most_common(top)] if samples else []

    return Hotspots(samples, shares(threads), shares(own), shares(total), shares(project), shares(sites))


def print_hotspots(title: str, spots: Hotspots, top: int = 15) -> None:
    print(f"\n{title}: {spots.samples} samples")
    print("  by thread: " + ", ".join(f"{name} {share:.1f}%" for name, share in spots.threads[:8]))
    print("  self time (the function itself was running):")
    for name, share in spots.self_time[:top]:
        print(f"    {share:5.1f}%  {name}")
    print("  total time (the function was on the stack):")
    for name, share in spots.total_time[:top]:
        print(f"    {share:5.1f}%  {name}")
    print("  by line of omnikanal code (each sample charged to the innermost project frame; -> the library")
    print("  running below it, none when the line itself ran):")
    for name, share in spots.own_code[:top]:
        print(f"    {share:5.1f}%  {name}")
    print("  by call site outside omnikanal/db/ (which use case ran the SQL above; -> as above):")
    for name, share in spots.call_sites[:top]:
        print(f"    {share:5.1f}%  {name}")
