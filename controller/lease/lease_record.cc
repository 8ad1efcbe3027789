#include "lease/lease_record.h"

#include "common/logging.h"

namespace amsha {

std::string ServerInfoJson(const std::string& host, int thrift_port, int rest_port) {
  return "{\"host\":\"" + JsonEscape(host) +
         "\",\"thriftBindPort\":" + std::to_string(thrift_port) +
         ",\"restBindPort\":" + std::to_string(rest_port) + "}";
}

}  // namespace amsha
