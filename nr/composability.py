"""
``nr composability --demo``: a composable rollup through a few slots on an
in-process L1 in slot mode (sequenced blocks, slot-ending and based blocks, a
cross-domain swap, a deposit spent and withdrawn in one L1 transaction, an
L1 contract calling L2 which calls L1 back in one L1 transaction, a missed
slot, the sequencer going silent until the rollup falls back to based mode,
and its return), drawn as a timeline (PNG and HTML).
"""

import base64
import dataclasses
import html
import io
import json
from pathlib import Path
from typing import Callable, List

from eth_account import Account
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from l1.accounts import derive_accounts
from l1.node import Devnet, DevnetConfig
from rollup.based import BasedBuilder
from rollup.composable import SLOT_FRIENDLY_L2_GAS_LIMIT, ComposableRollup
from rollup.cross_domain import (
    SwapDesk,
    TallyDemo,
    deposit_and_withdraw,
    signed_l2_transaction,
)
from rollup.slot_runner import SlotRecord, SlotRunner
from rollup.stages import load_preset

ETHER = 10**18
SILENT_SLOTS = 11
ALICE, BOB, CAROL, BUILDER, STRANGER = (derive_accounts()[i] for i in (0, 1, 2, 5, 6))


def transfers(rollup, count: int, value: int = 10**15) -> list:
    """``count`` L2 transfers from Carol to Bob, with consecutive nonces."""
    signed = []
    nonce = rollup.l2.pool.next_nonce(CAROL.address)
    for index in range(count):
        signed.append(signed_l2_transaction(rollup, CAROL, {
            "to": BOB.checksum_address, "value": value, "gas": 21_000, "nonce": nonce + index,
        }))
    return signed


