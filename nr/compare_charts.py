"""
The charts of ``nr compare``: a risk rosette per configuration (five wedges
coloured by L2BEAT's sentiment, each labelled with the value the drills
showed) and a comparison of cost and latency. Drawn on matplotlib's Agg
canvas directly: no pyplot, no global backend, nothing changed for others.
"""

import math
import re
from pathlib import Path
from typing import List

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

AXES = ("state_validation", "data_availability", "exit_window", "sequencer_failure",
        "proposer_failure")
COLOURS = {"good": "#3fa34d", "warning": "#f2b705", "bad": "#d64545", "unknown": "#9e9e9e"}
# A wedge's length by sentiment: L2BEAT draws safer values closer to the rim.
REACH = {"good": 1.0, "warning": 0.66, "bad": 0.33, "unknown": 0.15}
DAY = 86400


def draw_charts(document: dict, out: Path) -> List[Path]:
    paths = [draw_rosette(config, out) for config in document["configurations"]]
    paths.append(draw_costs(document, out))
    return paths


def file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def draw_rosette(config: dict, out: Path) -> Path:
    figure = Figure(figsize=(6.4, 6.4))
    axes = figure.add_subplot(projection="polar")
    width = 2 * math.pi / len(AXES)
    for index, axis in enumerate(AXES):
        value = config["rosette"][axis]
        angle = index * width
        axes.bar(angle, REACH[value["sentiment"]], width=width * 0.96, bottom=0.0,
                 color=COLOURS[value["sentiment"]], edgecolor="white")
        label = f"{axis.replace('_', ' ')}\n{_wrap(value['value'])}"
        axes.text(angle, 1.28, label, ha="center", va="center", fontsize=8)
    axes.set_ylim(0, 1.45)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.spines["polar"].set_visible(False)
    stage = config["derived_stage"]
    figure.suptitle(f"{config['name']}: derived stage {'none' if stage is None else stage}",
                    fontsize=12)
    path = out / f"rosette-{file_name(config['name'])}.png"
    FigureCanvasAgg(figure).print_png(str(path))
    return path


def _wrap(text: str, width: int = 22) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def draw_costs(document: dict, out: Path) -> Path:
    """L1 gas per settled block and per L2 transaction; forced inclusion and exit latencies."""
    configs = document["configurations"]
    names = [config["name"] for config in configs]
    figure = Figure(figsize=(11, 4.2))
    panels = (
        ("L1 gas (millions)", (("per settled L2 block", "l1_gas_per_settled_block"),
                               ("per L2 transaction", "l1_gas_per_l2_transaction"),
                               ("per block, proofs mode", "l1_gas_per_settled_block_proofs_mode")),
         1e6),
        ("days", (("forced inclusion", "time_to_forced_inclusion_s"),
                  ("forced withdrawal", "forced_withdrawal_latency_s"),
                  ("withdrawal", "withdrawal_latency_s"),
                  ("exit margin before upgrade", "exit_margin_s")), DAY),
    )
    for position, (unit, series, scale) in enumerate(panels, 1):
        axes = figure.add_subplot(1, 2, position)
        step = 0.8 / len(series)
        for offset, (label, key) in enumerate(series):
            values = [config["measured"].get(key) for config in configs]
            drilled = [key in config["measured"] for config in configs]
            xs = [index + offset * step for index in range(len(configs))]
            axes.bar(xs, [0 if v is None else v / scale for v in values], width=step,
                     label=label)
            for x, value, ran in zip(xs, values, drilled):
                if value is None:
                    axes.text(x, 0, "never" if ran else "not drilled", rotation=90,
                              ha="center", va="bottom", fontsize=7)
        axes.set_xticks([index + 0.4 - step / 2 for index in range(len(configs))])
        axes.set_xticklabels(names)
        axes.set_ylabel(unit)
        axes.set_ylim(top=max(axes.get_ylim()[1], 1e-9) * 1.35)  # room for the legend
        axes.legend(fontsize=7, loc="upper left")
    figure.suptitle("Cost and latency, as measured by the drills")
    figure.tight_layout()
    path = out / "costs-and-latency.png"
    FigureCanvasAgg(figure).print_png(str(path))
    return path
