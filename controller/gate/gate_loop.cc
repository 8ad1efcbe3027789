#include "gate/gate_loop.h"

#include <signal.h>

#include <algorithm>

#include "common/logging.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;

constexpr int kReleaseAttempts = 3;
constexpr milliseconds kReleaseRetry{300};
// While waiting for a killed AMS to be reaped (SIGCHLD wakes sooner).
constexpr milliseconds kReapPoll{20};

const char* SignalName(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGKILL:
      return "SIGKILL";
    default:
      return "signal";
  }
}

}  // namespace

GateLoop::GateLoop(GateIdentity me, ClusterConfig cluster, GateConfig gate, Deps deps)
    : me_(me),
      cluster_(cluster),
      gate_(gate),
      deps_(deps),
      gate_step_(std::move(me), std::move(cluster), gate, deps.store, deps.clock) {}

void GateLoop::RequestStop(int signal) {
  int expected = 0;
  stop_signal_.compare_exchange_strong(expected, signal);
  deps_.notifier->Interrupt();
}

void GateLoop::Wake() { deps_.notifier->Interrupt(); }

void GateLoop::ReleaseRow() {
  for (int attempt = 1; gate_step_.HoldsRow(); ++attempt) {
    Status released = gate_step_.ReleaseRow();
    if (released.ok()) {
      Log(LogLevel::kInfo, "gate row released", {{"cluster", cluster_.name}});
      return;
    }
    if (released.IsConflict()) {
      Log(LogLevel::kInfo, "gate row already expired and taken over", {{"cluster", cluster_.name}});
      return;
    }
    if (attempt == kReleaseAttempts) {
      Log(LogLevel::kWarn, "cannot release the gate row; the next leader waits for it to expire",
          {{"cluster", cluster_.name}, {"error", released.ToString()}});
      return;
    }
    deps_.notifier->Wait(kReleaseRetry);
  }
}

int GateLoop::Finish(int code) {
  ReleaseRow();
  Log(LogLevel::kInfo, "gate exiting",
      {{"cluster", cluster_.name}, {"code", std::to_string(code)}});
  return code;
}

void GateLoop::Report(const GateDecision& decision) {
  std::string situation = decision.summary.substr(0, decision.summary.find(" ("));
  {
    std::lock_guard<std::mutex> lock(mu_);
    summary_ = decision.summary;
    if (decision.database_ok) last_database_ok_ = deps_.clock->Now();
  }
  if (situation == situation_) return;
  situation_ = situation;
  const bool trouble = decision.action == GateDecision::Action::kStopAms ||
                       !(decision.status.ok() || decision.status.IsConflict());
  LogLevel level = trouble ? LogLevel::kWarn : LogLevel::kInfo;
  Log(level, decision.summary, {{"cluster", cluster_.name}, {"pod", me_.pod_name}});
}

void GateLoop::ObserveAms(bool running) {
  using State = AmsReport::State;
  if (!running) {
    ams_report_.state = State::kStopped;
  } else if (ams_report_.state != State::kStopping && deps_.probe_ams) {
    const bool answered = deps_.probe_ams();
    probe_failures_ = answered ? 0 : probe_failures_ + 1;
    if (answered) {
      if (!ams_report_.serving_since) {
        ams_report_.serving_since = deps_.clock->Now();
        Log(LogLevel::kInfo, "AMS answers on its REST port",
            {{"cluster", cluster_.name}, {"port", std::to_string(cluster_.ports.rest)}});
      }
      ams_report_.state = State::kServing;
    } else if (ams_report_.serving_since &&
               probe_failures_ >= std::max(1, cluster_.probe.failure_threshold)) {
      if (ams_report_.state != State::kUnresponsive) {
        Log(LogLevel::kWarn, "AMS no longer answers on its REST port",
            {{"cluster", cluster_.name}, {"failures", std::to_string(probe_failures_)}});
      }
      ams_report_.state = State::kUnresponsive;
    }
  }
  gate_step_.ReportAms(ams_report_);
}

void GateLoop::BeginStop(int signal, bool fenced, const std::string& why) {
  const MonoTime now = deps_.clock->Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_sent_at_ = now;
  fenced_exit_ = fenced;
  ams_report_.state = AmsReport::State::kStopping;
  gate_step_.ReportAms(ams_report_);
  deps_.ams->Signal(signal);
  kill_sent_ = signal == SIGKILL;
  Log(fenced ? LogLevel::kWarn : LogLevel::kInfo, why,
      {{"cluster", cluster_.name},
       {"signal", SignalName(signal)},
       {"grace", kill_sent_ ? "none" : Seconds(gate_.stop_grace_period)}});
}

