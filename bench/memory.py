"""Samples the resident memory of named processes over a run: peak and trend, per process."""

from __future__ import annotations

import threading
import time

import psutil

MB = 1024 * 1024


class MemorySampler:
    """A background thread reading each watched process's RSS every `every_s` seconds."""

    def __init__(self, every_s: float = 1.0) -> None:
        self.every_s = every_s
        self.samples: dict[str, list[tuple[float, int]]] = {}
        self.cpu_s: dict[str, float] = {}
        self._procs: dict[str, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._started = time.monotonic()

    def watch(self, name: str, pid: int) -> None:
        self._procs[name] = psutil.Process(pid)
        self.samples.setdefault(name, [])

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def _sample(self) -> None:
        now = time.monotonic() - self._started
        for name, proc in list(self._procs.items()):
            try:
                rss = proc.memory_info().rss
                if rss:  # an exited (zombie) process reads as 0
                    self.samples[name].append((now, rss))
                times = proc.cpu_times()
                self.cpu_s[name] = times.user + times.system
            except psutil.Error:
                self._procs.pop(name)

    def summary(self) -> dict[str, dict[str, float]]:
        """Peak RSS and RSS at each quarter of the run (MB): flat memory shows flat quarters."""
        return {
            name: {**_shape(points), "cpu_s": round(self.cpu_s.get(name, 0.0), 1)}
            for name, points in self.samples.items()
            if points
        }


def _shape(points: list[tuple[float, int]]) -> dict[str, float]:
    values = [rss for _, rss in points]

    def at(fraction: float) -> float:
        return round(values[min(len(values) - 1, int(fraction * len(values)))] / MB, 1)

    return {
        "peak_mb": round(max(values) / MB, 1),
        "q1_mb": at(0.25),
        "q2_mb": at(0.5),
        "q3_mb": at(0.75),
        "last_mb": at(1.0),
        "samples": float(len(values)),
    }
