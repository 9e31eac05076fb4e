// A root's survey (manager/step_survey.h) as JSON and as words, shared by `ls` and `prune`.
#ifndef CAIRN_CLI_SURVEY_JSON_H_
#define CAIRN_CLI_SURVEY_JSON_H_

#include <string>

#include "cairn/manager/step_survey.h"
#include "nlohmann/json.hpp"

namespace cairn::cli {

const char* TemporaryKindName(TemporaryKind kind);
// "alive", "gone" or "on another host".
const char* WriterState(const SurveyedTemporary& temporary);
nlohmann::json LeaseToJson(const LeaseInfo& lease);
nlohmann::json StepToJson(const SurveyedStep& step);
nlohmann::json SurveyToJson(const std::string& root, const RootSurvey& survey);

}  // namespace cairn::cli

#endif  // CAIRN_CLI_SURVEY_JSON_H_