GateLoop::Pass GateLoop::StopPass() {
  Pass pass;
  const MonoTime now = deps_.clock->Now();
  if (!deps_.ams->Running()) {
    PublishFence(false);
    const int status = deps_.ams->ExitStatus().value_or(128 + SIGKILL);
    Log(fenced_exit_ ? LogLevel::kWarn : LogLevel::kInfo,
        fenced_exit_ ? "AMS stopped; restarting as a follower" : "AMS stopped",
        {{"cluster", cluster_.name}, {"status", std::to_string(status)}});
    pass.exit_code = Finish(fenced_exit_ ? kGateExitFenced : status);
    return pass;
  }
  if (!kill_sent_ && now - *stop_sent_at_ >= gate_.stop_grace_period) {
    kill_sent_ = true;
    deps_.ams->Signal(SIGKILL);
    Log(LogLevel::kWarn, "AMS did not stop within the grace: SIGKILL",
        {{"cluster", cluster_.name}, {"grace", Seconds(gate_.stop_grace_period)}});
  }
  if (kill_sent_) {
    pass.wait = kReapPoll;  // SIGCHLD wakes the loop sooner
    return pass;
  }
  // Keep the row while AMS stops: the successor waits for the grace, and
  // the fence deadline keeps moving as long as the database answers.
  ObserveAms(true);
  Status renewed = gate_step_.RenewRow();
  PublishFence(true);
  if (renewed.IsConflict()) {
    kill_sent_ = true;
    deps_.ams->Signal(SIGKILL);
    Log(LogLevel::kWarn,
        "the gate row is no longer this pod's while AMS stops: SIGKILL (another gate may start "
        "AMS)",
        {{"cluster", cluster_.name}});
    pass.wait = kReapPoll;
    return pass;
  }
  const milliseconds left =
      std::chrono::duration_cast<milliseconds>(*stop_sent_at_ + gate_.stop_grace_period - now);
  const milliseconds step =
      renewed.ok() ? gate_.renew_interval : std::max(gate_.renew_interval / 4, milliseconds(50));
  pass.wait = std::max(std::min(step, left), milliseconds(1));
  return pass;
}

GateLoop::Pass GateLoop::RunOnce() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_pass_ = deps_.clock->Now();
  }
  if (stop_sent_at_) return StopPass();
  Pass pass;
  const bool running = ams_started_ && deps_.ams->Running();
  if (int signal = stop_signal_.load()) {
    if (running) {
      BeginStop(signal, /*fenced=*/false, std::string("passing ") + SignalName(signal) + " to AMS");
      return StopPass();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    pass.exit_code = Finish(ams_started_ ? deps_.ams->ExitStatus().value_or(0) : 0);
    return pass;
  }
  if (ams_started_ && deps_.fence->Fired()) {
    // The fence killed AMS at its deadline while the loop was elsewhere.
    BeginStop(SIGKILL, /*fenced=*/true,
              "the gate row could not be renewed in time: AMS was killed at the fence deadline");
    return StopPass();
  }
  if (ams_started_ && !running) {
    PublishFence(false);
    int code = deps_.ams->ExitStatus().value_or(1);
    Log(code == 0 ? LogLevel::kInfo : LogLevel::kWarn, "AMS exited on its own",
        {{"cluster", cluster_.name}, {"status", std::to_string(code)}});
    pass.exit_code = Finish(code);
    return pass;
  }

  ObserveAms(running);
  GateDecision decision = gate_step_.Step(running);
  Report(decision);
  PublishFence(running);
  switch (decision.action) {
    case GateDecision::Action::kStartAms: {
      Status started = deps_.ams->Start();
      if (!started.ok()) {
        Log(LogLevel::kError, "cannot start AMS",
            {{"cluster", cluster_.name}, {"error", started.ToString()}});
        pass.exit_code = Finish(1);
        return pass;
      }
      ams_started_ = true;
      ams_report_ = AmsReport{AmsReport::State::kStarting, deps_.clock->Now(), std::nullopt};
      probe_failures_ = 0;
      gate_step_.ReportAms(ams_report_);
      PublishFence(true);
      Log(LogLevel::kInfo, "AMS started",
          {{"cluster", cluster_.name}, {"pid", std::to_string(deps_.ams->pid())}});
      break;
    }
    case GateDecision::Action::kStopAms:
      BeginStop(decision.kill_now ? SIGKILL : SIGTERM, /*fenced=*/true,
                decision.kill_now ? "killing AMS" : "stopping AMS");
      return StopPass();
    case GateDecision::Action::kNone:
      break;
  }
  // Right after a start, write amsStartedAtMs into the row at once.
  pass.wait =
      decision.action == GateDecision::Action::kStartAms ? milliseconds(0) : decision.next_step;
  return pass;
}

int GateLoop::Run() {
  int code = 0;
  while (true) {
    Pass pass = RunOnce();
    if (pass.exit_code) {
      code = *pass.exit_code;
      break;
    }
    if (pass.wait.count() > 0) deps_.notifier->Wait(pass.wait);
  }
  return code;
}

void GateLoop::PublishFence(bool ams_alive) {
  if (ams_alive) {
    // A running AMS without a renewed row has no time left.
    deps_.fence->Arm(deps_.ams->pid(), gate_step_.fence_deadline().value_or(deps_.clock->Now()));
  } else {
    deps_.fence->Disarm();
  }
}

ReadinessServer::Answer GateLoop::Health(const std::string& path) const {
  const MonoTime now = deps_.clock->Now();
  std::lock_guard<std::mutex> lock(mu_);
  // Stopping AMS may take the whole grace; the gate is exiting then anyway.
  const milliseconds stale = deps_.health_bound;
  const bool turning = stopping_ || now - last_pass_ <= stale;
  if (path == "/healthz") {
    return {turning,
            turning ? "ok" : "the gate loop has not turned for more than " + Seconds(stale)};
  }
  if (!turning) return {false, "not ready: the gate loop is stuck"};
  if (stopping_) return {false, "not ready: stopping AMS"};
  if (!last_database_ok_) return {false, "not ready: the database was not reached yet"};
  auto since = std::chrono::duration_cast<milliseconds>(now - *last_database_ok_);
  // A follower that cannot read the lease could not start AMS either: the
  // controller must not elect it. Short outages are tolerated.
  if (since > cluster_.lease_ttl) {
    return {false, "not ready: the database was last reached " + Seconds(since) + " ago"};
  }
  return {true, "ready: " + summary_};
}

}  // namespace amsha
