#!/usr/bin/env bash
# The suite under sanitizers (clang): ASan+UBSan over everything — C++ tests, the fuzz targets for a bounded
# time, and the Python tests with the ASan runtime preloaded into python3 — and TSan over the concurrency tests.
# Any report fails the run. CI runs this after the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DALLOCMON_SANITIZE=address,undefined -DALLOCMON_FUZZ=ON -DALLOCMON_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
# Tests driven by .venv's python (not instrumented) need the ASan runtime preloaded; the install test builds an
# uninstrumented consumer against the instrumented library, and the demos run the whole main job: main suite only.
# The real-ttnn tests run tt-metal's own wheel (another Python, its own libraries), and the HTML report's browser
# test runs Chromium (its own allocator, not a process to preload ASan into): main suite only too.
python_driven="python_tests|ttnn_style_pytest|monitor_tui_in_tmux|monitor_tui_sizes|monitor_tui_stale|monitor_and_server_cli"
python_driven+="|monitor_holders|cluster_prometheus|html_report_data"
ctest --test-dir build-asan --output-on-failure -j"$jobs" \
  -E "$python_driven|install_and_out_of_tree_consumer|pip_install_fresh_venv|demo_main_job|demo_tt_shm|real_ttnn|html_report_chromium"
# CPython keeps objects alive at exit by design, so leak checking is off for that process tree (the C++ tests
# above run with it on).
LD_PRELOAD=$(clang++ -print-file-name=libclang_rt.asan-x86_64.so) ASAN_OPTIONS=detect_leaks=0 \
  ctest --test-dir build-asan --output-on-failure -R "$python_driven"

CC=clang CXX=clang++ cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DALLOCMON_SANITIZE=thread -DALLOCMON_WERROR=ON >/dev/null
cmake --build build-tsan -j"$jobs"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs" -R "EndToEnd|Reliability|Session|LogWriter|bench_quick|chaos"
