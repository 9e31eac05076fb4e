// The C++ side of the comparison suite (bench/suite/run_suite.py drives it): holds the states
// in memory and times cairn and the raw baseline on them, one JSON request per line on stdin,
// one JSON answer per line on stdout.
//
//   {"op": "prepare", "seed": 1, "export_dir": D}   build the states, export them for the peers
//   {"op": "uniform", "mib": 100, "leaves": 1000}   build a state of equal float32 leaves
//   {"op": "run", "lib": "cairn"|"raw", "action": "save"|"load"|"partial", "state": NAME,
//    "path": P, "compress": false, "leaf": "params/layer3/mlp_in"}      -> {"seconds": s}
//   {"op": "async", "state": NAME, "path": P, "saves": 6}
//                                            -> {"first": s, "steady": s, "memcpy": s}
//   {"op": "limits", "state": NAME, "prime_bytes": N}   the machine's memory limits for the
//                                 state's bytes, each first touch primed as by "prime" with N
//                                            -> {"memcpy": s, "touch": s, "touch_huge": s}
//   {"op": "prime", "bytes": N}   touches N bytes of fresh memory and frees them, so that the
//                                 next operation's fresh pages are ones the host still backs
//                                 (docs/BENCHMARKS.md, "Fresh memory on this virtual machine")
//                                            -> {"seconds": s}
// Actions beyond save, load and partial: "load_mapped" for cairn (map_arrays), "load_into" for
// cairn (into buffers of the state's shape made and touched once, kept with the state), and
// "pread" for raw (its file into touched memory; with "leaf", that leaf's bytes alone).
// Errors answer {"error": "..."}.
#include <malloc.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/suite/cairn_ops.h"
#include "bench/suite/raw_io.h"
#include "bench/suite/training_state.h"
#include "nlohmann/json.hpp"

namespace cairn::bench {
namespace {

using Json = nlohmann::json;

class Worker {
 public:
  Json Handle(const Json& request) {
    const std::string op = request.value("op", "");
    if (op == "prepare") return Prepare(request);
    if (op == "uniform") {
      BenchState state = MakeUniformState(request.at("mib").get<uint64_t>() << 20,
                                          request.at("leaves").get<int>(), 7);
      Json answer = Describe(state);
      destinations_.erase(state.name);
      states_.erase(state.name);
      states_.emplace(state.name, std::move(state));
      return answer;
    }
    if (op == "drop") {
      destinations_.erase(request.at("state").get<std::string>());
      states_.erase(request.at("state").get<std::string>());
      return Json::object();
    }
    if (op == "run") return Run(request);
    if (op == "async") return Async(request);
    if (op == "limits") return Limits(request);
    if (op == "prime") {
      absl::StatusOr<double> seconds = FirstTouchSeconds(request.at("bytes").get<uint64_t>(), true);
      if (!seconds.ok()) return Json{{"error", seconds.status().ToString()}};
      return Json{{"seconds", *seconds}};
    }
    return Json{{"error", absl::StrCat("unknown op '", op, "'")}};
  }

 private:
  static Json Describe(const BenchState& state) {
    return Json{{"name", state.name}, {"leaves", state.leaves.size()}, {"bytes", state.bytes}};
  }

  Json Prepare(const Json& request) {
    const uint64_t seed = request.value("seed", uint64_t{1});
    const std::string dir = request.at("export_dir");
    Json answer = Json::object();
    for (int which = 0; which < 2; ++which) {
      BenchState state = which == 0 ? MakeTrainingState(seed) : MakeBfloat16Weights(seed + 1000);
      absl::Status exported = ExportState(state, dir);
      if (!exported.ok()) return Json{{"error", exported.ToString()}};
      answer[state.name] = Describe(state);
      destinations_.erase(state.name);
      states_.erase(state.name);
      states_.emplace(state.name, std::move(state));
    }
    return answer;
  }

  const BenchState* Find(const Json& request) const {
    auto it = states_.find(request.at("state").get<std::string>());
    return it == states_.end() ? nullptr : &it->second;
  }

  static absl::StatusOr<size_t> LeafIndex(const BenchState& state, const std::string& path) {
    for (size_t i = 0; i < state.leaves.size(); ++i) {
      if (state.leaves[i].path == path) return i;
    }
    return absl::NotFoundError(absl::StrCat("no leaf ", path, " in ", state.name));
  }

