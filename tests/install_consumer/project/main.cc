// A program outside cairn's tree that uses the installed headers and library.
#include <cstdio>

#include "cairn/storage/pytree_store.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  cairn::Tree tree = cairn::Tree::Dict();
  tree.Set("w", cairn::Tree::FromArray(cairn::Array::FromValues<float>({1, 2, 3})));
  absl::Status saved = cairn::SaveTree(argv[1], tree);
  absl::StatusOr<cairn::Tree> loaded = cairn::LoadTree(argv[1]);
  if (!saved.ok() || !loaded.ok() || loaded->Find("w")->array().values<float>()[2] != 3) {
    std::fprintf(stderr, "round trip failed\n");
    return 1;
  }
  return 0;
}
