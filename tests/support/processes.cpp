#include "processes.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "query/query_client.hpp"

extern char** environ;

namespace allocmon::test {

namespace {
int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Child::Child(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, int run_as,
             bool merge_stderr) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    if (merge_stderr) ::dup2(out_pipe[1], STDERR_FILENO);
    if (run_as >= 0 &&
        (::setgid(static_cast<gid_t>(run_as)) != 0 || ::setuid(static_cast<uid_t>(run_as)) != 0))
      ::_exit(126);
    for (const auto& assignment : extra_env) ::putenv(const_cast<char*>(assignment.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  in_fd_ = in_pipe[1];
  out_fd_ = out_pipe[0];
}

Child::Child(Child&& other) noexcept {
  *this = std::move(other);
}

Child& Child::operator=(Child&& other) noexcept {
  std::swap(pid_, other.pid_);
  std::swap(in_fd_, other.in_fd_);
  std::swap(out_fd_, other.out_fd_);
  std::swap(buffer_, other.buffer_);
  std::swap(reaped_, other.reaped_);
  return *this;
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (in_fd_ >= 0) ::close(in_fd_);
  if (out_fd_ >= 0) ::close(out_fd_);
}

bool Child::read_line(std::string& line, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return true;
    }
    const int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    pollfd pfd{out_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(out_fd_, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

bool Child::wait_for(const std::string& needle, int timeout_ms, std::string* seen) {
  const int64_t deadline = now_ms() + timeout_ms;
  std::string line;
  while (read_line(line, static_cast<int>(std::max<int64_t>(1, deadline - now_ms())))) {
    if (seen) *seen += line + "\n";
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

void Child::write_line(const std::string& line) {
  const std::string text = line + "\n";
  [[maybe_unused]] auto n = ::write(in_fd_, text.data(), text.size());
}

void Child::kill(int signal) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, signal);
}

int Child::wait(int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  int status = 0;
  while (!reaped_) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (now_ms() > deadline) return -1;
    // Reaping a child has no readiness fd here; wait on its stdout closing instead of sleeping blind.
    pollfd pfd{out_fd_, POLLIN, 0};
    ::poll(&pfd, 1, 10);
    char sink[4096];
    if (pfd.revents & POLLIN) [[maybe_unused]]
      auto n = ::read(out_fd_, sink, sizeof(sink));
  }
  return -1;
}

std::string build_dir() {
  return ALLOCMON_BUILD_DIR;
}

std::string temp_socket_path(const std::string& tag) {
  return "/tmp/allocmon-test-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

Server::Server(std::string socket_path, std::vector<std::string> extra_args, std::vector<std::string> wrapper)
    : socket_(std::move(socket_path)) {
  std::vector<std::string> argv = std::move(wrapper);
  argv.insert(argv.end(), {build_dir() + "/allocation_server", "--socket", socket_, "--stats-interval", "0"});
  // The machine's own /dev/shm, /proc scans and GPUs stay out of tests unless a test points a source at its
  // fixture folder.
  const bool fixtures = std::any_of(extra_args.begin(), extra_args.end(), [](const std::string& a) {
    return a == "--tt-shm-dir" || a == "--proc-root";
  });
  if (!fixtures) argv.insert(argv.end(), {"--clients-only"});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  child_ = Child(argv, {});
  if (!child_.wait_for("listening on", 10000, &startup_log_))
    throw std::runtime_error("allocation_server did not start");
}

Client::Client(const std::string& socket_path, int run_as, bool merge_stderr,
               std::vector<std::string> extra_env) {
  extra_env.insert(extra_env.begin(),
                   {"TT_ALLOC_TRACKING_ENABLED=1", "TT_ALLOC_SERVER_SOCKET=" + socket_path});
  child_ = Child({build_dir() + "/allocmon_test_client"}, extra_env, run_as, merge_stderr);
}

std::string Client::command(const std::string& line) {
  child_.write_line(line);
  std::string reply;
  if (!child_.read_line(reply, 60000)) throw std::runtime_error("test client did not answer: " + line);
  return reply;
}

int Client::flush(int timeout_ms) {
  const std::string reply = command("flush " + std::to_string(timeout_ms));
  return std::stoi(reply.substr(3));
}

nlohmann::json query_snapshot(const std::string& socket_path) {
  QueryClient client;
  std::string error;
  if (!client.connect(socket_path, &error)) throw std::runtime_error(error);
  auto text = client.snapshot(5000, &error);
  if (!text) throw std::runtime_error(error);
  return nlohmann::json::parse(*text);
}

nlohmann::json query_leaks(const std::string& socket_path, int device_id) {
  QueryClient client;
  std::string error;
  if (!client.connect(socket_path, &error)) throw std::runtime_error(error);
  auto text = client.leaks(device_id, 5000, &error);
  if (!text) throw std::runtime_error(error);
  return nlohmann::json::parse(*text);
}

void sync_sources(const std::string& socket_path) {
  QueryClient client;
  std::string error;
  if (!client.connect(socket_path, &error) || !client.sync_sources(10000, &error))
    throw std::runtime_error(error);
}

}  // namespace allocmon::test
