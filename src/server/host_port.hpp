// --metrics-address: a strict HOST:PORT parser. What it accepts is exactly where the endpoint listens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace allocmon::server {

struct HostPort {
  std::string host;  // "127.0.0.1", "0.0.0.0", "::1", a name
  int port = 0;      // 0: any free port (the one chosen is printed)
  // host:port as a URL writes it ([::1]:9464 for IPv6).
  std::string url_authority() const;
};

// "HOST:PORT", "[IPV6]:PORT" or ":PORT" (HOST 127.0.0.1), PORT a decimal 0..65535. nullopt (and why) for
// anything else, a bare host or a bare port included.
std::optional<HostPort> parse_host_port(std::string_view text, std::string* why);

}  // namespace allocmon::server
