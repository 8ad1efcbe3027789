#include "kube/kube_connection.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "config/yaml_document.h"

namespace amsha {
namespace {

// Reads a whole file; the error names the file and the system's reason.
Status ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return NotFoundError(path + ": cannot read: " + std::strerror(errno));
  *out = buf.str();
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// OK when `path` is a regular file; else why not.
Status CheckRegularFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return NotFoundError(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return NotFoundError("not a regular file");
  return Status::Ok();
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return base_dir + "/" + path;
}

std::string StripTrailingSlashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// Walks one kubeconfig file; every error starts with "kubeconfig PATH".
class KubeconfigReader {
 public:
  KubeconfigReader(std::string path, const YamlNode& root)
      : path_(std::move(path)), dir_(DirName(path_)), root_(root) {}

  StatusOr<KubeConnection> Read(const std::string& context_override) {
    if (!root_.IsMap()) return Error(root_, "expected a map at the top level");
    std::string context_name = context_override;
    if (context_name.empty()) {
      const YamlNode* current = root_.Get("current-context");
      if (!current || !current->IsScalar() || current->scalar().empty())
        return InvalidArgumentError(Prefix() + "no current-context set; pass a context name");
      context_name = current->scalar();
    }
    const YamlNode* context = FindNamed("contexts", "context", context_name);
    if (!context) {
      return InvalidArgumentError(Prefix() + "context \"" + context_name + "\" not found" +
                                  Known("contexts"));
    }
    if (!context->IsMap()) return Error(*context, "context \"" + context_name + "\" is not a map");

    KubeConnection conn;
    conn.source = "kubeconfig " + path_ + " (context " + context_name + ")";
    conn.namespace_name = ScalarOr(*context, "namespace");

    std::string cluster_name = ScalarOr(*context, "cluster");
    if (cluster_name.empty())
      return Error(*context, "context \"" + context_name + "\" names no cluster");
    const YamlNode* cluster = FindNamed("clusters", "cluster", cluster_name);
    if (!cluster) {
      return InvalidArgumentError(Prefix() + "context \"" + context_name + "\" names cluster \"" +
                                  cluster_name + "\", which is not defined" + Known("clusters"));
    }
    Status s = ReadCluster(*cluster, cluster_name, &conn);
    if (!s.ok()) return s;

    std::string user_name = ScalarOr(*context, "user");
    if (!user_name.empty()) {
      const YamlNode* user = FindNamed("users", "user", user_name);
      if (!user) {
        return InvalidArgumentError(Prefix() + "context \"" + context_name + "\" names user \"" +
                                    user_name + "\", which is not defined" + Known("users"));
      }
      s = ReadUser(*user, user_name, &conn);
      if (!s.ok()) return s;
    }
    return conn;
  }

 private:
  std::string Prefix() const { return "kubeconfig " + path_ + ": "; }

  Status Error(const YamlNode& at, const std::string& what) const {
    std::string where = at.mark().line > 0 ? at.mark().ToString() : path_;
    return InvalidArgumentError("kubeconfig " + where + ": " + what);
  }

  static std::string ScalarOr(const YamlNode& map, const std::string& key) {
    const YamlNode* v = map.Get(key);
    return v && v->IsScalar() ? v->scalar() : "";
  }

  // The inner map of the entry of `list` (a sequence of {name, <inner>})
  // whose name is `name`.
  const YamlNode* FindNamed(const std::string& list, const std::string& inner,
                            const std::string& name) const {
    const YamlNode* seq = root_.Get(list);
    if (!seq || !seq->IsSequence()) return nullptr;
    for (const YamlNode& item : seq->items()) {
      if (!item.IsMap() || ScalarOr(item, "name") != name) continue;
      const YamlNode* value = item.Get(inner);
      // An entry with no body ("- name: x") is an empty map.
      static const YamlNode kEmpty;
      return value ? value : &kEmpty;
    }
    return nullptr;
  }

  // " (defined: a, b)" or " (none defined)".
  std::string Known(const std::string& list) const {
    std::string names;
    const YamlNode* seq = root_.Get(list);
    if (seq && seq->IsSequence()) {
      for (const YamlNode& item : seq->items()) {
        if (!item.IsMap()) continue;
        if (!names.empty()) names += ", ";
        names += ScalarOr(item, "name");
      }
    }
    return names.empty() ? " (no " + list + " defined)" : " (defined: " + names + ")";
  }

  // Reads a PEM from `file_key` (a path) or `data_key` (base64) of `map`.
  Status ReadPem(const YamlNode& map, const std::string& file_key, const std::string& data_key,
                 std::string* out) const {
    const YamlNode* data = map.Get(data_key);
    if (data && data->IsScalar() && !data->scalar().empty()) {
      std::optional<std::string> decoded = DecodeBase64(data->scalar());
      if (!decoded) return Error(*data, data_key + " is not valid base64");
      *out = *decoded;
      return Status::Ok();
    }
    const YamlNode* file = map.Get(file_key);
    if (file && file->IsScalar() && !file->scalar().empty()) {
      Status s = ReadWholeFile(Resolve(dir_, file->scalar()), out);
      if (!s.ok()) return Error(*file, file_key + " " + s.message());
    }
    return Status::Ok();
  }

