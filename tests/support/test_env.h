// Small helpers every non-unit test needs: where the source and build trees
// are, a free loopback port, a fresh temporary directory, and running a
// command while capturing its output.
#ifndef AMS_HA_TESTS_SUPPORT_TEST_ENV_H_
#define AMS_HA_TESTS_SUPPORT_TEST_ENV_H_

#include <string>

namespace amsha::testing {

std::string SourceDir();  // the repository root
std::string BinaryDir();  // the CMake build tree

// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreeLoopbackPort();

// mkdtemp under $TMPDIR (or /tmp) with the given prefix; the caller removes it.
std::string MakeTempDir(const std::string& prefix);

// Runs `command` through /bin/sh; returns its exit status and, in *output,
// what it printed on stdout and stderr.
int RunCommand(const std::string& command, std::string* output);

// True under CI: $CI set and neither "false" nor "0" (as
// tests/support/cannot_run.sh decides for the shell tests).
bool RunningInCi();

}  // namespace amsha::testing

// For a test that cannot run here (a tool is missing): under CI a failure,
// elsewhere a skip. `message` says what is missing and how to install it.
#define AMS_HA_CANNOT_RUN(message)                                                    \
  do {                                                                                \
    if (::amsha::testing::RunningInCi()) {                                            \
      FAIL() << message << " (CI is set: a test that cannot run fails, never skips)"; \
    } else {                                                                          \
      GTEST_SKIP() << message;                                                        \
    }                                                                                 \
  } while (0)

namespace amsha::testing {}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_TEST_ENV_H_
