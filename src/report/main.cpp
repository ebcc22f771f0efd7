// allocmon-report: what a recording (allocation_server --record) shows after the run.
//   allocmon-report RUN.sqlite [--out DIR]
// writes DIR/memory.svg and DIR/memory.png (plot.hpp), DIR/summary.txt (summary.hpp) and DIR/trace.json
// (perfetto.hpp). Every write is checked: a failure names the path and the reason and the exit status is 1.
//   allocmon-report RUN.sqlite --html [FILE]
// writes one self-contained page to explore the run in a browser (html_report.hpp), and the rest only when
// --out is given too.
#include <sys/stat.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/command_line.hpp"
#include "contexts.hpp"
#include "diff.hpp"
#include "html_data.hpp"
#include "html_report.hpp"
#include "perfetto.hpp"
#include "plot.hpp"
#include "summary.hpp"

namespace {

constexpr int kColumns = 600;  // time columns per chart and per counter track

bool fail(const std::string& what, int error) {
  std::fprintf(stderr, "allocmon-report: %s: %s\n", what.c_str(), std::strerror(error));
  return false;
}

bool make_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return true;
  const int error = errno;
  struct stat st {};
  if (error == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
  return fail("cannot create the output directory " + dir, error == EEXIST ? ENOTDIR : error);
}

bool write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return fail("cannot write " + path, errno);
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int error = errno;
  if (std::fclose(f) != 0 || !written) return fail("cannot write " + path, written ? errno : error);
  return true;
}

// memory.png from memory.svg with rsvg-convert; "" when done, else why not.
std::string convert_to_png(const std::string& svg, const std::string& png) {
  const std::string command = "rsvg-convert -o '" + png + "' '" + svg + "' 2>/dev/null";
  const int status = std::system(command.c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return "install librsvg2-bin for a PNG";
  struct stat st {};
  if (status != 0 || ::stat(png.c_str(), &st) != 0 || st.st_size == 0)
    return "rsvg-convert could not write " + png;
  return "";
}

// RUN.html for RUN.sqlite, in the current directory.
std::string default_html_name(const std::string& recording) {
  std::string name = recording.substr(recording.rfind('/') + 1);
  if (const size_t dot = name.rfind('.'); dot != std::string::npos && dot > 0) name.resize(dot);
  return name + ".html";
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, out = "allocmon-report";
  CLI::App app{
      "allocmon-report: plots, peaks, leaks, a Perfetto trace and an HTML timeline from a recording"};
  app.add_option("recording", path, "SQLite file written by allocation_server --record")->required();
  app.add_option("--out", out, "Output directory")->capture_default_str();
  bool shared_scale = false;
  app.add_flag("--shared-scale", shared_scale,
               "Plot every device on one byte scale (off-chip and on-chip charts each), so panels compare");
  std::vector<std::string> marks;
  app.add_option(
         "--diff", marks,
         "MARK_A MARK_B: what was allocated after mark A, up to mark B, and never freed (allocmon.mark); "
         "prints it and writes nothing else")
      ->expected(2);
  std::string html;
  CLI::Option* html_option =
      app.add_option("--html", html,
                     "Write one self-contained HTML page to explore the run in a browser (default: "
                     "RUN.html here for RUN.sqlite); the other outputs only with --out")
          ->expected(0, 1)
          ->type_name("[FILE]")
          ->excludes("--diff");
  allocmon::add_version_flag(app, "allocmon-report");
  if (const int status = allocmon::parse_command_line(app, argc, argv); status >= 0) return status;
  using namespace allocmon::report;
  if (!marks.empty()) {
    try {
      std::fputs(diff_text(path, marks[0], marks[1]).c_str(), stdout);
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "allocmon-report: %s\n", e.what());
      return 1;
    }
  }
  Recording recording;
  try {
    recording = load_recording(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allocmon-report: %s\n", e.what());
    return 1;
  }
  if (html_option->count() > 0) {
    if (html.empty()) html = default_html_name(path);
    std::string page;
    try {
      page = html_page(html_data(path.substr(path.rfind('/') + 1), recording, load_attribution(path)));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "allocmon-report: %s\n", e.what());
      return 1;
    }
    if (!write_file(html, page)) return 1;
    std::printf("wrote %s (%.1f MiB; open it in a browser)\n", html.c_str(),
                static_cast<double>(page.size()) / (1 << 20));
    if (app.count("--out") == 0) return 0;
  }
  const Timeline timeline = build_timeline(recording, kColumns);
  const std::string summary = summary_text(path, recording, timeline);
  if (!make_directory(out) || !write_file(out + "/summary.txt", summary) ||
      !write_file(out + "/trace.json", perfetto_trace(recording, timeline)) ||
      !write_file(out + "/memory.svg", memory_svg(recording, timeline, shared_scale)))
    return 1;
  const std::string no_png = convert_to_png(out + "/memory.svg", out + "/memory.png");
  std::fputs(summary.c_str(), stdout);
  std::printf("\nwrote %s/summary.txt, %s/trace.json (open in ui.perfetto.dev), %s/memory.svg%s\n",
              out.c_str(), out.c_str(), out.c_str(),
              no_png.empty() ? (", " + out + "/memory.png").c_str() : (" (no PNG: " + no_png + ")").c_str());
  return 0;
}
