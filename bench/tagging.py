"""Benchmark the topic tagger: texts tagged per second on one core.

Run from the repository root: ``python bench/tagging.py [--texts 50000] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script, the package is not on the path

from bot.tagging import Tagger  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "tagging_set.jsonl"
TARGET = 20_000  # texts per second


def load_texts(count: int, seed: int = 2024) -> list[str]:
    """Return count texts from the labelled set, repeated and shuffled."""
    texts = [json.loads(line)["text"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = (texts * (count // len(texts) + 1))[:count]
    random.Random(seed).shuffle(out)
    return out


def pin_to_one_core(pin: bool) -> str:
    """Pin this process to one CPU if asked and allowed; the tagger is single-threaded anyway."""
    if not pin:
        return "one thread, not pinned (use --pin to pin)"
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"one thread, pinned to CPU {cpu}"


def reference_speed() -> float:
    """Return millions of simple Python loop steps per second, to compare machines."""
    best = 0.0
    for _ in range(3):
        start, total = time.perf_counter(), 0
        for i in range(2_000_000):
            total += i
        best = max(best, 2.0 / (time.perf_counter() - start))
    return best


def machine_info() -> list[str]:
    """Describe the machine, since the figure means little without it."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return [
        f"python     {platform.python_implementation()} {platform.python_version()}",
        f"platform   {platform.platform()}",
        f"processor  {platform.processor() or platform.machine()}",
        f"cpu count  {os.cpu_count()}",
        f"load avg   {' '.join(f'{x:.2f}' for x in load) if load else 'n/a'}  (other work slows the figure)",
        f"reference  {reference_speed():.1f} M loop steps/s (`total += i`; compare machines by this)",
    ]


def main() -> None:
    """Tag the texts several times and print the rate of the best and the median round."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=50_000, help="texts per round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (best and median are shown)")
    parser.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    args = parser.parse_args()
    for line in machine_info():
        print(line)
    print(f"cpu        {pin_to_one_core(args.pin)}")
    texts = load_texts(args.texts)
    tagger = Tagger()
    for text in texts[:2000]:  # warm the caches a long-running bot would have warm
        tagger.tag(text)
    rates, cpu_rates = [], []
    for _ in range(args.rounds):
        start, cpu_start = time.perf_counter(), time.thread_time()
        for text in texts:
            tagger.tag(text)
        rates.append(len(texts) / (time.perf_counter() - start))
        # CPU time leaves out the time other processes held the core: a fairer figure on a busy box.
        cpu_rates.append(len(texts) / max(time.thread_time() - cpu_start, 1e-9))
    best, median = max(rates), statistics.median(rates)
    print(f"texts      {len(texts)} per round, {args.rounds} rounds")
    print(f"rate       best {best:,.0f} texts/s, median {median:,.0f} texts/s, wall clock (target {TARGET:,})")
    print(f"cpu rate   best {max(cpu_rates):,.0f} texts/s, median {statistics.median(cpu_rates):,.0f} texts/s, "
          "CPU time of this thread")
    print(f"per text   {1e6 / best:.1f} µs (best round, wall clock)")


if __name__ == "__main__":
    main()
