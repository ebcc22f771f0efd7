// allocmon_chaos: producers doing random alloc/free on random devices and types, each keeping its own ground
// truth, while faults are injected at random: producers SIGKILLed and restarted, the server SIGKILLed and
// restarted, the server stopped (SIGSTOP) and resumed, a monitor that asks and never reads, clients that send
// garbage. At every checkpoint all producers pause and flush, and the server's per-device, per-type and
// per-process totals must equal the live producers' ground truth exactly. Bounded in time; stops by itself.
//   allocmon_chaos [--seconds S] [--producers N] [--rate EVENTS_PER_S_EACH] [--seed X]   (exit 0: no
//   mismatch)
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "allocmon/client.hpp"
#include "common/unix_socket.hpp"
#include "protocol/wire.hpp"
#include "query/query_client.hpp"

using nlohmann::json;
using namespace allocmon;

namespace {

constexpr int kDevices = 8;
using Totals = std::map<std::pair<int, int>, uint64_t>;  // (device, type) -> bytes

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- producer process ----
// stdin: "c" = checkpoint (pause, flush, print truth, wait for "g"), "q" = quit. stdout: "ready", truth
// lines.
int producer_main(uint64_t seed, int rate) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::mt19937_64 random(seed);
  for (int d = 0; d < kDevices; ++d) {
    DeviceInfo info;
    info.device_id = d;
    info.architecture = "chaos";
    register_device(info);
  }
  struct Live {
    int device, type;
    uint64_t size;
  };
  std::map<uint64_t, Live> live;
  std::vector<uint64_t> ids;
  uint64_t next_id = 1, events = 0;
  std::printf("ready\n");
  const int flags = fcntl(STDIN_FILENO, F_GETFL);
  fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK);
  for (;;) {
    // `rate` events/s in 10 ms steps: a runtime's pace, below the shipper's capacity.
    for (int i = 0; i < rate / 100; ++i, ++events) {
      if (ids.empty() || (random() % 100 < 55 && ids.size() < 20000)) {
        const Live l{static_cast<int>(random() % kDevices),
                     static_cast<int>(random() % ALLOCMON_NUM_MEMORY_TYPES), 64 + random() % (1 << 20)};
        const uint64_t id = next_id++;
        track_alloc(l.device, static_cast<MemoryType>(l.type), l.size, id * 64, id);
        live[id] = l;
        ids.push_back(id);
      } else {
        const size_t k = random() % ids.size();
        const uint64_t id = ids[k];
        ids[k] = ids.back();
        ids.pop_back();
        track_free(live[id].device, id);
        live.erase(id);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    char command;
    if (::read(STDIN_FILENO, &command, 1) != 1) continue;
    if (command == 'q') return 0;
    if (command != 'c') continue;
    const int status = flush(20000);
    Totals truth;
    for (const auto& [id, l] : live) truth[{l.device, l.type}] += l.size;
    std::printf("truth %d %llu %zu", status, static_cast<unsigned long long>(events), live.size());
    for (const auto& [key, bytes] : truth)
      std::printf(" %d:%d:%llu", key.first, key.second, static_cast<unsigned long long>(bytes));
    std::printf("\n");
    fcntl(STDIN_FILENO, F_SETFL, flags);  // block until "g"
    while (::read(STDIN_FILENO, &command, 1) == 1 && command != 'g') {
    }
    fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK);
  }
}

// ---- controller ----
struct Process {
  pid_t pid = -1;
  int in = -1;          // our end of its stdin
  FILE* out = nullptr;  // its stdout
};

Process spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) std::abort();
  Process p;
  p.pid = ::fork();
  if (p.pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::close(in[1]);
    ::close(out[0]);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  p.in = in[1];
  p.out = ::fdopen(out[0], "r");
  return p;
}

std::string read_line(Process& p) {
  char line[1 << 16];
  return std::fgets(line, sizeof(line), p.out) ? std::string(line) : std::string();
}

void stop(Process& p, int signal) {
  if (p.pid <= 0) return;
  ::kill(p.pid, signal);
  ::waitpid(p.pid, nullptr, 0);
  ::close(p.in);
  std::fclose(p.out);
  p.pid = -1;
}

class Chaos {
 public:
  Chaos(std::string self, int producers, uint64_t seed, int rate)
      : self_(std::move(self)),
        dir_(self_.substr(0, self_.rfind('/'))),
        socket_("/tmp/allocmon-chaos-" + std::to_string(::getpid()) + ".sock"),
        random_(seed),
        producer_count_(producers),
        rate_(rate) {}

