#!/usr/bin/env python3
"""Real ttnn as the oracle for allocmon's emulator: the same tensor placements (examples/real_ttnn/placements.py)
run on the real ttnn wheel (tt-metal 0.81.1 on a mock T3000, graph capture) and on `python -m allocmon.emulate`
(the facade, buffers as the server saw them); every device buffer is compared in allocation order on
(device, type, size, address, page size), and every difference is listed with its cause.

    PYTHONPATH=build/python .venv/bin/python tools/compare_real_ttnn.py [--families a,b] [--summary]
                                                                       [--real-json F] [--emulator-json F]

Needs .venv-ttnn (scripts/real-ttnn-env.sh) and root for the real side (a private /dev/shm); --real-json reuses
a recorded run. Exit status 0 whatever the match share (this is a measurement; with --check, 1 when a buffer
differs by more than its family's constant address offset); 1 with a message when a side could not run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLACEMENTS = os.path.join(ROOT, "examples", "real_ttnn", "placements.py")
KEYS = ("device", "type", "size", "address", "page_size")


def run_real(out, families):
    env_script = os.path.join(ROOT, "scripts", "real-ttnn-env.sh")
    made = subprocess.run(["bash", env_script], capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit(f"real side: scripts/real-ttnn-env.sh failed (exit {made.returncode}):\n{made.stderr}")
    python = made.stdout.strip().splitlines()[-1]
    cmd = [os.path.join(ROOT, "examples", "real_ttnn", "run_in_private_shm.sh"), "--no-server", python, PLACEMENTS,
           "--out", out] + (["--families", families] if families else [])
    env = dict(os.environ, ALLOCMON_TTNN_VENV=os.path.dirname(os.path.dirname(python)), TT_LOGGER_LEVEL="error")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"real side failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    print(done.stdout.strip().splitlines()[-1])


def run_emulator(out, families, with_data):
    from allocmon.server import Server

    socket = tempfile.mktemp(prefix="/tmp/allocmon-compare-", suffix=".sock")
    server = Server(socket)
    try:
        env = dict(os.environ, TT_ALLOC_TRACKING_ENABLED="1", TT_ALLOC_SERVER_SOCKET=socket)
        cmd = [sys.executable, "-m", "allocmon.emulate", "--devices", "8"] + ([] if with_data else ["--no-data"])
        cmd += [PLACEMENTS, "--out", out] + (["--families", families] if families else [])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    finally:
        server.stop()
    if done.returncode != 0:
        sys.exit(f"emulator side failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    print(done.stdout.strip().splitlines()[-1])


def key(buffer):
    return tuple(buffer.get(k) for k in KEYS)


def first_addresses(placements):
    """Per memory type: the first buffer's address in this family on this side (the allocator was empty of
    this family's tensors then)."""
    out = {}
    for p in placements:
        for b in p.get("buffers", []):
            out.setdefault(b["type"], b["address"])
    return out


def compare_family(name, real, emu):
    rp, ep = real["placements"], emu["placements"]
    r_first, e_first = first_addresses(rp), first_addresses(ep)
    offsets = {t: e_first[t] - r_first[t] for t in r_first if t in e_first}
    total = exact = shifted = 0
    differences = []
    for index, (a, b) in enumerate(zip(rp, ep)):
        if "free" in a:
            continue
        label = a["label"]
        ra, eb = a.get("buffers", []), b.get("buffers", [])
        if "error" in a or "error" in b:
            differences.append((label, f"placement failed: real: {a.get('error', 'ok')}; emulator: {b.get('error', 'ok')}"))
        notes = []
        for i in range(max(len(ra), len(eb))):
            total += 1
            x = ra[i] if i < len(ra) else None
            y = eb[i] if i < len(eb) else None
            if x is None or y is None:
                notes.append(f"buffer {i} only in {'emulator' if x is None else 'real ttnn'}: "
                             f"{key(y if x is None else x)}")
                continue
            if key(x) == key(y):
                exact += 1
                shifted += 1
                continue
            diff = [k for k in KEYS if x.get(k) != y.get(k)]
            if diff == ["address"] and y["address"] - x["address"] == offsets.get(x["type"]):
                shifted += 1
                notes.append(("offset", x["type"], y["address"] - x["address"]))
            else:
                notes.append("; ".join(f"{k}: real {x.get(k)} vs emulator {y.get(k)}" for k in diff))
        if b.get("extra_events") not in (None, 0, len(eb)):
            notes.append(f"the emulator sent {b['extra_events']} events beyond its Allocs (expected one allocator "
                         f"statistics event per device: {len(eb)}): a buffer allocated and freed inside?")
        if not notes:
            continue
        offsets_seen = {n for n in notes if isinstance(n, tuple)}
        other = [n for n in notes if not isinstance(n, tuple)]
        for _, kind, delta in sorted(offsets_seen):
            chips = sum(1 for n in notes if n == ("offset", kind, delta))
            differences.append((label, f"{kind} address {delta:+d} on {chips} chip(s) (real {ra[0]['address']}, "
                                       f"emulator {eb[0]['address']}): the family's {kind} offset, see the cause "
                                       f"below"))
        for n in dict.fromkeys(other):
            differences.append((label, n))
    return {"total": total, "exact": exact, "shifted": shifted, "offsets": offsets, "differences": differences,
            "real_first": r_first, "emu_first": e_first}


