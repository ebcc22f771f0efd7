#!/bin/sh
# NOT A COMPILER. A stand-in for SFPI's riscv-tt-elf-g++ that scripts/real-ttnn-env.sh installs where the ttnn
# wheel looks for its kernel compiler (<site-packages>/ttnn/runtime/sfpi/compiler/bin/riscv-tt-elf-g++).
#
# Why it exists: the wheel does not ship SFPI, and tt-metal refuses to open any device (even a mock one) when the
# compiler file is missing ("sfpi not found at ..."). At open it runs `riscv-tt-elf-g++ --version` and hashes the
# answer into the firmware build key; the line below (SFPI 7.89.0 build 1050, the version the wheel pins in
# tt_metal/sfpi-version) gives a key whose firmware the wheel already carries in tt_metal/pre-compiled/, so the
# device opens without compiling anything.
#
# What it cannot do: compile. Every other invocation (any op that needs a JIT-compiled kernel: add, matmul,
# tilize on device, ...) fails here, and tt-metal reports "Failed to generate binaries for <kernel>".
# Set ALLOCMON_SFPI_STUB_LOG=FILE to record each invocation.
[ -n "${ALLOCMON_SFPI_STUB_LOG:-}" ] && echo "$(date +%T.%N) pid=$$ argv: $*" >>"$ALLOCMON_SFPI_STUB_LOG"
if [ "${1:-}" = "--version" ]; then
  echo "riscv-tt-elf-g++ (tenstorrent/sfpi:7.89.0[1050]) 15.1.0"
  echo "Copyright (C) 2025 Free Software Foundation, Inc."
  echo "This is free software; see the source for copying conditions.  There is NO"
  echo "warranty; not even for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE."
  echo
  exit 0
fi
echo "riscv-tt-elf-g++ (allocmon stub): not a compiler; no SFPI toolchain on this machine (scripts/real-ttnn-env.sh)" >&2
exit 1
