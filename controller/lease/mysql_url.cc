#include "lease/mysql_url.h"

#include <cctype>

namespace amsha {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(const std::string& in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

Status Bad(const std::string& what) {
  return InvalidArgumentError("database.url is not a valid mysql:// URL: " + what +
                              " (expected mysql://USER@HOST:PORT/DATABASE?ssl-mode=REQUIRED)");
}

}  // namespace

bool IsMysqlUrl(const std::string& url) {
  const std::string lower = Lower(url.substr(0, 10));
  return lower.rfind("mysql://", 0) == 0 || lower.rfind("mariadb://", 0) == 0;
}

StatusOr<MysqlUrl> ParseMysqlUrl(const std::string& url) {
  if (!IsMysqlUrl(url)) return Bad("the scheme must be mysql:// or mariadb://");
  MysqlUrl out;
  std::string rest = url.substr(url.find("://") + 3);
  std::string query;
  size_t q = rest.find('?');
  if (q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 == rest.size()) return Bad("no database after '/'");
  if (!PercentDecode(rest.substr(slash + 1), &out.database) ||
      out.database.find('/') != std::string::npos) {
    return Bad("the database name is malformed");
  }
  std::string authority = rest.substr(0, slash);
  size_t at = authority.rfind('@');
  if (at == std::string::npos || at == 0) return Bad("no user before '@'");
  std::string userinfo = authority.substr(0, at);
  std::string hostport = authority.substr(at + 1);
  size_t colon = userinfo.find(':');
  if (!PercentDecode(userinfo.substr(0, colon), &out.user) || out.user.empty()) {
    return Bad("the user is malformed");
  }
  if (colon != std::string::npos && !PercentDecode(userinfo.substr(colon + 1), &out.password)) {
    return Bad("the password is malformed");
  }
  std::string port;
  if (!hostport.empty() && hostport[0] == '[') {  // [IPv6]:port
    size_t close = hostport.find(']');
    if (close == std::string::npos) return Bad("an unclosed '[' in the host");
    out.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return Bad("the host is malformed");
      port = hostport.substr(close + 2);
    }
  } else {
    size_t pc = hostport.rfind(':');
    out.host = hostport.substr(0, pc);
    if (pc != std::string::npos) port = hostport.substr(pc + 1);
  }
  if (out.host.empty()) out.host = "localhost";
  if (!port.empty()) {
    unsigned long value = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || value > 65535) {
        return Bad("the port \"" + port + "\" is not a number from 1 to 65535");
      }
      value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (value == 0 || value > 65535) {
      return Bad("the port \"" + port + "\" is not a number from 1 to 65535");
    }
    out.port = static_cast<unsigned int>(value);
  }
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string pair = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    pos = amp == std::string::npos ? query.size() : amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = pair.substr(0, eq);
    std::string value;
    if (eq == std::string::npos || !PercentDecode(pair.substr(eq + 1), &value)) {
      return Bad("the query parameter \"" + key + "\" needs a value");
    }
    if (key == "ssl-mode") {
      const std::string mode = Lower(value);
      if (mode == "disabled") {
        out.ssl_mode = MysqlUrl::SslMode::kDisabled;
      } else if (mode == "required") {
        out.ssl_mode = MysqlUrl::SslMode::kRequired;
      } else if (mode == "verify_identity") {
        out.ssl_mode = MysqlUrl::SslMode::kVerifyIdentity;
      } else {
        return Bad("ssl-mode \"" + value + "\" is not DISABLED, REQUIRED or VERIFY_IDENTITY");
      }
    } else if (key == "ssl-ca") {
      out.ssl_ca = value;
    } else if (key == "ssl-capath") {
      out.ssl_capath = value;
    } else if (key == "ssl-cert") {
      out.ssl_cert = value;
    } else if (key == "ssl-key") {
      out.ssl_key = value;
    } else if (key == "ssl-cipher") {
      out.ssl_cipher = value;
    } else if (key == "tls-version") {
      out.tls_version = value;
    } else if (key == "socket") {
      out.socket = value;
    } else {
      return Bad("unknown query parameter \"" + key +
                 "\" (known: ssl-mode, ssl-ca, ssl-capath, ssl-cert, ssl-key, ssl-cipher, "
                 "tls-version, socket)");
    }
  }
  return out;
}

}  // namespace amsha