def explain_offsets(result, real_alloc, emu_alloc):
    """Why the emulator's first address of each memory type differs from tt-metal's: its open-time system buffer
    (2048-byte pages over every bank, below the first DRAM buffer, above the first L1 buffer), then the banks'
    base."""
    lines = []
    for kind, delta in sorted(result["offsets"].items()):
        if not delta:
            continue
        e, r = emu_alloc.get(kind, {}), real_alloc.get(kind, {})
        real_first, emu_first = result["real_first"][kind], result["emu_first"][kind]
        at_open = e.get("allocated_at_open") or 0
        banks = e.get("banks") or 1
        per_bank = -(-(at_open // 2048) // banks) * 2048 if at_open else 0
        without = emu_first - per_bank if kind == "DRAM" else emu_first + per_bank
        text = (f"{kind}: every emulator address is {delta:+d} B from tt-metal's (first buffer: tt-metal "
                f"{real_first}, emulator {emu_first}). The emulated mesh allocates a {at_open} B system {kind} "
                f"buffer at open ({per_bank} B in each of {banks} banks; mesh_device.cpp: 'as tt-metal's dispatch "
                f"and fabric allocate them'); tt-metal's mock opens with {r.get('allocated_per_bank_at_open')} B "
                f"allocated per bank (mock mode skips dispatch and fabric set-up). Without it the emulator's first "
                f"address would be {without}")
        if without == real_first:
            text += ", tt-metal's."
        elif kind == "DRAM":
            text += (f", still {without - real_first:+d} B off: the emulator's DRAM banks start at {e.get('base')}, "
                     f"tt-metal's allocator at {real_first}.")
        else:
            text += f", still {without - real_first:+d} B off."
        text += (f" Bank sizes: tt-metal {r.get('bank_size')} B x {r.get('banks')}, emulator {e.get('bank_size')} B x "
                 f"{e.get('banks')} (region base {e.get('base')}).")
        lines.append(text)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default="")
    parser.add_argument("--real-json")
    parser.add_argument("--emulator-json")
    parser.add_argument("--with-data", action="store_true", help="run the emulator with values (default --no-data)")
    parser.add_argument("--summary", action="store_true", help="the table and the causes, not every difference")
    parser.add_argument("--keep", help="folder to keep both JSON records in")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when any buffer differs by more than its family's constant address offset")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="allocmon-compare-")
    os.makedirs(work, exist_ok=True)
    real_path = args.real_json or os.path.join(work, "real.json")
    emu_path = args.emulator_json or os.path.join(work, "emulator.json")
    if not args.real_json:
        run_real(real_path, args.families)
    if not args.emulator_json:
        run_emulator(emu_path, args.families, args.with_data)
    real, emu = json.load(open(real_path)), json.load(open(emu_path))
    print(f"real: {real['implementation']} {real.get('ttnn_version', '')}; emulator: {emu['implementation']}; "
          f"records in {work}")
    rows, all_diffs, causes = [], [], []
    for name, rfam in real["families"].items():
        if name not in emu["families"]:
            continue
        result = compare_family(name, rfam, emu["families"][name])
        rows.append((name, result))
        all_diffs += [(name, label, text) for label, text in result["differences"]]
        for line in explain_offsets(result, rfam["allocator"], emu["families"][name]["allocator"]):
            if line not in causes:
                causes.append(line)
    print(f"\n{'family':<16} {'buffers':>8} {'exact':>7} {'share':>7}   {'same but a constant address offset':>34}")
    sum_total = sum_exact = sum_shift = 0
    for name, r in rows:
        sum_total += r["total"]
        sum_exact += r["exact"]
        sum_shift += r["shifted"]
        share = r["exact"] / r["total"] if r["total"] else 0
        offsets = ", ".join(f"{k} {v:+d}" for k, v in sorted(r["offsets"].items()) if v) or "-"
        print(f"{name:<16} {r['total']:>8} {r['exact']:>7} {share:>7.1%}   {r['shifted'] / r['total']:>7.1%} "
              f"({offsets})")
    print(f"{'all':<16} {sum_total:>8} {sum_exact:>7} {sum_exact / sum_total:>7.1%}   {sum_shift / sum_total:>7.1%}")
    print("\n(buffers = device buffers, one per chip of the mesh for each placement; exact = device, type, size, "
          "address and page size all equal)")
    print("\nCauses:")
    for line in causes:
        print(f"  - {line}")
    other = [d for d in all_diffs if "offset, see the cause" not in d[2]]
    print(f"  - differences other than those offsets: {len(other)}")
    for family, label, text in other:
        print(f"      {family}: {label}: {text}")
    if not args.summary:
        print(f"\nEvery difference ({len(all_diffs)} placements):")
        for family, label, text in all_diffs:
            print(f"  {family}: {label}: {text}")
    if args.check and (other or sum_shift != sum_total or not sum_total):
        print(f"\nCHECK FAILED: {len(other)} difference(s) beyond the constant offsets")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
