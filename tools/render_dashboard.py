"""Renders a Grafana dashboard of deploy/grafana/dashboards as one PNG, from the same PromQL its panels hold,
against a running Prometheus: where Grafana itself is not installed, this is how docs/cluster.md shows what
the dashboards draw. Panel kinds: stat, timeseries (lines or stacked), table, and table with the
groupingToMatrix transformation (a heat map of cells). Layout follows each panel's gridPos (24 columns).

    python3 tools/render_dashboard.py DASHBOARD.json --prometheus http://127.0.0.1:9090 --host galaxy-a \\
        --minutes 10 --out dashboard.png
"""

import argparse
import html
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request

COLUMN, ROW = 60, 34  # pixels per grid unit
PALETTE = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0", "#508642",
           "#cca300"]


def query(base, path, **params):
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    reply = json.load(urllib.request.urlopen(url, timeout=30))
    if reply["status"] != "success":
        raise RuntimeError(f"{params.get('query')}: {reply.get('error')}")
    return reply["data"]["result"]


def human(value, unit):
    if unit == "percentunit":
        return f"{value * 100:.0f}%"
    if unit == "bytes":
        for suffix in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
            if abs(value) < 1024 or suffix == "PiB":
                return f"{value:.0f} {suffix}" if suffix == "B" else f"{value:.1f} {suffix}"
            value /= 1024
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def legend(metric, fmt):
    text = fmt or "{{__name__}}"
    for key, value in metric.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def threshold_colour(value, thresholds):
    colour = "#73bf69"
    for step in (thresholds or {}).get("steps", []):
        if step["value"] is None or value >= step["value"]:
            colour = {"green": "#73bf69", "red": "#f2495c", "orange": "#ff9830"}.get(step["color"], step["color"])
    return colour


def text(x, y, content, size=12, colour="#d8d9da", anchor="start", weight="normal"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" text-anchor="{anchor}" '
            f'font-weight="{weight}" font-family="DejaVu Sans, sans-serif">{html.escape(str(content))}</text>')


def stat(panel, results, x, y, w, h):
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    value = float(results[0]["value"][1]) if results else float("nan")
    colour = threshold_colour(value, defaults.get("thresholds"))
    return [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{colour}" rx="3"/>',
            text(x + w / 2, y + h / 2 + 14, human(value, defaults.get("unit")) if results else "no data", 30,
                 "#ffffff", "middle", "bold")]


def matrix(panel, results, x, y, w, h):
    options = panel["transformations"][0]["options"]
    row_field, col_field = options["rowField"], options["columnField"]
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    cells = {(r["metric"].get(row_field, ""), r["metric"].get(col_field, "")): float(r["value"][1]) for r in results}
    key = lambda v: (0, int(v)) if v.lstrip("-").isdigit() else (1, v)
    rows = sorted({r for r, _ in cells}, key=key)
    cols = sorted({c for _, c in cells}, key=key)
    out = []
    if not rows:
        return [text(x + 8, y + 20, "no data")]
    label_w = 90
    cw, ch = (w - label_w) / len(cols), min(26, (h - 18) / len(rows))
    for j, c in enumerate(cols):
        out.append(text(x + label_w + j * cw + cw / 2, y + 12, c, 10, "#8e8e8e", "middle"))
    for i, r in enumerate(rows):
        out.append(text(x + 4, y + 18 + i * ch + ch * 0.7, r, 11))
        for j, c in enumerate(cols):
            if (r, c) not in cells:
                continue
            v = cells[(r, c)]
            out.append(f'<rect x="{x + label_w + j * cw + 1:.1f}" y="{y + 18 + i * ch + 1:.1f}" width="{cw - 2:.1f}" '
                       f'height="{ch - 2:.1f}" fill="{threshold_colour(v, defaults.get("thresholds"))}"/>')
            if cw > 26:
                out.append(text(x + label_w + j * cw + cw / 2, y + 18 + i * ch + ch * 0.7, human(v, defaults.get("unit")),
                                9 if cw < 40 else 10, "#111111", "middle"))
    return out


