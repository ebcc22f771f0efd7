// Multi-process load: real producer processes (this binary re-run with --producer) report through the client
// library, or write a pre-encoded stream straight to the socket; the parent measures the server.
#include "load_generator.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "allocmon/client.hpp"
#include "common/unix_socket.hpp"
#include "protocol/wire.hpp"
#include "raw_client.hpp"

namespace allocmon::bench {

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

struct Producer {
  pid_t pid;
  int go_fd;    // parent writes one byte: start
  int done_fd;  // child writes its line when finished
};

Producer spawn_producer(const std::string& self, const std::string& socket,
                        const std::vector<std::string>& args) {
  int go[2], done[2];
  if (::pipe(go) != 0 || ::pipe(done) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(go[0], STDIN_FILENO);
    ::dup2(done[1], STDOUT_FILENO);
    ::close(go[1]);
    ::close(done[0]);
    ::setenv(wire::kSocketEnvVar, socket.c_str(), 1);
    ::setenv(wire::kEnableEnvVar, "1", 1);
    std::vector<char*> argv{const_cast<char*>(self.c_str()), const_cast<char*>("--producer")};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(self.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(go[0]);
  ::close(done[1]);
  return {pid, go[1], done[0]};
}

std::string read_all(int fd) {
  std::string out;
  char buffer[256];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

// Runs producers with the same arguments; returns seconds from "go" to the last producer's flush confirmation
// and the sum of the event counts they print.
std::pair<double, uint64_t> run_producers(const std::string& self, const std::string& socket, int count,
                                          const std::vector<std::string>& args) {
  std::vector<Producer> producers;
  for (int i = 0; i < count; ++i) {
    auto a = args;
    a.push_back(std::to_string(i));
    producers.push_back(spawn_producer(self, socket, a));
  }
  // Each producer reports "ready" once connected and registered, so start-up is not timed.
  for (auto& p : producers) {
    char c;
    if (::read(p.done_fd, &c, 1) != 1) throw std::runtime_error("producer failed to start");
  }
  const double start = now_s();
  for (auto& p : producers) {
    [[maybe_unused]] auto n = ::write(p.go_fd, "g", 1);
    ::close(p.go_fd);
  }
  uint64_t events = 0;
  for (auto& p : producers) {
    events += std::stoull(read_all(p.done_fd));
    ::close(p.done_fd);
  }
  const double elapsed = now_s() - start;
  for (auto& p : producers) ::waitpid(p.pid, nullptr, 0);
  return {elapsed, events};
}

}  // namespace

// ---- producer side (a child process) ----

int producer_main(int argc, char** argv) {
  // argv: self --producer MODE EVENTS INDEX
  const std::string mode = argv[2];
  const uint64_t events = std::stoull(argv[3]);
  const int index = std::stoi(argv[argc - 1]);
  const std::string socket = socket_path_from_env();
  FastRandom random{static_cast<uint64_t>(index) * 7919 + 1};

  if (mode == "raw") {
    // Pre-encoded alloc/free pairs written straight to the socket: the server's ingest alone.
    const int fd = connect_with_devices(socket, 8);
    constexpr size_t kBatch = 2048;
    std::vector<wire::Event> batch(kBatch);
    std::string frames;
    for (size_t i = 0; i < kBatch; i += 2) {
      const uint64_t id = i / 2 + 1;
      const int device = static_cast<int>(id % 8);
      batch[i] = {id, 4096, id * 64, device, static_cast<uint8_t>(wire::EventKind::kAlloc), ALLOCMON_DRAM, 0};
      batch[i + 1] = {id, 0, 0, device, static_cast<uint8_t>(wire::EventKind::kFree), 0, 0};
    }
    wire::append_frame(frames, wire::MessageType::kEventBatch, batch.data(),
                       batch.size() * sizeof(wire::Event));
    std::printf("r");
    std::fflush(stdout);
    char go;
    [[maybe_unused]] auto r = ::read(STDIN_FILENO, &go, 1);
    uint64_t sent = 0;
    for (; sent + kBatch <= events; sent += kBatch) write_all(fd, frames.data(), frames.size());
    std::string flush;
    wire::append_message(flush, wire::MessageType::kFlush, wire::Flush{1});
    write_all(fd, flush.data(), flush.size());
    char ack[16];
    size_t got = 0;
    while (got < sizeof(ack)) {
      const ssize_t n = ::read(fd, ack + got, sizeof(ack) - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    std::printf("%llu", static_cast<unsigned long long>(sent));
    return 0;
  }

  if (mode == "poc") {
    // The proof of concept's client, end to end: one blocking send of a 128-byte message per event, the same
    // random alloc+free pairs as "pairs" below, then a flush barrier.
    const int fd = connect_with_devices(socket, 8);
    std::printf("r");
    std::fflush(stdout);
    char go;
    [[maybe_unused]] auto r = ::read(STDIN_FILENO, &go, 1);
    uint64_t reported = 0;
    for (uint64_t id = 1; reported < events; ++id, reported += 2) {
      const int device = static_cast<int>(random() % 8);
      const auto type = static_cast<uint8_t>(random() % ALLOCMON_NUM_MEMORY_TYPES);
      const wire::Event alloc{
          id, 64 + random() % 65536, id * 64, device, static_cast<uint8_t>(wire::EventKind::kAlloc), type, 0};
      const wire::Event release{id, 0, 0, device, static_cast<uint8_t>(wire::EventKind::kFree), 0, 0};
      const std::string a = baseline_message(alloc), f = baseline_message(release);
      write_all(fd, a.data(), a.size());
      write_all(fd, f.data(), f.size());
    }
    std::string flush_frame;
    wire::append_message(flush_frame, wire::MessageType::kFlush, wire::Flush{1});
    write_all(fd, flush_frame.data(), flush_frame.size());
    char ack[16];
    for (size_t got = 0; got < sizeof(ack);) {
      const ssize_t n = ::read(fd, ack + got, sizeof(ack) - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    std::printf("%llu", static_cast<unsigned long long>(reported));
    return 0;
  }

  for (int d = 0; d < 8; ++d) {
    DeviceInfo info;
    info.device_id = d;
    info.architecture = "bench";
    register_device(info);
  }
  flush(10000);
  std::printf("r");
  std::fflush(stdout);
  char go;
  [[maybe_unused]] auto r = ::read(STDIN_FILENO, &go, 1);
  uint64_t reported = 0;
  if (mode == "pairs") {
    // Random devices and types, each buffer freed right away: alloc+free pairs.
    for (uint64_t id = 1; reported < events; ++id, reported += 2) {
      const int device = static_cast<int>(random() % 8);
      const auto type = static_cast<MemoryType>(random() % ALLOCMON_NUM_MEMORY_TYPES);
      track_alloc(device, type, 64 + random() % 65536, id * 64, id);
      track_free(device, id);
    }
  } else if (mode == "paced") {
    // Background load for the visibility probe: ~1 M events/s, so the producer never outruns its own shipper.
    const double start = now_s();
    for (uint64_t id = 1; reported < events; ++id, reported += 2) {
      const int device = static_cast<int>(random() % 8);
      track_alloc(device, MemoryType::DRAM, 4096, id * 64, id);
      track_free(device, id);
      if (id % 1000 == 0) {
        const double due = start + static_cast<double>(reported) / 1e6;
        const double wait = due - now_s();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      }
    }
  } else if (mode == "live") {
    // `events` buffers that stay allocated (server memory per live buffer).
    for (uint64_t id = 1; reported < events; ++id, ++reported)
      track_alloc(static_cast<int>(id % 8), MemoryType::DRAM, 4096, id * 64, id);
  }
  const int status = flush(120000);
  std::printf("%llu", static_cast<unsigned long long>(status == ALLOCMON_FLUSH_OK ? reported : 0));
  std::fflush(stdout);
  if (mode == "live") {
    // Hold the buffers until the parent has measured (it closes our stdin... the go pipe is already closed,
    // so wait for the parent to signal via SIGTERM).
    ::pause();
  }
  return 0;
}

// ---- parent side ----

IngestResult measure_ingest(const std::string& self, BenchServer& server, const std::string& mode,
                            int producers, uint64_t events_per_producer) {
  const uint64_t before = server.events_applied();
  auto [seconds, reported] =
      run_producers(self, server.socket(), producers, {mode, std::to_string(events_per_producer)});
  const uint64_t applied = server.events_applied() - before;
  IngestResult r;
  r.producers = producers;
  r.events_reported = reported;
  r.events_applied = applied;
  r.seconds = seconds;
  r.events_per_second = static_cast<double>(applied) / seconds;
  r.lost = reported > applied ? reported - applied : 0;
  return r;
}

MemoryResult measure_memory_per_buffer(const std::string& self, BenchServer& server, uint64_t live_buffers) {
  const uint64_t rss_before = server.rss_bytes();
  Producer p = spawn_producer(self, server.socket(), {"live", std::to_string(live_buffers), "0"});
  struct StopProducer {  // it holds its buffers until told to stop, also when a check below throws
    pid_t pid;
    ~StopProducer() { stop_child(pid); }
  } stop_producer{p.pid};
  char c;
  if (::read(p.done_fd, &c, 1) != 1) throw std::runtime_error("producer failed");
  [[maybe_unused]] auto n = ::write(p.go_fd, "g", 1);
  ::close(p.go_fd);
  char line[64] = {};
  // The producer prints its count after its flush barrier: every buffer is in the server now.
  const ssize_t got = ::read(p.done_fd, line, sizeof(line) - 1);
  if (got <= 0 || std::strtoull(line, nullptr, 10) != live_buffers)  // it prints 0 when its flush failed
    throw std::runtime_error("the producer of " + std::to_string(live_buffers) +
                             " live buffers did not get them all to the server (it printed '" + line + "')");
  MemoryResult r;
  r.live_buffers = live_buffers;
  r.server_rss_delta = server.rss_bytes() - rss_before;
  r.bytes_per_buffer = static_cast<double>(r.server_rss_delta) / static_cast<double>(live_buffers);
  // Snapshot latency with these buffers live.
  std::vector<double> totals, leaks;
  for (int i = 0; i < 30; ++i) {
    const double t0 = now_s();
    server.snapshot();
    totals.push_back((now_s() - t0) * 1e3);
  }
  for (int i = 0; i < 3; ++i) {
    QueryClient client;
    std::string error;
    client.connect(server.socket(), &error);
    const double t0 = now_s();
    auto report = client.leak_report(-1, 600000, &error);  // every live buffer, streamed and decoded
    leaks.push_back((now_s() - t0) * 1e3);
    uint64_t listed = 0;
    if (report)
      for (const auto& process : report->processes) listed += process.buffers.size();
    if (listed != live_buffers)
      throw std::runtime_error("the leak report listed " + std::to_string(listed) + " of " +
                               std::to_string(live_buffers) + " live buffers: " + error);
  }
  std::sort(totals.begin(), totals.end());
  std::sort(leaks.begin(), leaks.end());
  r.snapshot_ms_p50 = totals[totals.size() / 2];
  r.snapshot_ms_p99 = totals.back();
  r.leak_report_ms_p50 = leaks[leaks.size() / 2];
  ::close(p.done_fd);
  return r;
}

VisibilityResult measure_visibility(const std::string& self, BenchServer& server, int background_producers,
                                    int samples) {
  // Background load in other processes while this process times alloc -> visible in a snapshot.
  std::vector<Producer> load;
  struct StopLoad {  // the paced producers run for an hour unless stopped, also when a step below throws
    std::vector<Producer>& load;
    ~StopLoad() {
      for (auto& p : load) {
        stop_child(p.pid, 0);
        ::close(p.done_fd);
      }
    }
  } stop_load{load};
  for (int i = 0; i < background_producers; ++i)
    load.push_back(spawn_producer(self, server.socket(), {"paced", "4000000000", std::to_string(100 + i)}));
  for (auto& p : load) {
    char c;
    if (::read(p.done_fd, &c, 1) != 1) throw std::runtime_error("producer failed");
    [[maybe_unused]] auto n = ::write(p.go_fd, "g", 1);
    ::close(p.go_fd);
  }
  allocmon_configure(1, server.socket().c_str());
  DeviceInfo probe;
  probe.device_id = 99;
  probe.architecture = "probe";
  register_device(probe);
  flush(10000);
  QueryClient client;
  std::string error;
  client.connect(server.socket(), &error);
  std::vector<double> latencies;
  for (int i = 1; i <= samples; ++i) {
    const double t0 = now_s();
    track_alloc(99, MemoryType::DRAM, 1, 0, static_cast<uint64_t>(i));
    for (;;) {
      auto text = client.snapshot(10000, &error);
      if (!text) throw std::runtime_error("snapshot while measuring visibility: " + error);
      const auto doc = nlohmann::json::parse(*text);
      bool seen = false;
      for (const auto& d : doc["devices"])
        if (d["id"].get<int>() == 99 && d["buffers"].get<int>() == i) seen = true;
      if (seen) break;
    }
    latencies.push_back((now_s() - t0) * 1e3);
  }
  unregister_device(99);
  flush(10000);
  std::sort(latencies.begin(), latencies.end());
  VisibilityResult r;
  r.samples = samples;
  r.p50_ms = latencies[latencies.size() / 2];
  r.p99_ms =
      latencies[std::min(latencies.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(samples)))];
  return r;
}

}  // namespace allocmon::bench
