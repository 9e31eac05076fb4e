#include "survey_json.h"

#include "output.h"

namespace cairn::cli {

const char* TemporaryKindName(TemporaryKind kind) {
  switch (kind) {
    case TemporaryKind::kInProgress:
      return "save in progress";
    case TemporaryKind::kReplaced:
      return "replaced checkpoint";
    case TemporaryKind::kDeleting:
      return "step being deleted";
  }
  return "unknown";
}

const char* WriterState(const SurveyedTemporary& temporary) {
  if (!temporary.writer_alive) return "on another host";
  return *temporary.writer_alive ? "alive" : "gone";
}

nlohmann::json LeaseToJson(const LeaseInfo& lease) {
  nlohmann::json json = {{"file", lease.file_name}, {"live", lease.live}};
  json["host"] = lease.host ? nlohmann::json(*lease.host) : nlohmann::json();
  json["pid"] = lease.pid ? nlohmann::json(*lease.pid) : nlohmann::json();
  json["acquired"] = lease.acquired ? nlohmann::json(JsonTime(*lease.acquired)) : nlohmann::json();
  json["expires"] = lease.expires ? nlohmann::json(JsonTime(*lease.expires)) : nlohmann::json();
  return json;
}

nlohmann::json StepToJson(const SurveyedStep& step) {
  nlohmann::json leases = nlohmann::json::array();
  for (const LeaseInfo& lease : step.leases) leases.push_back(LeaseToJson(lease));
  return {{"step", step.info.step},       {"path", step.path},
          {"bytes", step.bytes},          {"commit_time", JsonTime(step.info.time)},
          {"metrics", step.info.metrics}, {"latest", step.latest},
          {"leased", step.leased},        {"leases", leases},
          {"kept_by", step.kept_by},      {"retire", step.retire}};
}

nlohmann::json SurveyToJson(const std::string& root, const RootSurvey& survey) {
  nlohmann::json steps = nlohmann::json::array();
  for (const SurveyedStep& step : survey.steps) steps.push_back(StepToJson(step));
  nlohmann::json temporaries = nlohmann::json::array();
  for (const SurveyedTemporary& temporary : survey.temporaries) {
    temporaries.push_back({{"name", temporary.name},
                           {"kind", TemporaryKindName(temporary.parsed.kind)},
                           {"final_name", temporary.parsed.final_name},
                           {"pid", temporary.parsed.pid},
                           {"host", temporary.parsed.host},
                           {"writer", WriterState(temporary)}});
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const SkippedStepName& name : survey.skipped) {
    skipped.push_back({{"name", name.name}, {"reason", name.reason}});
  }
  return {{"root", root}, {"steps", steps}, {"temporaries", temporaries}, {"skipped", skipped}};
}

}  // namespace cairn::cli
