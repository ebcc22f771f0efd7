/* A C runtime reporting two buffers through the installed C ABI (one with its layout); prints the flush
 * result. */
#include <allocmon/client.h>
#include <stdio.h>

int main(void) {
  allocmon_device_info info = {0};
  info.device_id = 6;
  info.mesh_row = info.mesh_col = -1;
  info.architecture = "wormhole_b0";
  info.capacity[ALLOCMON_DRAM] = 1ull << 30;
  info.grid_x = info.grid_y = 8;
  allocmon_register_device(&info);
  allocmon_track_alloc(6, ALLOCMON_DRAM, 12345, 64, 1);
  allocmon_buffer_layout layout = {2048, ALLOCMON_LAYOUT_SHARDED, 8, -1};
  allocmon_track_alloc_with_layout(6, ALLOCMON_L1, 65536, 1482752, 2, &layout);
  printf("flush %d\n", allocmon_flush(5000));
  fflush(stdout);
  getchar(); /* hold the buffer until told to exit */
  return 0;
}
