// Generates, at start-up, a throwaway certificate authority and a server
// certificate it signs (ECDSA P-256, SAN IP:127.0.0.1 and DNS:localhost), so
// clients of the HTTPS stand-in verify the server with a real CA file instead
// of skipping verification. Nothing is persisted but the PEM files main.cc
// writes. Callers: main.cc, once. Thread-compatible.
#ifndef AMS_HA_TESTS_STANDIN_CERT_GEN_H_
#define AMS_HA_TESTS_STANDIN_CERT_GEN_H_

#include <string>

#include "common/status.h"

namespace amsha::standin {

struct GeneratedCerts {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

StatusOr<GeneratedCerts> GenerateCerts();

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_CERT_GEN_H_
