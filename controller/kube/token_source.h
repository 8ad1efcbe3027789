// TokenSource: the bearer token put on every API request.
//
// Bound service-account tokens rotate (the kubelet rewrites the projected
// token file about hourly), so a token that comes from a file is re-read
// whenever the file changes: Get() costs one stat() and re-reads only when
// the file's inode, size or mtime moved. After a 401, RestKubeApi calls
// Refresh() to re-read unconditionally and retries once if the token changed.
// A file that becomes unreadable keeps the last good token (and logs once),
// so a rotation in progress never leaves requests without credentials.
//
// A token from an exec credential plugin (exec_credential.h) is asked of the
// plugin on every Get(): it answers from its cache and runs the command again
// shortly before the expiry; after a 401, Refresh(token) runs it again.
// Thread-safe.
#ifndef AMS_HA_KUBE_TOKEN_SOURCE_H_
#define AMS_HA_KUBE_TOKEN_SOURCE_H_

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "kube/exec_credential.h"

namespace amsha {

class TokenSource {
 public:
  // `file` wins when non-empty (as in client-go, so rotation works even when
  // a kubeconfig names both); `fixed` is then only the fallback until the
  // file is first readable. Both empty: the exec plugin's token when there
  // is one (a token or tokenFile wins over exec, as in client-go), else no
  // token (client certificates or no authentication).
  TokenSource(std::string fixed, std::string file,
              std::shared_ptr<ExecCredentialPlugin> exec = nullptr);

  // The token to send now ("" for none).
  std::string Get();
  // After a 401 for `rejected` (the token sent): re-reads the file, or runs
  // the exec plugin again; true if the token to send now is another one.
  bool Refresh(const std::string& rejected = "");
  // How many times the file was (re-)read successfully; for tests and logs.
  int reloads() const;
  const std::string& file() const { return file_; }

 private:
  struct FileStamp {
    ino_t inode = 0;
    off_t size = -1;
    timespec mtime{};
    bool operator==(const FileStamp& o) const {
      return inode == o.inode && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
             mtime.tv_nsec == o.mtime.tv_nsec;
    }
  };
  // Re-reads when `force` or the stamp moved. Caller holds mu_.
  bool ReloadLocked(bool force);

  const std::string fixed_;
  const std::string file_;
  const std::shared_ptr<ExecCredentialPlugin> exec_;
  mutable std::mutex mu_;
  std::string token_;
  FileStamp stamp_;
  int reloads_ = 0;
  bool warned_ = false;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_TOKEN_SOURCE_H_
