#include "kube/token_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/logging.h"

namespace amsha {

TokenSource::TokenSource(std::string fixed, std::string file,
                         std::shared_ptr<ExecCredentialPlugin> exec)
    : fixed_(std::move(fixed)), file_(std::move(file)), exec_(std::move(exec)), token_(fixed_) {
  if (!fixed_.empty()) AddLogSecret(fixed_);
  if (!file_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    ReloadLocked(/*force=*/true);
  }
}

std::string TokenSource::Get() {
  if (file_.empty() && fixed_.empty() && exec_) {
    StatusOr<ExecCredential> cred = exec_->Get();
    std::lock_guard<std::mutex> lock(mu_);
    if (cred.ok()) {
      warned_ = false;
      return cred->token;
    }
    if (!warned_) {
      Log(LogLevel::kWarn, "no credential from the exec plugin; sending requests without a token",
          {{"error", cred.status().message()}});
      warned_ = true;
    }
    return "";
  }
  if (file_.empty()) return fixed_;
  std::lock_guard<std::mutex> lock(mu_);
  ReloadLocked(/*force=*/false);
  return token_;
}

bool TokenSource::Refresh(const std::string& rejected) {
  if (file_.empty() && fixed_.empty() && exec_) return exec_->Refresh(rejected);
  if (file_.empty()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return ReloadLocked(/*force=*/true);
}

int TokenSource::reloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reloads_;
}

bool TokenSource::ReloadLocked(bool force) {
  struct stat st;
  FileStamp stamp;
  if (::stat(file_.c_str(), &st) == 0) {
    stamp.inode = st.st_ino;
    stamp.size = st.st_size;
    stamp.mtime = st.st_mtim;
  }
  if (!force && stamp == stamp_) return false;

  std::ifstream in(file_, std::ios::binary);
  std::ostringstream buf;
  if (in) buf << in.rdbuf();
  // Tokens never contain whitespace; files often end with a newline.
  std::string token = buf.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (!in || token.empty()) {
    if (!warned_) {
      Log(LogLevel::kWarn, "cannot read the bearer token file; keeping the last token",
          {{"file", file_}, {"error", in ? "empty file" : std::strerror(errno)}});
      warned_ = true;
    }
    // Leave stamp_ as it was so that the next call tries again.
    return false;
  }
  warned_ = false;
  stamp_ = stamp;
  ++reloads_;
  bool changed = token != token_;
  AddRotatingLogSecret(token);  // a token must never reach a log line
  token_ = std::move(token);
  return changed;
}

}  // namespace amsha
