// WorkScheduler: runs many recurring tasks on a fixed number of threads.
//
// A controller for N AMS clusters needs N loops that each wake on events
// and on their own timers, but not N threads: the thread count (and with it
// RSS) must not grow with N. Each task is a function that does one
// non-blocking-ish pass and returns how long to wait before its next pass;
// Wake() brings a task's next pass forward to "now". A task never runs on
// two threads at once: a Wake() while it runs makes it run again right
// after. Ready tasks run in the order they became due, so a task that is
// due never waits behind tasks that became due later (no starvation).
//
// Callers: ClusterLoop (one loop task and one probe task per cluster, on two
// schedulers so that a slow probe never delays a failover). Tests use it with
// real time and short waits; the tasks themselves are tested by calling
// their pass functions directly.
// Thread safety: every method may be called from any thread, including from
// inside a task (Wake, Add; Remove of another task).
#ifndef AMS_HA_COMMON_WORK_SCHEDULER_H_
#define AMS_HA_COMMON_WORK_SCHEDULER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace amsha {

class WorkScheduler {
 public:
  // One pass; returns the wait before the next one.
  using Task = std::function<std::chrono::milliseconds()>;
  using TaskId = int64_t;

  // `name` names the worker threads (at most 15 characters are kept).
  WorkScheduler(std::string name, int workers);
  ~WorkScheduler();  // Stop()
  WorkScheduler(const WorkScheduler&) = delete;
  WorkScheduler& operator=(const WorkScheduler&) = delete;

  // Starts the worker threads. Once only.
  void Start();
  // Lets running passes finish, then joins the workers. No task runs
  // afterwards. Idempotent.
  void Stop();

  // Adds a task whose first pass is due after `first_delay`.
  TaskId Add(Task task, std::chrono::milliseconds first_delay = std::chrono::milliseconds(0));
  // Removes a task; waits while it runs on another thread (from inside the
  // task itself it returns at once, and the task is not run again).
  void Remove(TaskId id);
  // Makes the task due now (or, while it runs, due again right after).
  void Wake(TaskId id);

  int workers() const { return workers_; }
  // Tasks added and not removed.
  size_t TaskCount() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Task task;
    Clock::time_point due;
    bool running = false;
    bool rerun = false;    // woken while running
    bool removed = false;  // removed while running
  };
  void Work();
  void Schedule(TaskId id, Entry& entry, Clock::time_point due);

  const std::string name_;
  const int workers_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a task may have become due
  std::condition_variable done_cv_;  // a pass finished
  std::map<TaskId, Entry> tasks_;
  std::set<std::pair<Clock::time_point, TaskId>> queue_;  // not running, by due time
  TaskId next_id_ = 1;
  bool stopping_ = false;
  bool started_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace amsha

#endif  // AMS_HA_COMMON_WORK_SCHEDULER_H_
