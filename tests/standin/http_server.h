// HttpServer: a small HTTP/1.1 server (Boost.Beast, optionally TLS) for the
// stand-in's API and admin ports. One thread accepts; each connection gets
// its own thread running a synchronous keep-alive loop, so a long watch
// stream or a paused request never blocks another client.
//
// A handler returns either a whole response or a stream: the stream runs on
// the connection's thread, writes chunks (chunked transfer encoding) and
// ends cleanly (terminating chunk) or abruptly (TCP reset, no terminator),
// which is how the stand-in imitates a cut watch.
// Callers: main.cc. Thread-safe; the handler is called concurrently.
#ifndef AMS_HA_TESTS_STANDIN_HTTP_SERVER_H_
#define AMS_HA_TESTS_STANDIN_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace amsha::standin {

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string path;    // without the query, percent-decoded
  std::string raw_query;
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& lower_name) const;
  std::string Query(const std::string& name) const;
  bool HasQuery(const std::string& name) const { return query.count(name) > 0; }
};

// Where a stream writes; owned by the connection.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // Writes one chunk at once; false once the client is gone.
  virtual bool Write(const std::string& data) = 0;
  // True when the client closed its side (or sent anything mid-stream).
  virtual bool ClientGone() = 0;
};

enum class StreamEnd { kClean, kAbort };

struct HttpResponse {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is ignored and the response is chunked.
  std::function<StreamEnd(ChunkSink&)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct TlsCredentials {
  std::string cert_chain_pem;
  std::string key_pem;
};

class HttpServer {
 public:
  // `tls` null: plain HTTP. `before_request` (may be null) runs on the
  // connection thread before TLS handshakes and before each request is read
  // is answered; the API uses it to hang while paused.
  HttpServer(HttpHandler handler, const TlsCredentials* tls,
             std::function<void()> before_request = nullptr);
  ~HttpServer();

  // Binds 127.0.0.1:port (0 = a free port) and starts accepting.
  bool Start(int port, std::string* error);
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "%2F" -> "/", and "+" -> " " when `plus_is_space`.
std::string PercentDecode(const std::string& s, bool plus_is_space);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_HTTP_SERVER_H_
