#include "host_port.hpp"

#include <algorithm>
#include <utility>

namespace allocmon::server {

std::string HostPort::url_authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<HostPort> {
    if (why) {
      // Appended piecewise: GCC 12's -Wrestrict misfires on "literal" + std::string temporaries at -O3.
      std::string message = "'";
      message.append(text).append("': ").append(reason);
      message.append(" (examples: 127.0.0.1:9464, [::1]:9464, :9464)");
      *why = std::move(message);
    }
    return std::nullopt;
  };
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("an IPv6 address needs its closing ']'");
    out.host = std::string(text.substr(1, close - 1));
    if (out.host.empty()) return fail("empty IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("expected ':PORT' after ']'");
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("expected HOST:PORT");
    if (text.find(':') != colon) return fail("an IPv6 address goes in brackets, as [::1]:9464");
    out.host = colon == 0 ? "127.0.0.1" : std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty()) return fail("missing port");
  if (port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return fail("the port must be a number from 0 to 65535");
  const int port = std::stoi(std::string(port_text));
  if (port > 65535) return fail("the port must be a number from 0 to 65535");
  out.port = port;
  if (std::any_of(out.host.begin(), out.host.end(), [](char c) { return c == ' ' || c == '/' || c == '\0'; }))
    return fail("not a host name or address");
  return out;
}

}  // namespace allocmon::server
