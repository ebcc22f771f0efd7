// What every allocmon binary does with its command line: CLI11 parsing with shell conventions (exit 0 after
// --help or --version, 2 on a usage error with a clear message; CLI11's own codes are 100 and up), and the
// same --version text everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "protocol/wire.hpp"

#ifndef ALLOCMON_VERSION
#define ALLOCMON_VERSION "unknown"
#endif
#ifndef ALLOCMON_BUILD_TYPE
#define ALLOCMON_BUILD_TYPE "unknown"
#endif

namespace allocmon {

inline std::string version_text(const std::string& program) {
  return program + " " ALLOCMON_VERSION " (protocol versions " + std::to_string(wire::kMinProtocolVersion) +
         "-" + std::to_string(wire::kProtocolVersion) + "; " ALLOCMON_BUILD_TYPE " build, " __VERSION__ ")";
}

// Adds --version; call before parsing.
inline void add_version_flag(CLI::App& app, const std::string& program) {
  app.set_version_flag("--version", version_text(program), "Print the version, protocol versions and build");
}

// -1: parsed, go on. Otherwise the process's exit status: 0 (help, version printed) or 2 (usage error
// printed).
inline int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::RequiredError& e) {
    // CLI11 checks requirements before extras: `prog --bogus` would say "recording is required". An option
    // nobody knows is the more useful thing to name.
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--") break;
      if (arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) continue;
      const std::string name = arg.substr(0, arg.find('='));
      if (!app.get_option_no_throw(name)) {
        const std::string program = std::string(argv[0]).substr(std::string(argv[0]).rfind('/') + 1);
        std::fprintf(stderr, "%s: unknown option %s\nRun with --help for more information.\n",
                     program.c_str(), name.c_str());
        return 2;
      }
    }
    app.exit(e);
    return 2;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
}

// A usage error found after parsing (a combination CLI11 cannot express): message, exit status 2.
inline int usage_error(const std::string& program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\nRun with --help for more information.\n", program.c_str(), message.c_str());
  return 2;
}

}  // namespace allocmon
