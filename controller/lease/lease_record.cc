#include "lease/lease_record.h"

#include "common/json.h"

namespace amsha {

std::string ServerInfoJson(const std::string& host, int thrift_port, int rest_port) {
  return Json::Object()
      .Set("host", host)
      .Set("thriftBindPort", thrift_port)
      .Set("restBindPort", rest_port)
      .Serialize();
}

}  // namespace amsha
