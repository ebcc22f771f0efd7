#include "contexts.hpp"

#include "common/sqlite.hpp"

namespace allocmon::report {

const Context* Attribution::context_of_seq(int64_t seq) const {
  const auto id = context_of.find(seq);
  if (id == context_of.end()) return nullptr;
  const auto context = contexts.find(id->second);
  return context == contexts.end() ? nullptr : &context->second;
}

Attribution load_attribution(const std::string& path) {
  const sqlite::Database db = sqlite::open_readonly(path);
  Attribution a;
  if (!sqlite::has_column(db.get(), "events", "context")) return a;  // recorded before attribution
  const std::string what = path + " is not an allocmon recording";
  {
    const std::string tensor =
        sqlite::has_column(db.get(), "contexts", "tensor") ? "COALESCE(tensor,'')" : "''";
    sqlite::Statement st(
        db.get(),
        "SELECT id, COALESCE(scope,''), COALESCE(op,''), COALESCE(site,''), " + tensor + " FROM contexts",
        what);
    while (st.step()) a.contexts[st.integer(0)] = {st.text(1), st.text(2), st.text(3), st.text(4)};
  }
  {
    sqlite::Statement st(db.get(), "SELECT seq, context FROM events WHERE context IS NOT NULL", what);
    while (st.step()) a.context_of.emplace(st.integer(0), st.integer(1));
  }
  sqlite::Statement st(db.get(),
                       "SELECT COALESCE(after_seq,0), time_ms, COALESCE(pid,0), COALESCE(name,'') FROM marks "
                       "ORDER BY rowid",
                       what);
  while (st.step())
    a.marks.push_back({st.integer(0), st.integer(1), static_cast<int>(st.integer(2)), st.text(3)});
  return a;
}

}  // namespace allocmon::report
