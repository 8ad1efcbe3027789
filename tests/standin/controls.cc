#include "standin/controls.h"

#include <algorithm>

namespace amsha::standin {

Controls::Controls(std::string token) : token_(std::move(token)) {}

bool Controls::TokenValid(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (token == token_) return true;
  auto it = old_tokens_.find(token);
  return it != old_tokens_.end() && Clock::now() < it->second;
}

void Controls::RotateToken(const std::string& token, std::chrono::seconds grace) {
  std::lock_guard<std::mutex> lock(mu_);
  if (token == token_) return;
  old_tokens_[token_] = Clock::now() + grace;
  old_tokens_.erase(token);
  token_ = token;
}

std::string Controls::CurrentToken() {
  std::lock_guard<std::mutex> lock(mu_);
  return token_;
}

void Controls::AddFault(const Fault& fault) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(fault);
}

void Controls::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

std::optional<Fault> Controls::TakeFault(const std::string& method, const std::string& path,
                                         bool watch) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->method != "*" && it->method != method) continue;
    if (path.compare(0, it->path_prefix.size(), it->path_prefix) != 0) continue;
    if (it->watch.has_value() && *it->watch != watch) continue;
    Fault taken = *it;
    if (it->count > 0 && --it->count == 0) faults_.erase(it);
    return taken;
  }
  return std::nullopt;
}

void Controls::AddForbid(const ForbidRule& rule) {
  std::lock_guard<std::mutex> lock(mu_);
  forbids_.push_back(rule);
}

void Controls::ClearForbids() {
  std::lock_guard<std::mutex> lock(mu_);
  forbids_.clear();
}

void Controls::SetRole(const std::string& ns, std::vector<RoleRule> rules) {
  std::lock_guard<std::mutex> lock(mu_);
  role_ = std::make_pair(ns, std::move(rules));
}

void Controls::ClearRole() {
  std::lock_guard<std::mutex> lock(mu_);
  role_.reset();
}

namespace {

bool Has(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// RBAC's rule match (plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows, with
// pkg/apis/rbac/v1/evaluation_helpers.go VerbMatches, ResourceMatches and
// ResourceNameMatches): resourceNames restrict a rule to requests that name
// one of them, so a list or watch of the whole collection (no name) is never
// granted by a rule with resourceNames.
bool RuleAllows(const RoleRule& rule, const std::string& verb, const std::string& resource,
                const std::string& name) {
  if (!Has(rule.verbs, "*") && !Has(rule.verbs, verb)) return false;
  if (!Has(rule.resources, "*") && !Has(rule.resources, resource)) return false;
  return rule.resource_names.empty() || Has(rule.resource_names, name);
}

}  // namespace

std::optional<ForbidRule> Controls::Forbidden(const std::string& verb, const std::string& resource,
                                              const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& r : forbids_) {
    if ((r.verb == "*" || r.verb == verb) && (r.resource == "*" || r.resource == resource) &&
        (r.ns.empty() || r.ns == ns)) {
      return r;
    }
  }
  if (!role_) return std::nullopt;
  // A Role grants only in its own namespace (never across namespaces or at
  // the cluster scope).
  if (ns == role_->first) {
    for (const RoleRule& rule : role_->second) {
      if (RuleAllows(rule, verb, resource, name)) return std::nullopt;
    }
  }
  return ForbidRule{verb, resource, ns, ""};
}

void Controls::SetLatency(std::chrono::milliseconds latency) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_ = latency;
}

std::chrono::milliseconds Controls::Latency() {
  std::lock_guard<std::mutex> lock(mu_);
  return latency_;
}

void Controls::Pause(double seconds) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_until_ =
        seconds > 0 ? Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000))
                    : Clock::time_point{};
  }
  pause_cv_.notify_all();
}

bool Controls::Paused() {
  std::lock_guard<std::mutex> lock(mu_);
  return Clock::now() < paused_until_;
}

void Controls::WaitWhilePaused() {
  std::unique_lock<std::mutex> lock(mu_);
  while (Clock::now() < paused_until_) pause_cv_.wait_until(lock, paused_until_);
}

}  // namespace amsha::standin