  int run(double seconds) {
    ::signal(SIGPIPE, SIG_IGN);
    start_server();
    for (int i = 0; i < producer_count_; ++i) producers_.push_back(start_producer());
    const double end = now_s() + seconds;
    while (now_s() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200 + random_() % 400));  // the workload runs
      inject_fault();
      if (random_() % 3 == 0) checkpoint();
    }
    checkpoint();
    for (auto& p : producers_) {
      [[maybe_unused]] auto n = ::write(p.in, "q", 1);
      stop(p, SIGTERM);
    }
    stop(stalled_monitor_, SIGKILL);
    stop(server_, SIGTERM);
    std::printf(
        "chaos: %.0f s, %d producers, %llu events reported, %d faults injected (%s), %d checkpoints, "
        "%d mismatches\n",
        seconds, producer_count_, static_cast<unsigned long long>(total_events()), faults_,
        fault_summary().c_str(), checkpoints_, mismatches_);
    std::printf("%d passed, %d failed\n", mismatches_ == 0 ? 1 : 0, mismatches_ == 0 ? 0 : 1);
    return mismatches_ == 0 ? 0 : 1;
  }

 private:
  void start_server() {
    server_ = spawn({dir_ + "/allocation_server", "--socket", socket_, "--quiet", "--stats-interval", "0",
                     "--clients-only"},
                    {});
    const std::string line = read_line(server_);
    if (line.find("listening on") == std::string::npos) {
      int status = 0;
      ::waitpid(server_.pid, &status, 0);
      std::fprintf(stderr, "chaos: server did not start (printed '%s'; %s %d)\n", line.c_str(),
                   WIFSIGNALED(status) ? "killed by signal" : "exit status",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      std::exit(2);
    }
  }

  Process start_producer() {
    Process p = spawn({self_, "--producer", std::to_string(random_()), std::to_string(rate_)},
                      {"TT_ALLOC_TRACKING_ENABLED=1", "TT_ALLOC_SERVER_SOCKET=" + socket_});
    read_line(p);  // "ready"
    return p;
  }

  void inject_fault() {
    ++faults_;
    switch (random_() % 6) {
      case 0: {  // a producer dies without a word; a new one takes its place
        auto& p = producers_[random_() % producers_.size()];
        events_of_dead_ += last_events_[p.pid];
        stop(p, SIGKILL);
        p = start_producer();
        ++kinds_["producer SIGKILL"];
        break;
      }
      case 1:  // the server dies; a new one starts on the same path, producers resync on their own
        stop(server_, SIGKILL);
        start_server();
        ++kinds_["server SIGKILL+restart"];
        break;
      case 2:  // the server stops reading for a while
        ::kill(server_.pid, SIGSTOP);
        std::this_thread::sleep_for(std::chrono::milliseconds(300 + random_() % 1500));
        ::kill(server_.pid, SIGCONT);
        ++kinds_["server SIGSTOP/SIGCONT"];
        break;
      case 3: {  // a monitor that asks for snapshots and never reads them
        stop(stalled_monitor_, SIGKILL);
        stalled_fd_close();
        stalled_fd_ = connect_unix(socket_, true);
        std::string asks;
        for (int i = 0; i < 2000; ++i)
          wire::append_frame(asks, wire::MessageType::kQuerySnapshot, nullptr, 0);
        if (stalled_fd_ >= 0) [[maybe_unused]]
          auto n = ::send(stalled_fd_, asks.data(), asks.size(), MSG_DONTWAIT);
        ++kinds_["stalled monitor"];
        break;
      }
      case 4: {  // garbage
        const int fd = connect_unix(socket_, false);
        std::string junk(1 + random_() % 4096, '\0');
        for (auto& c : junk) c = static_cast<char>(random_());
        if (fd >= 0) {
          [[maybe_unused]] auto n = ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
          ::close(fd);
        }
        ++kinds_["garbage client"];
        break;
      }
      default:  // a well-formed frame of the wrong size or version in the middle of a valid stream
      {
        const int fd = connect_unix(socket_, false);
        std::string frames;
        wire::RegisterDevice r{};
        r.device_id = 3;
        wire::append_message(frames, wire::MessageType::kRegisterDevice, r);
        wire::FrameHeader bad{static_cast<uint16_t>(wire::MessageType::kEventBatch), 1, 31};
        frames.append(reinterpret_cast<const char*>(&bad), sizeof(bad));
        if (fd >= 0) {
          [[maybe_unused]] auto n = ::send(fd, frames.data(), frames.size(), MSG_NOSIGNAL);
          ::close(fd);
        }
        ++kinds_["malformed frame"];
      }
    }
  }

  void stalled_fd_close() {
    if (stalled_fd_ >= 0) ::close(stalled_fd_);
    stalled_fd_ = -1;
  }

  void checkpoint() {
    ++checkpoints_;
    std::map<pid_t, Totals> truth;
    Totals all;
    for (auto& p : producers_) [[maybe_unused]] auto n = ::write(p.in, "c", 1);
    for (auto& p : producers_) {
      std::istringstream line(read_line(p));
      std::string word;
      int status;
      unsigned long long events;
      size_t live;
      line >> word >> status >> events >> live;
      last_events_[p.pid] = events;
      if (word != "truth" || status != 0) {
        std::printf("checkpoint %d: producer %d could not flush (status %d)\n", checkpoints_, p.pid, status);
        ++mismatches_;
      }
      std::string entry;
      while (line >> entry) {
        int device, type;
        unsigned long long bytes;
        std::sscanf(entry.c_str(), "%d:%d:%llu", &device, &type, &bytes);
        truth[p.pid][{device, type}] = bytes;
        all[{device, type}] += bytes;
      }
    }
    compare(truth, all);
    for (auto& p : producers_) [[maybe_unused]] auto n = ::write(p.in, "g", 1);
  }

  void compare(const std::map<pid_t, Totals>& truth, const Totals& all) {
    QueryClient client;
    std::string error;
    std::optional<std::string> text;
    if (client.connect(socket_, &error)) text = client.snapshot(30000, &error);
    if (!text) {
      std::printf("checkpoint %d: no snapshot: %s\n", checkpoints_, error.c_str());
      ++mismatches_;
      return;
    }
    const json s = json::parse(*text);
    const auto& types = s["memory_types"];
    Totals server_all;
    for (const auto& d : s["devices"])
      for (int t = 0; t < static_cast<int>(types.size()); ++t)
        if (auto b = d["memory"][types[t].get<std::string>()]["allocated"].get<uint64_t>())
          server_all[{d["id"].get<int>(), t}] = b;
    if (server_all != all) {
      std::printf("checkpoint %d: device totals differ from the producers' truth\n", checkpoints_);
      ++mismatches_;
    }
    std::map<pid_t, Totals> server_per_process;
    for (const auto& p : s["processes"]) {
      Totals& mine = server_per_process[p["pid"].get<pid_t>()];
      for (const auto& d : p["devices"])
        for (const auto& [type, m] : d["memory"].items())
          if (auto b = m["allocated"].get<uint64_t>())
            mine[{d["id"].get<int>(), *wire::memory_type_from_name(type)}] = b;
    }
    for (const auto& [pid, totals] : truth) {
      if (server_per_process[pid] != totals) {
        std::printf("checkpoint %d: process %d's totals differ from its truth\n", checkpoints_, pid);
        ++mismatches_;
      }
    }
  }

  uint64_t total_events() const {
    uint64_t sum = events_of_dead_;
    for (const auto& p : producers_) {
      auto it = last_events_.find(p.pid);
      if (it != last_events_.end()) sum += it->second;
    }
    return sum;
  }

  std::string fault_summary() const {
    std::string text;
    for (const auto& [kind, count] : kinds_)
      text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + kind;
    return text;
  }

  std::string self_, dir_, socket_;
  std::mt19937_64 random_;
  int producer_count_;
  int rate_;
  Process server_, stalled_monitor_;
  int stalled_fd_ = -1;
  std::vector<Process> producers_;
  std::map<pid_t, uint64_t> last_events_;
  uint64_t events_of_dead_ = 0;
  std::map<std::string, int> kinds_;
  int faults_ = 0, checkpoints_ = 0, mismatches_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3 && std::string(argv[1]) == "--producer")
    return producer_main(std::stoull(argv[2]), std::stoi(argv[3]));
  double seconds = 20;
  int producers = 4;
  int rate = 25000;
  uint64_t seed = static_cast<uint64_t>(::getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") seconds = std::stod(argv[i + 1]);
    if (flag == "--producers") producers = std::stoi(argv[i + 1]);
    if (flag == "--seed") seed = std::stoull(argv[i + 1]);
    if (flag == "--rate") rate = std::stoi(argv[i + 1]);
  }
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  std::printf("chaos: seed %llu\n", static_cast<unsigned long long>(seed));
  return Chaos(std::string(path, n > 0 ? static_cast<size_t>(n) : 0), producers, seed, rate).run(seconds);
}
