#include "standin/request_log.h"

namespace amsha::standin {

void RequestLog::Add(const std::string& method, const std::string& path, const std::string& query,
                     int code, const std::string& content_type, const std::string& body,
                     const std::string& verb, const std::string& resource,
                     const std::string& user_agent) {
  Json e = Json::object();
  e["tsMs"] = Json::number(static_cast<int64_t>(NowUnixMs()));
  e["method"] = Json::string(method);
  e["path"] = Json::string(path);
  e["query"] = Json::string(query);
  e["code"] = Json::number(code);
  e["contentType"] = Json::string(content_type);
  e["body"] = Json::string(body);
  e["verb"] = Json::string(verb);
  e["resource"] = Json::string(resource);
  e["userAgent"] = Json::string(user_agent);
  std::lock_guard<std::mutex> lock(mu_);
  ++by_verb_[verb];
  ++by_verb_resource_[verb + " " + resource];
  entries_.push_back(std::move(e));
  if (entries_.size() > capacity_) entries_.pop_front();
}

Json RequestLog::ToJson() {
  std::lock_guard<std::mutex> lock(mu_);
  Json out = Json::array();
  size_t i = 0;
  for (const auto& e : entries_) out[i++] = e;
  return out;
}

Json RequestLog::CountsJson() {
  std::lock_guard<std::mutex> lock(mu_);
  Json out = Json::object();
  Json verbs = Json::object();
  for (const auto& [k, n] : by_verb_) verbs[k] = Json::number(n);
  Json pairs = Json::object();
  for (const auto& [k, n] : by_verb_resource_) pairs[k] = Json::number(n);
  out["byVerb"] = verbs;
  out["byVerbResource"] = pairs;
  return out;
}

void RequestLog::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
}

}  // namespace amsha::standin