def table(panel, results, x, y, w, h):
    hidden = set(next((t["options"]["excludeByName"] for t in panel.get("transformations", [])
                       if t["id"] == "organize"), {}))
    columns = sorted({k for r in results for k in r["metric"]} - hidden)
    show_value = "Value" not in hidden
    out, line = [], 16
    headers = columns + (["Value"] if show_value else [])
    col_w = w / max(1, len(headers))
    for j, name in enumerate(headers):
        out.append(text(x + 4 + j * col_w, y + 14, name, 11, "#33a2e5", weight="bold"))
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    rows = sorted(results, key=lambda r: -float(r["value"][1]))
    for i, r in enumerate(rows[: int((h - 20) // line)]):
        values = [r["metric"].get(c, "") for c in columns] + ([human(float(r["value"][1]), unit)] if show_value else [])
        for j, v in enumerate(values):
            out.append(text(x + 4 + j * col_w, y + 14 + (i + 1) * line, str(v)[: int(col_w / 7)], 11))
    if not results:
        out.append(text(x + 4, y + 34, "no data"))
    return out


def timeseries(panel, series, x, y, w, h, start, end):
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    unit = defaults.get("unit")
    stacked = defaults.get("custom", {}).get("stacking", {}).get("mode") == "normal"
    if not series:
        return [text(x + 8, y + 20, "no data")]
    legend_w = min(220, w * 0.35)
    pw, ph = w - legend_w - 60, h - 24
    ox, oy = x + 56, y + 8
    times = sorted({float(t) for _, values in series for t, _ in values})
    stacks = {t: 0.0 for t in times}
    lines = []
    for label, values in series:
        points, raw_last = [], float(values[-1][1]) if values else 0.0
        for t, v in values:
            base = stacks[float(t)] if stacked else 0.0
            top = base + float(v)
            if stacked:
                stacks[float(t)] = top
            points.append((float(t), top))
        lines.append((label, points, raw_last))
    vmax = max((v for _, pts, _ in lines for _, v in pts), default=1) or 1
    out = [f'<line x1="{ox}" y1="{oy + ph}" x2="{ox + pw}" y2="{oy + ph}" stroke="#444"/>']
    for k in range(5):
        v = vmax * k / 4
        yy = oy + ph - ph * k / 4
        out.append(f'<line x1="{ox}" y1="{yy:.1f}" x2="{ox + pw}" y2="{yy:.1f}" stroke="#2c2c2c"/>')
        out.append(text(ox - 4, yy + 4, human(v, unit), 9, "#8e8e8e", "end"))
    for k in range(3):
        t = start + (end - start) * k / 2
        out.append(text(ox + pw * k / 2, oy + ph + 12, time.strftime("%H:%M:%S", time.localtime(t)), 9, "#8e8e8e",
                        "middle"))
    sx = lambda t: ox + pw * (t - start) / max(1e-9, end - start)
    sy = lambda v: oy + ph - ph * v / vmax
    for i, (label, points, raw_last) in enumerate(lines):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
        if i < int(ph // 14):
            out.append(f'<rect x="{ox + pw + 10}" y="{oy + i * 14 + 2}" width="10" height="4" fill="{colour}"/>')
            out.append(text(ox + pw + 24, oy + i * 14 + 8, f"{label[:24]}  {human(raw_last, unit)}", 10))
    return out


def render(board, base, host, minutes):
    end = time.time()
    start = end - 60 * minutes
    step = max(1, int(60 * minutes / 120))
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"]) * ROW + 40
    width = 24 * COLUMN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
           f'<rect width="{width}" height="{height}" fill="#111217"/>',
           text(10, 24, f"{board['title']}   host={host if host != '.*' else 'All'}   last {minutes} min (rendered from the dashboard's queries)",
                15, "#d8d9da", weight="bold")]
    for panel in board["panels"]:
        g = panel["gridPos"]
        x, y, w, h = g["x"] * COLUMN + 4, g["y"] * ROW + 40, g["w"] * COLUMN - 8, g["h"] * ROW - 8
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#181b1f" stroke="#2c3235" rx="2"/>')
        out.append(text(x + 8, y + 17, panel["title"], 12, "#d8d9da", weight="bold"))
        body = (x + 8, y + 26, w - 16, h - 32)
        exprs = [(t["expr"].replace("$host", host), t.get("legendFormat")) for t in panel["targets"]]
        if panel["type"] == "timeseries":
            series = []
            for expr, fmt in exprs:
                for r in query(base, "query_range", query=expr, start=start, end=end, step=step):
                    series.append((legend(r["metric"], fmt), r["values"]))
            out += timeseries(panel, series, *body, start, end)
        else:
            results = [r for expr, _ in exprs for r in query(base, "query", query=expr)]
            if panel["type"] == "stat":
                out += stat(panel, results, *body)
            elif any(t["id"] == "groupingToMatrix" for t in panel.get("transformations", [])):
                out += matrix(panel, results, *body)
            else:
                out += table(panel, results, *body)
    out.append("</svg>")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dashboard")
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--host", required=True, help="the value of the dashboard's $host variable")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--out", required=True, help="PNG (through rsvg-convert) or SVG")
    args = parser.parse_args()
    with open(args.dashboard) as f:
        svg = render(json.load(f), args.prometheus.rstrip("/"), args.host, args.minutes)
    if args.out.endswith(".svg"):
        with open(args.out, "w") as f:
            f.write(svg)
    else:
        subprocess.run(["rsvg-convert", "-o", args.out], input=svg.encode(), check=True)


if __name__ == "__main__":
    sys.exit(main())
