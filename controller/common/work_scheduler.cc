#include "common/work_scheduler.h"

#include <pthread.h>

namespace amsha {

namespace {
thread_local const void* current_scheduler = nullptr;
thread_local WorkScheduler::TaskId current_task = 0;
}  // namespace

WorkScheduler::WorkScheduler(std::string name, int workers)
    : name_(std::move(name)), workers_(workers < 1 ? 1 : workers) {}

WorkScheduler::~WorkScheduler() { Stop(); }

void WorkScheduler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  for (int i = 0; i < workers_; ++i) {
    threads_.emplace_back([this] { Work(); });
    std::string thread_name = name_.substr(0, 12) + "-" + std::to_string(i);
    pthread_setname_np(threads_.back().native_handle(), thread_name.substr(0, 15).c_str());
  }
}

void WorkScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

WorkScheduler::TaskId WorkScheduler::Add(Task task, std::chrono::milliseconds first_delay) {
  TaskId id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    Entry& entry = tasks_[id];
    entry.task = std::move(task);
    Schedule(id, entry, Clock::now() + first_delay);
  }
  work_cv_.notify_one();
  return id;
}

void WorkScheduler::Schedule(TaskId id, Entry& entry, Clock::time_point due) {
  queue_.erase({entry.due, id});
  entry.due = due;
  queue_.insert({due, id});
}

void WorkScheduler::Remove(TaskId id) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  if (it->second.running) {
    it->second.removed = true;
    // From inside the task itself: the worker drops it when the pass ends.
    if (current_scheduler == this && current_task == id) return;
    done_cv_.wait(lock, [&] { return tasks_.find(id) == tasks_.end(); });
    return;
  }
  queue_.erase({it->second.due, id});
  tasks_.erase(it);
}

void WorkScheduler::Wake(TaskId id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tasks_.find(id);
    if (it == tasks_.end() || it->second.removed) return;
    Entry& entry = it->second;
    if (entry.running) {
      entry.rerun = true;
      return;
    }
    Clock::time_point now = Clock::now();
    if (entry.due <= now) return;  // already due
    Schedule(id, entry, now);
  }
  work_cv_.notify_one();
}

size_t WorkScheduler::TaskCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

void WorkScheduler::Work() {
  current_scheduler = this;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      work_cv_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    Clock::time_point due = first->first;
    if (due > Clock::now()) {
      work_cv_.wait_until(lock, due);
      continue;
    }
    TaskId id = first->second;
    queue_.erase(first);
    Entry& entry = tasks_.at(id);
    entry.running = true;
    entry.rerun = false;
    // Map nodes are stable, and a running entry is never erased (Remove
    // defers to the end of the pass), so the task is called in place.
    Task* task = &entry.task;
    lock.unlock();
    current_task = id;
    std::chrono::milliseconds wait = (*task)();
    current_task = 0;
    lock.lock();
    Entry& after = tasks_.at(id);
    after.running = false;
    if (after.removed) {
      tasks_.erase(id);
      done_cv_.notify_all();
      continue;
    }
    Clock::time_point now = Clock::now();
    Clock::time_point next = after.rerun ? now : now + wait;
    after.rerun = false;
    after.due = next;
    queue_.insert({next, id});
    // Other workers may sleep until a later due time than this one's.
    if (queue_.begin()->second == id) work_cv_.notify_one();
  }
}

}  // namespace amsha
