#include "cairn/utils/filesystem_kind.h"

#include <errno.h>
#include <string.h>
#include <sys/vfs.h>

#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

struct KnownKind {
  int64_t magic;
  const char* name;
  bool notifies_all_changes;
};

// From linux/magic.h and the filesystems' own sources; several are not in that header.
constexpr KnownKind kKnownKinds[] = {
    // Local: every change goes through this kernel.
    {0xEF53, "ext4", true},
    {0x58465342, "xfs", true},
    {0x9123683E, "btrfs", true},
    {0x01021994, "tmpfs", true},
    {0x794C7630, "overlayfs", true},
    {0x2FC12FC1, "zfs", true},
    {0xF2F52010, "f2fs", true},
    {0x4D44, "vfat", true},
    {0x2011BAB0, "exfat", true},
    {0x5346544E, "ntfs", true},
    {0x3153464A, "jfs", true},
    {0x52654973, "reiserfs", true},
    {0x858458F6, "ramfs", true},
    {0x9660, "iso9660", true},
    {0x73717368, "squashfs", true},
    {0x24051905, "ubifs", true},
    {0xE0F5E1E2, "erofs", true},
    // Network and cluster filesystems: other machines' writes raise no event here.
    {0x6969, "nfs", false},
    {0x517B, "smb", false},
    {0xFF534D42, "cifs", false},
    {0xFE534D42, "smb2", false},
    {0x00C36400, "ceph", false},
    {0x5346414F, "afs", false},
    {0x6B414653, "kafs", false},
    {0x73757245, "coda", false},
    {0x01021997, "9p", false},
    {0x0BD00BD0, "lustre", false},
    {0x47504653, "gpfs", false},
    {0x7461636F, "ocfs2", false},
    {0x01161970, "gfs2", false},
    {0x20030528, "orangefs", false},
    {0x19830326, "beegfs", false},
    {0xAAD7AAEA, "panfs", false},
    {0x564C, "ncp", false},
    {0x786F4256, "vboxsf", false},
    // FUSE: object-store mounts (gcsfuse, s3fs), sshfs, glusterfs; the server decides.
    {0x65735546, "fuse", false},
    // Contents made up by the kernel: no events for them.
    {0x9FA0, "proc", false},
    {0x62656572, "sysfs", false},
};

}  // namespace

absl::StatusOr<FilesystemKind> FilesystemKindOf(const std::string& path) {
  struct statfs info;
  if (::statfs(path.c_str(), &info) != 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("statfs ", path));
  }
  FilesystemKind kind;
  // f_type is a signed word on some ABIs; magic numbers are 32-bit.
  kind.magic = static_cast<int64_t>(static_cast<uint32_t>(info.f_type));
  for (const KnownKind& known : kKnownKinds) {
    if (known.magic == kind.magic) {
      kind.name = known.name;
      kind.notifies_all_changes = known.notifies_all_changes;
      return kind;
    }
  }
  // An unknown type is most likely a local one (new local filesystems appear more often than
  // network ones); polling remains the backstop either way.
  kind.name = absl::StrCat("0x", absl::Hex(kind.magic));
  return kind;
}

}  // namespace cairn
