// Controls: the knobs the admin API turns to make the Kubernetes API
// misbehave on purpose: bearer tokens (with rotation grace), injected faults,
// RBAC denials, added latency and a full pause.
// Callers: the admin handler sets them; the API handler and the watch loop
// consult them on every request. Thread-safe.
#ifndef AMS_HA_TESTS_STANDIN_CONTROLS_H_
#define AMS_HA_TESTS_STANDIN_CONTROLS_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace amsha::standin {

struct Fault {
  std::string method = "*";  // GET, PATCH, POST, PUT, DELETE or *
  std::string path_prefix;
  std::optional<bool> watch;  // nullopt: watches and plain requests alike
  int count = 1;              // < 0: until cleared
  int code = 500;
  std::string reason = "InternalError";
  int retry_after_seconds = 0;
};

// One rule of a namespaced Role in the core API group, as RBAC reads it.
struct RoleRule {
  std::vector<std::string> verbs;           // "*" matches every verb
  std::vector<std::string> resources;       // "*" matches every resource
  std::vector<std::string> resource_names;  // empty: any name
};

struct ForbidRule {
  std::string verb;      // get, list, watch, create, update, patch, delete or *
  std::string resource;  // pods, services, events or *
  std::string ns;        // "" = every namespace
  std::string user;      // the user named in the message
};

class Controls {
 public:
  explicit Controls(std::string token);

  bool TokenValid(const std::string& token);
  // `token` works at once; the previous one keeps working for `grace`.
  void RotateToken(const std::string& token, std::chrono::seconds grace);
  std::string CurrentToken();

  void AddFault(const Fault& fault);
  void ClearFaults();
  // The first matching fault, counted down; nullopt when none matches.
  std::optional<Fault> TakeFault(const std::string& method, const std::string& path, bool watch);

  void AddForbid(const ForbidRule& rule);
  void ClearForbids();
  // From now on a request is allowed only when one of `rules` grants it in
  // namespace `ns` (as RBAC authorizes with a Role bound to the caller); a
  // denial added with AddForbid still wins. ClearRole goes back to allowing
  // everything not denied.
  void SetRole(const std::string& ns, std::vector<RoleRule> rules);
  void ClearRole();
  // `name`: the object's name for get/patch/update/delete, the fieldSelector's
  // metadata.name for a list or watch of one object, else empty.
  std::optional<ForbidRule> Forbidden(const std::string& verb, const std::string& resource,
                                      const std::string& ns, const std::string& name = "");

  void SetLatency(std::chrono::milliseconds latency);
  std::chrono::milliseconds Latency();

  // seconds <= 0 resumes at once.
  void Pause(double seconds);
  bool Paused();
  // Blocks while paused (returns at once otherwise).
  void WaitWhilePaused();

 private:
  using Clock = std::chrono::steady_clock;

  std::mutex mu_;
  std::condition_variable pause_cv_;
  std::string token_;
  std::map<std::string, Clock::time_point> old_tokens_;  // token -> valid until
  std::vector<Fault> faults_;
  std::vector<ForbidRule> forbids_;
  std::optional<std::pair<std::string, std::vector<RoleRule>>> role_;  // namespace, rules
  std::chrono::milliseconds latency_{0};
  Clock::time_point paused_until_{};
};

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_CONTROLS_H_
