"""The chart sent with the digest: reports by topic over the last quarters (matplotlib, PNG)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bot import texts
from bot.digest.model import TOPICS, Digest

COLORS = {"nhan_dan": "#c0392b", "dan_toc": "#2e86c1", "ton_giao": "#d4ac0d"}
PNG_KEY = "Description"  # the PNG text chunk that carries the plotted numbers


@dataclass(frozen=True)
class ChartData:
    """Exactly what the chart plots: quarter labels and, per topic, one count per quarter."""

    keys: list[str]
    labels: list[str]
    series: dict[str, list[int]]
    totals: list[int]


def chart_data(d: Digest) -> ChartData:
    """Return the numbers the chart plots, taken from the digest's quarterly series."""
    return ChartData(
        keys=[p.key for p in d.series],
        labels=[p.label for p in d.series],
        series={t: [p.figures.topic(t) for p in d.series] for t in TOPICS},
        totals=[p.figures.reports for p in d.series],
    )


def render_chart(d: Digest, path: Path) -> Path:
    """Draw grouped bars per quarter and topic, with the total as a line; write a PNG and return its path."""
    # Figure without pyplot: no global state, so charts may be drawn in threads; saving uses Agg.
    from matplotlib.figure import Figure

    data = chart_data(d)
    width = 0.8 / len(TOPICS)
    fig = Figure(figsize=(8, 4.5), dpi=150)
    ax = fig.subplots()
    xs = range(len(data.labels))
    for i, topic in enumerate(TOPICS):
        offset = (i - (len(TOPICS) - 1) / 2) * width
        bars = ax.bar([x + offset for x in xs], data.series[topic], width, label=texts.topic_short(topic),
                      color=COLORS[topic])
        ax.bar_label(bars, fontsize=7, padding=1)
    ax.plot(list(xs), data.totals, color="#555555", marker="o", linewidth=1, label=texts.CHART_TOTAL)
    ax.set_xticks(list(xs), data.labels)
    ax.set_ylabel(texts.CHART_YLABEL)
    ax.set_title(f"{texts.CHART_TITLE} – {d.scope.name}")
    ax.legend(fontsize=8, frameon=False, ncol=len(TOPICS) + 1, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(0, max([*data.totals, 1]) * 1.12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={PNG_KEY: json.dumps(asdict(data), ensure_ascii=False)})
    return path
