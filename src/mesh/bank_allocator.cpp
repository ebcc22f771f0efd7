#include "bank_allocator.hpp"

namespace allocmon::mesh {

namespace {
uint64_t round_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}
}  // namespace

BankAllocator::BankAllocator(std::string type_name, uint32_t banks, uint64_t base, uint64_t bank_size,
                             uint32_t page_alignment, uint32_t block_alignment, bool bottom_up_by_default)
    : type_name_(std::move(type_name)),
      banks_(banks),
      page_alignment_(page_alignment),
      bottom_up_(bottom_up_by_default),
      free_list_(base, bank_size, block_alignment) {}

namespace {
// Sizes come from traces and clients: saturate instead of wrapping, so an absurd request is simply too big.
constexpr uint64_t kTooBig = uint64_t{1} << 62;
}  // namespace

uint64_t BankAllocator::aligned_size_per_bank(uint64_t size, uint64_t page_size, uint32_t banks) const {
  if (banks == 0) banks = banks_;
  const uint64_t pages = size / page_size + (size % page_size != 0);
  const uint64_t pages_per_bank = pages / banks + (pages % banks != 0);
  const uint64_t aligned_page = page_size >= kTooBig ? kTooBig : round_up(page_size, page_alignment_);
  uint64_t per_bank = 0;
  if (__builtin_mul_overflow(pages_per_bank, aligned_page, &per_bank) || per_bank >= kTooBig) return kTooBig;
  return per_bank;
}

uint64_t BankAllocator::block_per_bank(uint64_t size, uint64_t page_size, uint32_t banks) const {
  const uint64_t per_bank = aligned_size_per_bank(size, page_size, banks);
  return per_bank >= kTooBig ? kTooBig : round_up(per_bank, free_list_.alignment());
}

Placement BankAllocator::allocate(uint64_t size, uint64_t page_size, std::optional<bool> bottom_up,
                                  uint32_t shard_count) {
  if (page_size == 0 || size % page_size != 0)
    throw std::invalid_argument("buffer size " + std::to_string(size) +
                                " B is not a multiple of the page size " + std::to_string(page_size) + " B");
  if (shard_count > banks_)
    throw std::invalid_argument("a " + type_name_ + " buffer sharded over " + std::to_string(shard_count) +
                                " cores, but there are only " + std::to_string(banks_) + " " + type_name_ +
                                " banks");
  const uint32_t banks = shard_count ? shard_count : banks_;
  const uint64_t per_bank = block_per_bank(size, page_size, banks);
  auto address = free_list_.allocate(per_bank, bottom_up.value_or(bottom_up_));
  if (!address) {
    const FreeListStats s = free_list_.stats();
    throw OutOfMemory(
        "Out of Memory: Not enough space to allocate " + std::to_string(size) + " B " + type_name_ +
        " buffer across " + std::to_string(banks) + " banks, where each bank needs to store " +
        std::to_string(per_bank) + " B, but bank size is " + std::to_string(free_list_.size()) +
        " B (allocated: " + std::to_string(s.allocated) + " B, free: " + std::to_string(s.free) +
        " B, largest free block: " + std::to_string(s.largest_free_block) + " B)");
  }
  return Placement{*address, aligned_size_per_bank(size, page_size, banks), per_bank, banks};
}

}  // namespace allocmon::mesh
