#include "html_report.hpp"

#include <stdexcept>
#include <string_view>

#include "report/html_template.hpp"  // generated from html_template.html (CMakeLists.txt)

namespace allocmon::report {

std::string html_page(const nlohmann::json& data) {
  constexpr std::string_view kPlaceholder = "__ALLOCMON_DATA__";
  const size_t at = kHtmlTemplate.find(kPlaceholder);
  if (at == std::string_view::npos)
    throw std::logic_error("html_template.html has no " + std::string(kPlaceholder));
  const std::string json = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string page(kHtmlTemplate.substr(0, at));
  page.reserve(kHtmlTemplate.size() + json.size() + json.size() / 64);
  // '<' only occurs inside JSON strings, where \u003c reads the same: no "</script>" or "<!--" can end or
  // change the script element the data sits in.
  for (const char c : json) {
    if (c == '<')
      page += "\\u003c";
    else
      page += c;
  }
  page += kHtmlTemplate.substr(at + kPlaceholder.size());
  return page;
}

}  // namespace allocmon::report