  Json Run(const Json& request) const {
    const BenchState* state = Find(request);
    if (state == nullptr) return Json{{"error", "unknown state"}};
    const std::string lib = request.at("lib");
    const std::string action = request.at("action");
    const std::string path = request.at("path");
    const bool compress = request.value("compress", false);
    absl::StatusOr<double> seconds = absl::InvalidArgumentError(
        absl::StrCat("no ", action, compress ? " compressed" : "", " for ", lib));
    if (action == "partial") {
      absl::StatusOr<size_t> leaf = LeafIndex(*state, request.at("leaf"));
      if (!leaf.ok()) return Json{{"error", leaf.status().ToString()}};
      if (lib == "cairn") seconds = CairnPartialLoad(*state, path, *leaf);
      if (lib == "raw") seconds = RawPartialLoad(*state, path, *leaf);
    } else if (lib == "cairn") {
      if (action == "save") seconds = CairnSave(*state, path, compress);
      if (action == "load") seconds = CairnLoad(*state, path);
      if (action == "load_mapped") seconds = CairnLoad(*state, path, /*mapped=*/true);
      if (action == "load_into") seconds = CairnLoadInto(*state, path, Destinations(*state));
    } else if (lib == "raw" && action == "pread") {
      int leaf = -1;
      if (request.contains("leaf")) {
        absl::StatusOr<size_t> index = LeafIndex(*state, request.at("leaf"));
        if (!index.ok()) return Json{{"error", index.status().ToString()}};
        leaf = static_cast<int>(*index);
      }
      seconds = PreadSeconds(*state, path, leaf);
    } else if (lib == "raw" && !compress) {
      if (action == "save") seconds = RawSave(*state, path);
      if (action == "load") seconds = RawLoad(*state, path);
    }
    if (!seconds.ok()) return Json{{"error", seconds.status().ToString()}};
    return Json{{"seconds", *seconds}};
  }

  // Made on first use and kept with the state: the first load into them is not the one timed
  // alone, since every later one reuses them.
  const LoadDestinations& Destinations(const BenchState& state) const {
    auto it = destinations_.find(state.name);
    if (it == destinations_.end()) {
      it = destinations_.emplace(state.name, std::make_unique<LoadDestinations>(state)).first;
    }
    return *it->second;
  }

  Json Async(const Json& request) const {
    const BenchState* state = Find(request);
    if (state == nullptr) return Json{{"error", "unknown state"}};
    absl::StatusOr<AsyncBlocking> blocking =
        CairnAsyncBlocking(*state, request.at("path"), request.value("saves", 6));
    if (!blocking.ok()) return Json{{"error", blocking.status().ToString()}};
    return Json{{"first", blocking->first},
                {"steady", blocking->steady},
                {"memcpy", MemcpySeconds(*state, 5)}};
  }

  Json Limits(const Json& request) const {
    const BenchState* state = Find(request);
    if (state == nullptr) return Json{{"error", "unknown state"}};
    Json answer = Json::object();
    const uint64_t prime_bytes = request.value("prime_bytes", uint64_t{0});
    for (const bool huge : {false, true}) {
      if (prime_bytes > 0) {
        absl::StatusOr<double> primed = FirstTouchSeconds(prime_bytes, true);
        if (!primed.ok()) return Json{{"error", primed.status().ToString()}};
      }
      absl::StatusOr<double> touch = FirstTouchSeconds(state->bytes, huge);
      if (!touch.ok()) return Json{{"error", touch.status().ToString()}};
      answer[huge ? "touch_huge" : "touch"] = *touch;
    }
    answer["memcpy"] = MemcpySeconds(*state, 1);
    return answer;
  }

  std::map<std::string, BenchState> states_;
  mutable std::map<std::string, std::unique_ptr<LoadDestinations>> destinations_;
};

int Main() {
  // Every large allocation is a fresh mapping, as in a process that has just started: loads
  // pay their page faults on both sides of every comparison (the peers' worker is run alike).
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  Worker worker;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    Json answer;
    try {
      const Json request = Json::parse(line);
      if (request.value("op", "") == "quit") break;
      answer = worker.Handle(request);
    } catch (const std::exception& e) {
      answer = Json{{"error", e.what()}};
    }
    std::cout << answer.dump() << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main() { return cairn::bench::Main(); }
