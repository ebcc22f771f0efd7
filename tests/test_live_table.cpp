// The client's live table against std::unordered_map as the reference: random inserts, duplicate inserts,
// erases of present and absent buffers, device removal, growth and shrinking; and the server's table beside
// it.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <unordered_map>

#include "client/live_table.hpp"
#include "protocol/buffer_key.hpp"
#include "server/buffer_table.hpp"

using allocmon::client::LiveTable;
using allocmon::wire::BufferKey;
using allocmon::wire::BufferKeyHash;
using allocmon::wire::Event;

TEST(LiveTable, BehavesAsAMapUnderRandomTraffic) {
  LiveTable table;
  std::unordered_map<BufferKey, uint64_t, BufferKeyHash> reference;
  std::mt19937_64 random(42);
  for (int step = 0; step < 400000; ++step) {
    const int32_t device = static_cast<int32_t>(random() % 4);
    // A small id space (collisions, re-inserts), and phases that grow to ~50 000 live buffers then drain.
    const uint64_t id = random() % (step < 200000 ? 100000 : 20000);
    const bool alloc = (step / 50000) % 2 == 0 ? random() % 4 != 0 : random() % 4 == 0;
    if (alloc) {
      Event e{id, id * 3, id * 64, device, 1, 0, 0, 0, 0, 0};
      const bool inserted = table.insert(e);
      EXPECT_EQ(inserted, reference.emplace(BufferKey{device, id}, id * 3).second) << step;
    } else {
      EXPECT_EQ(table.erase(device, id), reference.erase({device, id}) == 1) << step;
    }
    if (step % 10007 == 0) {
      ASSERT_EQ(table.size(), reference.size());
      size_t seen = 0;
      table.for_each([&](const Event& e) {
        ++seen;
        auto it = reference.find({e.device_id, e.buffer_id});
        ASSERT_NE(it, reference.end());
        EXPECT_EQ(e.size, it->second);
      });
      EXPECT_EQ(seen, reference.size());
    }
  }
  table.erase_device(2);
  std::erase_if(reference, [](const auto& entry) { return entry.first.device_id == 2; });
  EXPECT_EQ(table.size(), reference.size());
  for (const auto& [key, size] : reference) EXPECT_TRUE(table.contains(key.device_id, key.buffer_id));
  EXPECT_FALSE(table.contains(2, 1));
  table.clear();
  EXPECT_TRUE(table.empty());
}

TEST(BufferTable, BehavesAsAMapAndKeepsEntriesInPlaceBetweenRebuilds) {
  allocmon::server::BufferTable<uint64_t> table;
  std::unordered_map<BufferKey, uint64_t, BufferKeyHash> reference;
  std::mt19937_64 random(7);
  for (int step = 0; step < 300000; ++step) {
    const BufferKey key{static_cast<int32_t>(random() % 3), random() % 50000};
    if ((step / 40000) % 2 == 0 ? random() % 3 != 0 : random() % 3 == 0) {
      EXPECT_EQ(table.try_emplace(key, key.buffer_id * 5).second,
                reference.emplace(key, key.buffer_id * 5).second);
    } else {
      EXPECT_EQ(table.erase(key), reference.erase(key) == 1);
    }
    if (step % 9973 == 0) {
      ASSERT_EQ(table.size(), reference.size());
      size_t seen = 0;
      for (const auto& [k, v] : table) {
        ++seen;
        ASSERT_EQ(reference.at(k), v);
      }
      EXPECT_EQ(seen, reference.size());
    }
  }
  // Entries stay in their slots until the generation changes: what a leak stream relies on.
  const uint64_t generation = table.generation();
  std::vector<std::pair<size_t, BufferKey>> where;
  for (size_t i = 0; i < table.slot_count(); ++i)
    if (const auto* s = table.slot(i)) where.emplace_back(i, s->first);
  size_t erased = 0;
  for (const auto& [i, key] : where)
    if (erased < where.size() / 3 && key.buffer_id % 2) erased += table.erase(key);
  if (table.generation() == generation)
    for (const auto& [i, key] : where)
      if (table.find(key)) {
        ASSERT_NE(table.slot(i), nullptr);
        EXPECT_EQ(table.slot(i)->first, key);
      }
  size_t removed = 0;
  table.remove_if([](const BufferKey& k, const uint64_t&) { return k.device_id == 1; },
                  [&](const BufferKey&, const uint64_t&) { ++removed; });
  for (const auto& [k, v] : table) EXPECT_NE(k.device_id, 1);
  EXPECT_GT(removed, 0u);
  EXPECT_NE(table.generation(), generation);
}

// A client's resync sends its live table in slot order. Were the server's table hashed like the client's,
// those keys would fill its slots front to back and then pile into one run: 1.2 M of them probed up to
// ~59,000 slots (10 M took the server over ten minutes). Each server table hashes with its own seed instead.
TEST(BufferTable, KeysInAClientTablesSlotOrderDoNotPileUp) {
  LiveTable client;
  for (uint64_t id = 1; id <= 1200000; ++id) {
    Event alloc{};
    alloc.device_id = static_cast<int32_t>(id % 8);
    alloc.buffer_id = id;
    client.insert(alloc);
  }
  allocmon::server::BufferTable<uint64_t> server;
  size_t inserted = 0, longest = 0;
  client.for_each([&](const Event& e) {
    server.try_emplace({e.device_id, e.buffer_id}, e.buffer_id);
    if (++inserted % 50000 == 0) longest = std::max(longest, server.longest_probe());
  });
  EXPECT_EQ(server.size(), 1200000u);
  EXPECT_LT(longest, 1000u);  // random keys at this load: tens to ~150
}

// Keys a client could line up against any fixed hash of (id, device): here every key has the same value of
// the client table's own mix, id * G ^ device * C, one per device over 20,000 devices. The server's table
// draws a multiplier for each field, so they spread as any keys do.
TEST(BufferTable, KeysLinedUpAgainstAFixedHashDoNotPileUp) {
  constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull, kDeviceMix = 0xC2B2AE3D27D4EB4Full;
  uint64_t inverse = kGolden;  // Newton's iteration for kGolden's inverse modulo 2^64
  for (int i = 0; i < 5; ++i) inverse *= 2 - kGolden * inverse;
  ASSERT_EQ(kGolden * inverse, 1u);
  allocmon::server::BufferTable<uint64_t> server;
  const uint64_t target = 0x1234567890ABCDEFull;
  size_t longest = 0;
  for (uint32_t device = 0; device < 20000; ++device) {
    const uint64_t id =
        (target ^ device * kDeviceMix) * inverse;  // id * kGolden ^ device * kDeviceMix == target
    ASSERT_TRUE(server.try_emplace({static_cast<int32_t>(device), id}, id).second);
    if (device % 1000 == 999) longest = std::max(longest, server.longest_probe());
  }
  EXPECT_LT(longest, 200u);  // all 20,000 in one run with the pre-hash the table used before
}
