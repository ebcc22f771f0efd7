#!/usr/bin/env python3
"""Writes the UMD cluster descriptors that put tt-metal (the ttnn wheel) in mock mode on a machine without
Tenstorrent hardware: TT_METAL_MOCK_CLUSTER_DESC_PATH=<one of these files>.

Written for allocmon from the format UMD's ClusterDescriptor reads (keys below); nothing here is copied from
tt-metal or UMD. Two systems:

  n150.yaml     one Wormhole chip on an n150 board
  t3k_2x4.yaml  a T3000: four n300 boards, 8 Wormhole chips in a 2x4 grid (row 0: the PCIe chips 0-3,
                row 1: their remote partners 4-7, two Ethernet links between neighbours)

Keys (UMD): arch {chip: wormhole_b0}; chips {chip: [x, y, rack, shelf]} (Ethernet coordinates);
chip_unique_ids {chip: asic id} (tt-metal names /dev/shm/tt_device_<asic id, decimal>_memory after it);
ethernet_connections [[{chip, chan}, {chip, chan}], ...]; chips_with_mmio [{chip: pcie index}];
harvesting {chip: {noc_translation, harvest_mask (bit i = Tensix row i off), dram/eth/pcie masks}};
boards [[{board_id}, {board_type}, {chips: [...]}]]. UMD checks that bits 36..55 of board_id name a known
board (0x18 n150, 0x14 n300) and the number of harvested rows per board type (n150: 1, n300: 2).

Usage: mock_cluster_desc.py OUTDIR   (prints the files it wrote)
"""

import os
import sys

UPI = {"n150": 0x18, "n300": 0x14}
HARVEST = {"n150": 1 << 5, "n300": (1 << 4) | (1 << 8)}  # one row / two rows: an 8x8 worker grid either way
ASIC_BASE = 0x7A770000  # chip unique ids: ASIC_BASE + 0x100 * system + chip


def board_id(board_type, serial):
    return (UPI[board_type] << 36) | serial


def render(chips, coords, uids, links, mmio, boards):
    """boards: [(board_type, serial, [chips])]; links: [((chip, chan), (chip, chan))]; mmio: [(chip, pcie)]."""
    types = {c: t for t, _, members in boards for c in members}
    lines = ["arch:"] + [f"  {c}: wormhole_b0" for c in chips]
    lines += ["chips:"] + [f"  {c}: [{', '.join(map(str, coords[c]))}]" for c in chips]
    lines += ["chip_unique_ids:"] + [f"  {c}: {uids[c]}" for c in chips]
    lines += ["ethernet_connections:" + ("" if links else " []")]
    lines += [f"  - [{{chip: {a}, chan: {ca}}}, {{chip: {b}, chan: {cb}}}]" for (a, ca), (b, cb) in links]
    lines += ["ethernet_connections_to_remote_devices: []"]
    lines += ["chips_with_mmio:"] + [f"  - {c}: {p}" for c, p in mmio]
    lines += ["harvesting:"]
    lines += [f"  {c}: {{noc_translation: true, harvest_mask: {HARVEST[types[c]]}, dram_harvesting_mask: 0, "
              f"eth_harvesting_mask: 0, pcie_harvesting_mask: 0}}" for c in chips]
    lines += ["boards:"]
    lines += [f"  - [{{board_id: {board_id(t, serial)}}}, {{board_type: {t}}}, {{chips: [{', '.join(map(str, m))}]}}]"
              for t, serial, m in boards]
    return "# Mock cluster for tt-metal (written by allocmon's examples/real_ttnn/mock_cluster_desc.py)\n" + \
        "\n".join(lines) + "\n"


def n150():
    return render([0], {0: (0, 0, 0, 0)}, {0: ASIC_BASE}, [], [(0, 0)], [("n150", 0x1501, [0])])


def t3k_2x4():
    top = list(range(4))         # PCIe chips, mesh row 0
    bottom = [4 + c for c in range(4)]  # their n300 partners, mesh row 1
    chips = top + bottom
    coords = {c: (i, 0, 0, 0) for i, c in enumerate(top)} | {c: (i, 1, 0, 0) for i, c in enumerate(bottom)}
    links = []
    for a, b in zip(top, bottom):  # inside each n300
        links += [((a, 8), (b, 0)), ((a, 9), (b, 1))]
    for row in (top, bottom):      # between boards
        for a, b in zip(row, row[1:]):
            links += [((a, 14), (b, 6)), ((a, 15), (b, 7))]
    uids = {c: ASIC_BASE + 0x100 + c for c in chips}
    boards = [("n300", 0x3000 + i, [a, b]) for i, (a, b) in enumerate(zip(top, bottom))]
    return render(chips, coords, uids, links, [(c, i) for i, c in enumerate(top)], boards)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(argv[1], exist_ok=True)
    for name, text in (("n150.yaml", n150()), ("t3k_2x4.yaml", t3k_2x4())):
        path = os.path.join(argv[1], name)
        with open(path, "w") as f:
            f.write(text)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
