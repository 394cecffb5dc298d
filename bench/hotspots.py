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

_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy_command() -> Path | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return beside
    found = shutil.which("py-spy")
    return Path(found) if found else None


class Recording:
    """A running ``py-spy record`` of one process; ``finish`` waits for it and returns the file."""

    def __init__(self, pid: int, out: Path, duration: float, rate: int = 100, native: bool = False) -> None:
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
            "--nonblocking",
            "--output",
            str(out),
        ]
        if native:
            args.append("--native")
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


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match.group("file")
    for marker in ("site-packages/", "/src/", "lib/python"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({file})"


@dataclass
class Hotspots:
    samples: int
    threads: list[tuple[str, float]]  # thread, share of samples
    self_time: list[tuple[str, float]]  # function, share of samples
    total_time: list[tuple[str, float]]

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "threads": self.threads,
            "self": self.self_time,
            "total": self.total_time,
        }


def analyse(raw: Path, top: int = 25) -> Hotspots:
    """Sum collapsed stacks per thread and per function."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    threads: Counter[str] = Counter()
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
        threads[re.sub(r"\s*\(0x[0-9a-fA-F]+\)", "", thread)] += count
        if not frames:
            continue
        names = [_short(f) for f in frames]
        own[names[-1]] += count
        for name in set(names):
            total[name] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, 100.0 * n / samples) for name, n in counter.most_common(top)] if samples else []

    return Hotspots(samples, shares(threads), shares(own), shares(total))


def print_hotspots(title: str, spots: Hotspots, top: int = 15) -> None:
    print(f"\n{title}: {spots.samples} samples")
    print("  by thread: " + ", ".join(f"{name} {share:.1f}%" for name, share in spots.threads[:8]))
    print("  self time (the function itself was running):")
    for name, share in spots.self_time[:top]:
        print(f"    {share:5.1f}%  {name}")
    print("  total time (the function was on the stack):")
    for name, share in spots.total_time[:top]:
        print(f"    {share:5.1f}%  {name}")
