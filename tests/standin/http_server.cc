#include "standin/http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <thread>

namespace amsha::standin {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

HttpRequest Convert(const http::request<http::string_body>& req) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  std::string target(req.target());
  size_t q = target.find('?');
  r.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string::npos) {
    r.raw_query = target.substr(q + 1);
    size_t start = 0;
    while (start <= r.raw_query.size()) {
      size_t amp = r.raw_query.find('&', start);
      std::string pair = r.raw_query.substr(start, amp == std::string::npos ? amp : amp - start);
      if (!pair.empty()) {
        size_t eq = pair.find('=');
        r.query[PercentDecode(pair.substr(0, eq), true)] =
            eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
      }
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
  }
  for (const auto& field : req) {
    r.headers[Lower(std::string(field.name_string()))] = std::string(field.value());
  }
  r.body = req.body();
  return r;
}

// Resets the connection: the peer sees an abrupt end, not a clean close.
void Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::shutdown(fd, SHUT_RDWR);
}

template <typename Stream>
class StreamSink : public ChunkSink {
 public:
  StreamSink(Stream& stream, int fd) : stream_(stream), fd_(fd) {}
  bool Write(const std::string& data) override {
    if (data.empty()) return true;
    boost::system::error_code ec;
    net::write(stream_, http::make_chunk(net::const_buffer(data.data(), data.size())), ec);
    return !ec;
  }
  bool ClientGone() override {
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && p.revents != 0;
  }

 private:
  Stream& stream_;
  int fd_;
};

}  // namespace

std::string PercentDecode(const std::string& s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string HttpRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

struct HttpServer::Impl {
  HttpHandler handler;
  std::function<void()> before_request;
  std::unique_ptr<ssl::context> tls;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  int port = 0;
  std::atomic<bool> stopping{false};
  std::thread accept_thread;

  void AcceptLoop() {
    while (!stopping) {
      tcp::socket socket(ioc);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (ec) continue;
      // Connection threads are detached: the process ends with them.
      std::thread([this, s = std::move(socket)]() mutable { Serve(std::move(s)); }).detach();
    }
  }

  void Serve(tcp::socket socket) {
    socket.set_option(tcp::no_delay(true));
    if (before_request) before_request();
    if (!tls) {
      Loop(socket);
      return;
    }
    ssl::stream<tcp::socket> stream(std::move(socket), *tls);
    boost::system::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) Loop(stream);
  }

  template <typename Stream>
  void Loop(Stream& stream) {
    auto& lowest = beast::get_lowest_layer(stream);
    int fd = lowest.native_handle();
    beast::flat_buffer buffer;
    while (true) {
      boost::system::error_code ec;
      http::request_parser<http::string_body> parser;
      parser.body_limit(16 * 1024 * 1024);
      http::read_header(stream, buffer, parser, ec);
      if (ec) break;
      // curl asks before sending bodies over 1 KiB; without an answer it
      // waits a second.
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        http::write(stream, go_on, ec);
        if (ec) break;
      }
      http::read(stream, buffer, parser, ec);
      if (ec) break;
      const auto& req = parser.get();
      bool keep_alive = req.keep_alive();
      if (before_request) before_request();
      HttpResponse res = handler(Convert(req));
      if (res.stream) {
        http::response<http::empty_body> head{static_cast<http::status>(res.code), 11};
        head.set(http::field::content_type, res.content_type);
        for (const auto& [k, v] : res.headers) head.set(k, v);
        head.chunked(true);
        head.keep_alive(keep_alive);
        http::response_serializer<http::empty_body> sr{head};
        http::write_header(stream, sr, ec);
        if (ec) break;
        StreamSink<Stream> sink(stream, fd);
        if (res.stream(sink) == StreamEnd::kAbort) {
          Reset(fd);
          return;
        }
        net::write(stream, http::make_chunk_last(), ec);
        if (ec || !keep_alive) break;
        continue;
      }
      http::response<http::string_body> out{static_cast<http::status>(res.code), 11};
      out.set(http::field::content_type, res.content_type);
      for (const auto& [k, v] : res.headers) out.set(k, v);
      out.body() = std::move(res.body);
      out.keep_alive(keep_alive);
      out.prepare_payload();
      http::write(stream, out, ec);
      if (ec || !keep_alive) break;
    }
    boost::system::error_code ignored;
    lowest.shutdown(tcp::socket::shutdown_both, ignored);
    lowest.close(ignored);
  }
};

HttpServer::HttpServer(HttpHandler handler, const TlsCredentials* tls,
                       std::function<void()> before_request)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->before_request = std::move(before_request);
  if (tls) {
    impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    impl_->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1);
    impl_->tls->use_certificate_chain(net::buffer(tls->cert_chain_pem));
    impl_->tls->use_private_key(net::buffer(tls->key_pem), ssl::context::pem);
  }
}

HttpServer::~HttpServer() {
  impl_->stopping = true;
  boost::system::error_code ec;
  impl_->acceptor.cancel(ec);
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  impl_->acceptor.close(ec);
}

bool HttpServer::Start(int port, std::string* error) {
  boost::system::error_code ec;
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "listen on 127.0.0.1:" + std::to_string(port) + ": " + ec.message();
    return false;
  }
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] { impl_->AcceptLoop(); });
  return true;
}

int HttpServer::port() const { return impl_->port; }

}  // namespace amsha::standin
