#include "cairn/manager/step_survey.h"

#include <algorithm>
#include <set>
#include <utility>

#include "cairn/manager/internal/retention.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Bytes of every regular file below `dir`; symlinks are not followed.
absl::StatusOr<uint64_t> TreeBytes(Filesystem& fs, const std::string& dir) {
  uint64_t total = 0;
  CAIRN_ASSIGN_OR_RETURN(const std::vector<DirEntry> entries, fs.ListDirEntries(dir));
  for (const DirEntry& entry : entries) {
    const std::string path = JoinPath(dir, entry.name);
    if (entry.type == FileInfo::Type::kDirectory) {
      absl::StatusOr<uint64_t> below = TreeBytes(fs, path);
      if (absl::IsNotFound(below.status())) continue;  // removed meanwhile (a released lease)
      CAIRN_RETURN_IF_ERROR(below.status());
      total += *below;
    } else if (entry.type == FileInfo::Type::kFile) {
      absl::StatusOr<FileInfo> info = fs.Stat(path);
      if (absl::IsNotFound(info.status())) continue;
      CAIRN_RETURN_IF_ERROR(info.status());
      total += info->size;
    }
  }
  return total;
}

}  // namespace

absl::StatusOr<RootSurvey> SurveyRoot(const std::string& named_root, const SurveyOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string root, ResolveRoot(fs, named_root));
  RootSurvey survey;
  StepListingOptions listing;
  listing.name_format = options.name_format;
  listing.commit_mode = options.commit_mode;
  listing.filesystem = &fs;
  listing.skipped = &survey.skipped;
  CAIRN_ASSIGN_OR_RETURN(const std::vector<int64_t> steps, ListSteps(root, listing));

  std::vector<StepInfo> infos;
  for (int64_t step : steps) {
    SurveyedStep surveyed;
    surveyed.path = StepPath(root, step, *options.name_format);
    CAIRN_ASSIGN_OR_RETURN(surveyed.info, internal::ReadStepInfo(fs, surveyed.path, step));
    if (options.sizes) {
      CAIRN_ASSIGN_OR_RETURN(surveyed.bytes, TreeBytes(fs, surveyed.path));
    }
    CAIRN_ASSIGN_OR_RETURN(surveyed.leases, ListLeases(surveyed.path, &fs));
    surveyed.leased = std::any_of(surveyed.leases.begin(), surveyed.leases.end(),
                                  [](const LeaseInfo& lease) { return lease.live; });
    infos.push_back(surveyed.info);
    survey.steps.push_back(std::move(surveyed));
  }
  if (!survey.steps.empty()) survey.steps.back().latest = true;

  if (!options.policies.empty()) {
    for (const NamedPolicy& named : options.policies) {
      const std::set<int64_t> kept = named.policy->Keep(infos, options.now);
      for (SurveyedStep& step : survey.steps) {
        if (kept.count(step.info.step)) step.kept_by.push_back(named.name);
      }
    }
    std::vector<std::shared_ptr<const PreservationPolicy>> policies;
    for (const NamedPolicy& named : options.policies) policies.push_back(named.policy);
    const std::vector<int64_t> retire =
        internal::StepsToRetire(infos, policies, options.may_retire_latest, options.now);
    const std::set<int64_t> retired(retire.begin(), retire.end());
    for (SurveyedStep& step : survey.steps) {
      step.retire = retired.count(step.info.step) && !step.leased;
    }
  }

  CAIRN_ASSIGN_OR_RETURN(const std::vector<DirEntry> entries, fs.ListDirEntries(root));
  for (const DirEntry& entry : entries) {
    if (entry.type != FileInfo::Type::kDirectory) continue;
    std::optional<TemporaryName> parsed = ParseTemporaryName(entry.name);
    if (!parsed) continue;
    SurveyedTemporary temporary{entry.name, *parsed, std::nullopt};
    if (parsed->host == HostName()) temporary.writer_alive = ProcessAlive(parsed->pid);
    survey.temporaries.push_back(std::move(temporary));
  }
  std::sort(survey.temporaries.begin(), survey.temporaries.end(),
            [](const SurveyedTemporary& a, const SurveyedTemporary& b) { return a.name < b.name; });
  return survey;
}

}  // namespace cairn
