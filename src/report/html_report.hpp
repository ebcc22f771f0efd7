// allocmon-report --html: one self-contained page to explore a recording in a browser — memory over time per
// device and memory type, stacked by scope or op, marks, and the buffers live at a clicked moment. No
// network: the script, the styles and the data (html_data.hpp) are inline. The page is
// src/report/html_template.html, compiled into the program.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace allocmon::report {

// The template with `data` in it (as JSON that cannot end its script element).
std::string html_page(const nlohmann::json& data);

}  // namespace allocmon::report
