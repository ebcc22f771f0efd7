"""allocmon-report --html in a real browser: headless Chromium loads the page without a script error and draws
the series, marks, devices and buffers the recording holds — also when driven like a person (hover, click).
Chromium comes from scripts/install-deps.sh (Debian's chromium); CHROMIUM=/path/to/binary overrides."""

import html
import json
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

import pytest

import allocmon
from allocmon.server import Server
from conftest import MARKS, page_data, write_html


def chromium():
    if os.environ.get("CHROMIUM"):
        binary = shutil.which(os.environ["CHROMIUM"])
        if not binary:
            pytest.fail(f"CHROMIUM={os.environ['CHROMIUM']} is not an executable")
        return binary
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        pytest.fail("no chromium on PATH: scripts/install-deps.sh installs Debian's chromium (or set CHROMIUM=/path)")
    return binary


def load(path, tmp_path, fragment="", size="1400,900"):
    """The page's DOM after its script ran, as headless Chromium serializes it."""
    profile = tempfile.mkdtemp(dir=tmp_path, prefix="profile-")
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}  # the sanitizer run's
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                           f"--window-size={size}", "--dump-dom", f"file://{path}{fragment}"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


class Elements(HTMLParser):
    """Every element's tag and attributes, and the text inside each element with an id."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, dom):
        super().__init__()
        self.all, self.text, self._open = [], {}, []  # _open: (tag, id or None) of the elements now open
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.all.append((tag, attrs))
        if tag in self.VOID:
            return
        self._open.append((tag, attrs.get("id")))
        if attrs.get("id"):
            self.text.setdefault(attrs["id"], "")

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, element in self._open:
            if element:
                self.text[element] += data

    def of(self, tag, cls):
        return [a for t, a in self.all if t == tag and cls in (a.get("class") or "").split()]

    def root(self):
        return next(a for t, a in self.all if t == "html")


def assert_loaded(dom):
    root = Elements(dom).root()
    assert "data-error" not in root, Elements(dom).text.get("errors")
    assert root.get("data-ready") == "1", "the page's script did not finish"


def test_the_page_draws_every_scope_mark_and_device(t3000_run, tmp_path):
    dom = load(t3000_run.html, tmp_path)
    assert_loaded(dom)
    page = Elements(dom)
    data = t3000_run.data
    # All devices summed, DRAM, by scope: one path per series the data has, named after its scope.
    chart = data["views"][0]["types"]["DRAM"]
    expected = [data["groupings"]["scope"][gid] for gid, _ in chart["scope"]]
    drawn = [p["data-name"] for p in page.of("path", "series")]
    assert sorted(drawn) == sorted(expected) and {"model/weights", "model/iter/decoder.2"} <= set(drawn), drawn
    assert drawn[0] == "(no scope)"  # stacked in the order groups first hold bytes: the mesh's own buffers first
    legend = [e["data-name"] for e in page.of("div", "legend-entry")]
    assert sorted(legend) == sorted(expected)
    assert [m["data-name"] for m in page.of("line", "mark")] == MARKS
    labels = page.of("text", "mark-label")
    assert len(labels) == len(MARKS)
    # The small multiples: one cell per device, placed as the mesh is (T3000: 4 0 3 7 / 5 1 2 6).
    cells = page.of("div", "cell")
    assert len(cells) == 8
    places = {c["title"].split()[1]: c["style"].replace(" ", "") for c in cells}
    assert places["4"] == "grid-row:1;grid-column:1" and places["6"] == "grid-row:2;grid-column:4"
    assert "byte" not in page.text["chart-title"] and page.text["chart-title"].startswith("all devices (sum): DRAM")
    assert "MiB" in page.text["chart-sub"] and "GiB capacity" in page.text["chart-sub"]


def test_the_address_opens_a_device_by_op_and_a_moment_with_its_buffers(t3000_run, tmp_path):
    data = t3000_run.data
    after_last_iteration = next(m["t_ms"] for m in data["marks"] if m["name"] == "iter-3")
    dom = load(t3000_run.html, tmp_path, f"#device=all&type=DRAM&by=op&at={after_last_iteration}")
    assert_loaded(dom)
    page = Elements(dom)
    drawn = {p["data-name"] for p in page.of("path", "series")}
    assert {"ttnn.from_torch", "ttnn.add", "ttnn.open_mesh_device"} <= drawn, drawn
    # The tensor leaked every iteration: one row, its 3 buffers on each of the 8 devices.
    rows = page.of("tr", "buffer-row")
    leaked = [r for r in rows if r["data-op"] == "ttnn.add" and r["data-scope"] == "model/iter/decoder.2"]
    assert len(leaked) == 1, rows
    assert leaked[0]["data-devices"] == "0,1,2,3,4,5,6,7"
    assert "24 (3 each)" in page.text["buffer-table"] and "8 devices: 0-7" in page.text["buffer-table"]
    assert "bfloat16 TILE [" in page.text["buffer-table"]  # what the tensor is, from its description
    weights = [r for r in rows if r["data-scope"] == "model/weights"]
    assert len(weights) == 1 and weights[0]["data-devices"] == "0,1,2,3,4,5,6,7"
    assert page.text["buffers-head"].startswith("At +") and " MiB live" in page.text["buffers-head"]

    one_device = Elements(load(t3000_run.html, tmp_path, "#device=4&type=L1&by=scope"))
    assert one_device.text["chart-title"].startswith("device 4 (0,0) wormhole_b0: L1")
    assert [c for c in one_device.of("div", "cell") if "on" in c["class"].split()][0]["title"].startswith("device 4")


PROBE = """<script>
(function () {
  const out = {};
  try {
    const overlay = document.querySelector("#chart .overlay"), r = overlay.getBoundingClientRect();
    const at = (fx, fy) => ({ clientX: r.left + r.width * fx, clientY: r.top + r.height * fy, bubbles: true });
    overlay.dispatchEvent(new MouseEvent("mousemove", at(0.5, 0.99)));
    const tip = document.getElementById("tooltip");
    out.tooltipShown = !tip.hidden;
    out.tooltip = tip.textContent;
    out.hit = (tip.querySelector(".row.hit .name") || { textContent: null }).textContent;
    out.bottom = document.querySelector("#chart .series").dataset.name;
    out.dimmed = document.querySelectorAll("#chart .series.dim").length;
    overlay.dispatchEvent(new MouseEvent("click", at(0.5, 0.99)));
    out.rows = document.querySelectorAll("#buffer-table .buffer-row").length;
    out.selected = !!document.querySelector("#chart #selected");
    out.hash = location.hash;
    document.querySelector("#by button[data-by=op]").click();
    out.opSeries = [...document.querySelectorAll("#chart .series")].map(p => p.dataset.name);
    document.querySelector("#overview .cell[data-view='1']").click();
    out.title = document.getElementById("chart-title").textContent;
    document.querySelector(".legend-entry").click();
    out.hiddenNote = document.getElementById("chart-sub").textContent;
  } catch (e) {
    out.error = String(e && e.stack || e);
  }
  document.getElementById("probe").textContent = JSON.stringify(out);
})();
</script>"""


def test_hover_click_and_the_controls_work_in_the_browser(t3000_run, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(t3000_run.page.replace("</body>", '<pre id="probe"></pre>' + PROBE + "</body>"))
    dom = load(probed, tmp_path)
    assert_loaded(dom)
    out = json.loads(html.unescape(Elements(dom).text["probe"]))
    assert "error" not in out, out["error"]
    assert out["tooltipShown"] and out["hit"] == out["bottom"] == "(no scope)", out  # the band under the pointer
    assert out["tooltip"].startswith("+") and " s" in out["tooltip"] and "total DRAM" in out["tooltip"]
    assert "MiB" in out["tooltip"] and out["dimmed"] > 0
    assert out["rows"] > 0 and out["selected"] and "at=" in out["hash"]
    assert "ttnn.from_torch" in out["opSeries"]
    assert out["title"].startswith("device 0 (0,1)") and "by op" in out["title"]
    assert "hidden (click the legend to show)" in out["hiddenNote"]


def test_a_page_of_a_million_events_opens(million_run, tmp_path):
    dom = load(million_run.html, tmp_path, "#at=20000")
    assert_loaded(dom)
    page = Elements(dom)
    assert len(page.of("div", "cell")) == 32 and len(page.of("line", "mark")) == 1000
    assert 1 < len(page.of("path", "series")) <= million_run.data["limits"]["groups"] + 1
    assert len(page.of("tr", "buffer-row")) > 0


HOSTILE = '</script><script>document.title="owned"</script><!-- "q" & <b>'


def test_names_that_look_like_markup_stay_names(tmp_path):
    db = tmp_path / "names.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-html-n-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(db)]):
        allocmon.configure(True, sock)
        allocmon.register_device(5, "wormhole_b0", {"DRAM": 1 << 30})
        with allocmon.scope(HOSTILE), allocmon.op(HOSTILE + "op", "x.py:1"):
            allocmon.report_alloc(5, "DRAM", 4096, 0, 1)
        allocmon.mark(HOSTILE)
        allocmon.report_free(5, 1)
        allocmon.unregister_device(5)
        assert allocmon.flush() == allocmon.FLUSH_OK
    page = write_html(db, tmp_path / "names.html")
    assert HOSTILE not in page  # the data cannot end its script element
    dom = load(tmp_path / "names.html", tmp_path, "#at=0")
    assert_loaded(dom)
    names = Elements(dom)
    assert HOSTILE in [p["data-name"] for p in names.of("path", "series")]
    assert [m["data-name"] for m in names.of("line", "mark")] == [HOSTILE]
    assert "owned" not in dom.split("<title>")[1].split("</title>")[0]


def test_an_empty_recording_and_one_without_attribution_load_cleanly(tmp_path):
    empty = tmp_path / "empty.sqlite"
    sock = os.path.join(tempfile.gettempdir(), f"allocmon-html-e-{os.getpid()}.sock")
    with Server(sock, extra_args=["--record", str(empty)]):
        pass
    write_html(empty, tmp_path / "empty.html")
    dom = load(tmp_path / "empty.html", tmp_path)
    assert_loaded(dom)
    assert "No data" in Elements(dom).text["no-data"]

    plain = tmp_path / "plain.sqlite"
    with Server(sock, extra_args=["--record", str(plain)]):
        allocmon.configure(True, sock)
        allocmon.register_device(3, "blackhole", {"DRAM": 32 << 30})
        allocmon.report_alloc(3, "DRAM", 1 << 20, 0, 1)
        assert allocmon.flush() == allocmon.FLUSH_OK
        allocmon.report_free(3, 1)
        allocmon.unregister_device(3)
        assert allocmon.flush() == allocmon.FLUSH_OK
    page = write_html(plain, tmp_path / "plain.html")
    assert page_data(page)["groupings"]["scope"] == ["(no scope)", "other"]
    dom = load(tmp_path / "plain.html", tmp_path, "#at=0")
    assert_loaded(dom)
    only = Elements(dom)
    assert [p["data-name"] for p in only.of("path", "series")] == ["(no scope)"]
    assert only.text["chart-title"].startswith("device 3 blackhole: DRAM")  # one device: opened directly
