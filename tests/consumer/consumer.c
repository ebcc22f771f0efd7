/* A C runtime reporting one buffer through the installed C ABI; prints the flush result. */
#include <allocmon/client.h>
#include <stdio.h>

int main(void) {
  allocmon_device_info info = {0};
  info.device_id = 6;
  info.mesh_row = info.mesh_col = -1;
  info.architecture = "wormhole_b0";
  info.capacity[ALLOCMON_DRAM] = 1ull << 30;
  allocmon_register_device(&info);
  allocmon_track_alloc(6, ALLOCMON_DRAM, 12345, 64, 1);
  printf("flush %d\n", allocmon_flush(5000));
  fflush(stdout);
  getchar(); /* hold the buffer until told to exit */
  return 0;
}
