// ScriptedServer: what PostgresServer and MariaDbServer share. A throwaway
// database server run by a script of tests/support (pgtmp, mariadbtmp) that
// takes `start DIR PORT` and `stop DIR` and prints key=value lines, in a
// fresh temp dir on a free loopback port.
//
// The script runs without LD_PRELOAD/FAKETIME, so the server keeps the real
// clock when the test runs under libfaketime; the password reaches it in the
// environment variable the script reads. The destructor stops the server
// and removes the directory. Not thread-safe.
#ifndef AMS_HA_TESTS_SUPPORT_SCRIPTED_SERVER_H_
#define AMS_HA_TESTS_SUPPORT_SCRIPTED_SERVER_H_

#include <string>

#include "common/status.h"

namespace amsha::testing {

struct ScriptedServerSpec {
  std::string script;        // file name in tests/support, e.g. "pgtmp"
  std::string password_env;  // e.g. "PGTMP_PASSWORD"
  std::string dir_prefix;    // of the temp dir, e.g. "ams-pg-"
  std::string data_subdir;   // the script's DIR below the temp dir; "" for itself
};

class ScriptedServer {
 public:
  ScriptedServer(ScriptedServerSpec spec, std::string password);
  ~ScriptedServer();

  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  // The first call makes the directory and picks the port, and tries again
  // in a fresh directory on another port when the script says the server
  // "did not start" (a port taken between the pick and the bind); later
  // calls restart the same data on the same port. Returns what the script
  // printed; the error carries it too.
  StatusOr<std::string> Start();
  Status Stop();

  bool running() const { return running_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& password() const { return password_; }
  // An extra NAME=value for the script's environment (before Start()).
  void AddEnv(const std::string& assignment) { extra_env_ += " " + assignment; }

  // The value of the first `key=value` line of `output`; "" when none.
  static std::string ValueOf(const std::string& output, const std::string& key);

 private:
  Status Run(const std::string& args, std::string* output) const;
  std::string ScriptDir() const;

  ScriptedServerSpec spec_;
  std::string password_;
  std::string extra_env_;
  std::string dir_;
  int port_ = 0;
  bool initialized_ = false;
  bool running_ = false;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_SCRIPTED_SERVER_H_