  Status ReadCluster(const YamlNode& cluster, const std::string& name, KubeConnection* conn) const {
    if (!cluster.IsMap()) return Error(cluster, "cluster \"" + name + "\" is not a map");
    const YamlNode* server = cluster.Get("server");
    if (!server || !server->IsScalar() || server->scalar().empty())
      return Error(cluster, "cluster \"" + name + "\" has no server");
    conn->server = StripTrailingSlashes(server->scalar());
    if (conn->server.rfind("https://", 0) != 0 && conn->server.rfind("http://", 0) != 0)
      return Error(*server, "server \"" + conn->server + "\" must start with https:// or http://");
    const YamlNode* insecure = cluster.Get("insecure-skip-tls-verify");
    if (insecure && insecure->IsScalar()) {
      if (insecure->scalar() == "true") {
        conn->insecure_skip_tls_verify = true;
      } else if (insecure->scalar() != "false") {
        return Error(*insecure, "insecure-skip-tls-verify must be true or false");
      }
    }
    return ReadPem(cluster, "certificate-authority", "certificate-authority-data", &conn->ca_pem);
  }

  Status ReadUser(const YamlNode& user, const std::string& name, KubeConnection* conn) const {
    if (!user.IsMap()) return Error(user, "user \"" + name + "\" is not a map");
    for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
      if (const YamlNode* v = user.Get(unsupported)) {
        return Error(*v, "user \"" + name + "\" uses " + unsupported +
                             ", which this controller does not support; use a token, tokenFile "
                             "or a client certificate");
      }
    }
    conn->token = ScalarOr(user, "token");
    const YamlNode* token_file = user.Get("tokenFile");
    if (token_file && token_file->IsScalar() && !token_file->scalar().empty()) {
      conn->token_file = Resolve(dir_, token_file->scalar());
      std::string ignored;
      Status s = ReadWholeFile(conn->token_file, &ignored);
      if (!s.ok()) return Error(*token_file, "tokenFile " + s.message());
    }
    Status s =
        ReadPem(user, "client-certificate", "client-certificate-data", &conn->client_cert_pem);
    if (!s.ok()) return s;
    s = ReadPem(user, "client-key", "client-key-data", &conn->client_key_pem);
    if (!s.ok()) return s;
    if (conn->client_cert_pem.empty() != conn->client_key_pem.empty()) {
      return Error(user, "user \"" + name +
                             "\" needs both a client certificate and a client key, or neither");
    }
    return Status::Ok();
  }

  std::string path_;
  std::string dir_;
  const YamlNode& root_;
};

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> DecodeBase64(const std::string& text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      padding = true;
      continue;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else {
      return std::nullopt;
    }
    if (padding) return std::nullopt;  // data after '='
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Six leftover bits cannot come from whole bytes.
  if (bits >= 6) return std::nullopt;
  return out;
}

StatusOr<KubeConnection> LoadInClusterConnection(const std::string& service_account_dir,
                                                 const EnvLookup& env) {
  std::optional<std::string> host = env("KUBERNETES_SERVICE_HOST");
  std::optional<std::string> port = env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return FailedPreconditionError(
        "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running "
        "in a pod?); pass --kubeconfig or set kubernetes.kubeconfig");
  }
  KubeConnection conn;
  conn.source = "in-cluster";
  // An IPv6 service address needs brackets in a URL.
  std::string h = host->find(':') != std::string::npos ? "[" + *host + "]" : *host;
  conn.server = "https://" + h + ":" + *port;
  conn.token_file = service_account_dir + "/token";
  std::string ignored;
  Status s = ReadWholeFile(conn.token_file, &ignored);
  if (!s.ok()) return FailedPreconditionError("in-cluster: service-account token " + s.message());
  s = ReadWholeFile(service_account_dir + "/ca.crt", &conn.ca_pem);
  if (!s.ok()) return FailedPreconditionError("in-cluster: service-account CA " + s.message());
  std::string ns;
  if (ReadWholeFile(service_account_dir + "/namespace", &ns).ok()) conn.namespace_name = Trim(ns);
  return conn;
}

StatusOr<KubeConnection> LoadKubeconfig(const std::string& path, const std::string& context) {
  Status file = CheckRegularFile(path);
  if (!file.ok()) return NotFoundError("kubeconfig " + path + ": cannot read: " + file.message());
  StatusOr<YamlNode> root = ParseYamlFile(path);
  if (!root.ok()) {
    return Status(root.status().code(), "kubeconfig " + root.status().message());
  }
  KubeconfigReader reader(path, *root);
  return reader.Read(context);
}

StatusOr<KubeConnection> LoadKubeConnection(const std::string& path, const std::string& context,
                                            const std::string& service_account_dir,
                                            const EnvLookup& env) {
  if (!path.empty()) return LoadKubeconfig(path, context);
  std::optional<std::string> host = env("KUBERNETES_SERVICE_HOST");
  if (host && !host->empty()) return LoadInClusterConnection(service_account_dir, env);
  std::optional<std::string> list = env("KUBECONFIG");
  if (list && !list->empty()) {
    std::stringstream items(*list);
    std::string item;
    std::vector<std::string> tried;
    while (std::getline(items, item, ':')) {
      if (item.empty()) continue;
      if (FileExists(item)) return LoadKubeconfig(item, context);
      tried.push_back(item);
    }
    std::string names;
    for (const std::string& t : tried) names += (names.empty() ? "" : ", ") + t;
    return NotFoundError("kubeconfig: no file of $KUBECONFIG exists (" + names + ")");
  }
  std::optional<std::string> home = env("HOME");
  if (home && !home->empty() && FileExists(*home + "/.kube/config"))
    return LoadKubeconfig(*home + "/.kube/config", context);
  return FailedPreconditionError(
      "no Kubernetes connection: not in a cluster (KUBERNETES_SERVICE_HOST unset), no "
      "$KUBECONFIG and no ~/.kube/config; pass --kubeconfig or set kubernetes.kubeconfig");
}

}  // namespace amsha
