// A program outside cairn's tree that uses the installed headers and library: the store, and a
// Checkpointer saving asynchronously and loading back.
#include <cstdio>
#include <string>

#include "cairn/manager/checkpointer.h"
#include "cairn/storage/pytree_store.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  cairn::Tree tree = cairn::Tree::Dict();
  tree.Set("w", cairn::Tree::FromArray(cairn::Array::FromValues<float>({1, 2, 3})));
  absl::Status saved = cairn::SaveTree(dir + "/tree", tree);
  absl::StatusOr<cairn::Tree> loaded = cairn::LoadTree(dir + "/tree");
  if (!saved.ok() || !loaded.ok() || loaded->Find("w")->array().values<float>()[2] != 3) {
    std::fprintf(stderr, "store round trip failed\n");
    return 1;
  }

  cairn::CheckpointerOptions options;
  options.max_to_keep = 1;
  absl::StatusOr<std::unique_ptr<cairn::Checkpointer>> ckpt =
      cairn::Checkpointer::Create(dir + "/run", options);
  if (!ckpt.ok()) return 1;
  for (int64_t step = 0; step < 3; ++step) {
    absl::StatusOr<cairn::SaveFuture> future = (*ckpt)->SaveAsync(step, tree);
    if (!future.ok() || !future->Wait().ok()) return 1;
  }
  if (!(*ckpt)->Close().ok() || (*ckpt)->AllSteps() != std::vector<int64_t>{2} ||
      !(*ckpt)->Load(2).ok()) {
    std::fprintf(stderr, "checkpointer round trip failed\n");
    return 1;
  }
  return 0;
}