def run_demo(log: Callable[[str], None] = print) -> List[SlotRecord]:
    """The demo's slots, recorded."""
    log("deploying a Stage 1 composable rollup on an L1 in slot mode ...")
    l1 = Devnet(DevnetConfig())
    config = dataclasses.replace(
        load_preset(1), finality_delay=0, l2_gas_limit=SLOT_FRIENDLY_L2_GAS_LIMIT
    )
    rollup = ComposableRollup.deploy(l1.web3(), config)
    desk = SwapDesk.deploy(rollup, ALICE)
    tally = TallyDemo.deploy(rollup, ALICE)
    swap_id = b"\x01" * 32
    desk.swaps.transact(
        "offer", swap_id, BOB.checksum_address, ALICE.checksum_address, 2 * ETHER,
        l1.head().timestamp + 3600, sender=ALICE.checksum_address, value=ETHER,
    )
    # The contracts' L2 blocks are settled now, while L1 mines each transaction: left to the
    # first slot, their settlements and its based block would not fit one L1 block.
    rollup.sequencer.settle()
    l1.set_automine(False)
    rollup.sequencer.follow_l1()
    runner = SlotRunner(l1, rollup, BasedBuilder(rollup, BUILDER))

    def swap(builder, certificate):
        based = builder.build(
            [desk.pay(BOB, swap_id, ALICE.checksum_address, 2 * ETHER)], slot_ending=certificate
        )
        based.after.append(desk.take(builder, based, swap_id))
        return based

    def round_trip(builder, certificate):
        return deposit_and_withdraw(builder, Account.create(), ETHER, ETHER // 2, certificate)[0]

    def say(record: SlotRecord, what: str) -> None:
        landed = "based block landed" if record.based_landed else "no based block"
        log(f"slot {record.slot}: {what}; {landed}; mode {record.mode};"
            f" L2 head {record.l2_head}, settled {record.settled_head}")

    say(runner.run_slot(transfers(rollup, 3)), "3 transfers sequenced")
    say(runner.run_slot(transfers(rollup, 1), compose=swap,
                        cross_domain="swap: 1 L1 ETH for 2 L2 ETH"), "an atomic swap")
    say(runner.run_slot(transfers(rollup, 2), build_based=False), "nobody builds a based block")
    say(runner.run_slot(compose=round_trip, cross_domain="deposit, spend, withdraw, claim"),
        "a deposit spent and withdrawn in one L1 transaction")
    say(runner.run_slot(
        compose=lambda builder, certificate: tally.build_call(builder, certificate, 5),
        cross_domain="L1 -> L2 -> L1 call",
    ), "an L1 contract calls L2, which calls L1 back, in one L1 transaction")
    waiting = transfers(rollup, 1)
    for silent in range(SILENT_SLOTS):
        record = runner.run_slot(waiting if silent == 0 else (), sequencer_live=False,
                                 build_based=False)
        say(record, "the sequencer settles nothing" + (
            " (it preconfirmed a transfer)" if silent == 0 else ""
        ))
    runner.builder = BasedBuilder(rollup, STRANGER)
    say(runner.run_slot(), "a stranger builds a based block")
    runner.builder = BasedBuilder(rollup, BUILDER)
    say(runner.run_slot(transfers(rollup, 2)), "the sequencer is back")
    return runner.records


# -- the timeline --

ROWS = ["L1 block", "sequenced", "slot-ending", "based", "cross-domain"]
# Where a cross-domain label sits from its star (points): above, below, higher above.
LABEL_OFFSETS = ((6, 8), (6, -14), (6, 22))


def draw_timeline(records: List[SlotRecord]) -> bytes:
    """The slots as a PNG: which block types landed when, the heads, the mode."""
    figure = Figure(figsize=(max(8, 0.6 * len(records)), 5.5))
    FigureCanvasAgg(figure)
    lanes, heads = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    slots = [record.slot for record in records]
    for record in records:
        if record.mode == "based":
            for axis in (lanes, heads):
                axis.axvspan(record.slot - 0.5, record.slot + 0.5, color="#f6d7d7", zorder=0)
    row = {name: len(ROWS) - 1 - index for index, name in enumerate(ROWS)}
    lanes.scatter(slots, [row["L1 block"]] * len(slots), marker="s", color="#555555")
    labelled = 0  # cross-domain labels drawn: they take turns at three heights, not to overlap
    for record in records:
        if record.sequenced:
            lanes.scatter([record.slot], [row["sequenced"]], s=40 + 30 * len(record.sequenced),
                          color="#4c78a8")
            lanes.annotate(str(len(record.sequenced)), (record.slot, row["sequenced"]),
                           ha="center", va="center", color="white", fontsize=8)
        if record.slot_ending is not None:
            lanes.scatter([record.slot], [row["slot-ending"]], marker="|", s=300, color="#72b7b2")
        if record.based_attempted:
            color = "#54a24b" if record.based_landed else "#e45756"
            lanes.scatter([record.slot], [row["based"]], marker="D", s=80, color=color)
        else:  # nobody built one: the next slot builds on the same slot-ending block
            lanes.scatter([record.slot], [row["based"]], marker="x", s=50, color="#999999")
        for label in record.cross_domain:
            lanes.scatter([record.slot], [row["cross-domain"]], marker="*", s=160,
                          color="#f58518")
            offset = LABEL_OFFSETS[labelled % len(LABEL_OFFSETS)]
            labelled += 1
            lanes.annotate(label, (record.slot, row["cross-domain"]), textcoords="offset points",
                           xytext=offset, fontsize=7)
    lanes.set_yticks(list(row.values()), list(row.keys()))
    lanes.set_ylim(-0.7, len(ROWS) - 0.3)
    lanes.set_title(
        "Slots of a synchronously composable rollup (shaded: based mode;"
        " based: green landed, red refused, x none)", fontsize=10,
    )
    heads.step(slots, [record.l2_head for record in records], where="mid", label="L2 head")
    heads.step(slots, [record.settled_head for record in records], where="mid",
               label="settled on L1")
    heads.set_xlabel("L1 slot")
    heads.set_ylabel("L2 block")
    heads.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    output = io.BytesIO()
    figure.savefig(output, format="png", dpi=110)
    return output.getvalue()


def timeline_html(records: List[SlotRecord], png: bytes) -> str:
    """The timeline and a table of every slot, in one self-contained page."""
    columns = ["slot", "L1 block", "sequenced L2 blocks", "slot-ending", "based", "landed",
               "cross-domain", "mode", "L2 head", "settled", "notes"]
    rows = []
    for r in records:
        cells = [r.slot, r.l1_block, ", ".join(map(str, r.sequenced)), r.slot_ending or "",
                 r.based or "", "yes" if r.based_landed else ("no" if r.based_attempted else ""),
                 "; ".join(r.cross_domain), r.mode, r.l2_head, r.settled_head,
                 "; ".join(r.notes)]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    image = base64.b64encode(png).decode()
    return "\n".join([
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>Synchronous composability: slots</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}</style></head><body>",
        "<h1>Synchronous composability: slots</h1>",
        f"<img alt='timeline' src='data:image/png;base64,{image}'>",
        "<table><tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>",
        *rows,
        "</table></body></html>",
    ])


def write_demo(records: List[SlotRecord], out: Path) -> List[Path]:
    """timeline.png, timeline.html and slots.json in ``out``; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    png = draw_timeline(records)
    written = [out / "timeline.png", out / "timeline.html", out / "slots.json"]
    written[0].write_bytes(png)
    written[1].write_text(timeline_html(records, png))
    written[2].write_text(json.dumps([dataclasses.asdict(r) for r in records], indent=1))
    return written
