// Small helpers around AF_UNIX stream sockets shared by the client library, the server and the monitor.
#pragma once

#include <string>

namespace allocmon {

// TT_ALLOC_SERVER_SOCKET if set and non-empty, else the default path.
std::string socket_path_from_env();

// Connects to `path`; returns the fd (CLOEXEC, optionally non-blocking) or -1 with errno set.
// sizeof(sockaddr_un::sun_path): a path must be shorter (its terminating NUL included).
inline constexpr size_t kMaxSocketPath = 108;
int connect_unix(const std::string& path, bool nonblocking);

// Writes all of `size` bytes to a blocking fd, retrying on EINTR and partial writes. False on error.
bool write_all(int fd, const void* data, size_t size);

}  // namespace allocmon
