#!/usr/bin/env bash
# The style standard as a test: every C and C++ source is as clang-format (the repo's .clang-format) writes it.
set -euo pipefail
cd "${1:?usage: format_check.sh SOURCE_DIR}"
mapfile -t files < <(find include src python tests bench fuzz examples tools -type f \
  \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.c' \) 2>/dev/null | sort)
clang-format --dry-run -Werror "${files[@]}"
echo "clang-format: ${#files[@]} files clean"
