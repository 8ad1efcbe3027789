#include "kube/kube_connection.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
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

// One kubeconfig file as read.
struct KubeconfigFile {
  std::string path;
  std::string dir;
  YamlNode root;
};

// A named entry of the merged config and the file it came from.
struct Named {
  const YamlNode* body = nullptr;
  const KubeconfigFile* origin = nullptr;
};

// The merged view of several kubeconfig files (client-go loader.go, Load:
// "the first file to set a particular map key wins and that map key's value
// is never changed ... the first file to set CurrentContext will have its
// context preserved"). Every error starts with "kubeconfig PATH".
class KubeconfigReader {
 public:
  explicit KubeconfigReader(const std::vector<std::unique_ptr<KubeconfigFile>>& files)
      : files_(files) {
    for (const auto& file : files_) {
      if (current_context_.empty()) current_context_ = ScalarOr(file->root, "current-context");
      Collect(*file, "clusters", "cluster", &clusters_);
      Collect(*file, "users", "user", &users_);
      Collect(*file, "contexts", "context", &contexts_);
    }
  }

  StatusOr<KubeConnection> Read(const std::string& context_override) {
    for (const auto& file : files_) {
      if (!file->root.IsMap() && !file->root.IsNull())
        return Error(*file, file->root, "expected a map at the top level");
    }
    std::string context_name = context_override;
    if (context_name.empty()) {
      if (current_context_.empty()) {
        return InvalidArgumentError(Prefix() + "no current-context set; pass --context NAME" +
                                    Known("contexts", contexts_));
      }
      context_name = current_context_;
    }
    auto context_it = contexts_.find(context_name);
    if (context_it == contexts_.end()) {
      return InvalidArgumentError(Prefix() + "context \"" + context_name + "\" not found" +
                                  Known("contexts", contexts_));
    }
    const Named& context = context_it->second;
    if (!context.body->IsMap())
      return Error(*context.origin, *context.body, "context \"" + context_name + "\" is not a map");

    KubeConnection conn;
    conn.source = "kubeconfig " + Paths() + " (context " + context_name + ")";
    conn.namespace_name = ScalarOr(*context.body, "namespace");

    std::string cluster_name = ScalarOr(*context.body, "cluster");
    if (cluster_name.empty())
      return Error(*context.origin, *context.body,
                   "context \"" + context_name + "\" names no cluster");
    auto cluster = clusters_.find(cluster_name);
    if (cluster == clusters_.end()) {
      return InvalidArgumentError(Prefix() + "context \"" + context_name + "\" names cluster \"" +
                                  cluster_name + "\", which is not defined" +
                                  Known("clusters", clusters_));
    }
    Status s = ReadCluster(cluster->second, cluster_name, &conn);
    if (!s.ok()) return s;

    std::string user_name = ScalarOr(*context.body, "user");
    if (!user_name.empty()) {
      auto user = users_.find(user_name);
      if (user == users_.end()) {
        return InvalidArgumentError(Prefix() + "context \"" + context_name + "\" names user \"" +
                                    user_name + "\", which is not defined" +
                                    Known("users", users_));
      }
      s = ReadUser(user->second, user_name, &conn);
      if (!s.ok()) return s;
    }
    return conn;
  }

 private:
  std::string Paths() const {
    std::string out;
    for (const auto& file : files_) out += (out.empty() ? "" : ":") + file->path;
    return out;
  }
  std::string Prefix() const { return "kubeconfig " + Paths() + ": "; }

  static Status Error(const KubeconfigFile& file, const YamlNode& at, const std::string& what) {
    std::string where = at.mark().line > 0 ? at.mark().ToString() : file.path;
    return InvalidArgumentError("kubeconfig " + where + ": " + what);
  }

  static std::string ScalarOr(const YamlNode& map, const std::string& key) {
    if (!map.IsMap()) return "";
    const YamlNode* v = map.Get(key);
    return v && v->IsScalar() ? v->scalar() : "";
  }

  // Adds the entries of `list` (a sequence of {name, <inner>}) that no
  // earlier file defined.
  static void Collect(const KubeconfigFile& file, const std::string& list, const std::string& inner,
                      std::map<std::string, Named>* out) {
    if (!file.root.IsMap()) return;
    const YamlNode* seq = file.root.Get(list);
    if (!seq || !seq->IsSequence()) return;
    for (const YamlNode& item : seq->items()) {
      if (!item.IsMap()) continue;
      std::string name = ScalarOr(item, "name");
      if (name.empty() || out->count(name)) continue;
      const YamlNode* value = item.Get(inner);
      // An entry with no body ("- name: x") is an empty map.
      static const YamlNode kEmpty;
      (*out)[name] = Named{value ? value : &kEmpty, &file};
    }
  }

  // " (defined: a, b)" or " (no contexts defined)".
  static std::string Known(const std::string& list, const std::map<std::string, Named>& named) {
    std::string names;
    for (const auto& [name, entry] : named) names += (names.empty() ? "" : ", ") + name;
    return names.empty() ? " (no " + list + " defined)" : " (defined: " + names + ")";
  }

  // Reads a PEM from `file_key` (a path) or `data_key` (base64) of `map`.
  static Status ReadPem(const Named& at, const std::string& file_key, const std::string& data_key,
                        std::string* out) {
    const YamlNode& map = *at.body;
    const YamlNode* data = map.Get(data_key);
    if (data && data->IsScalar() && !data->scalar().empty()) {
      std::optional<std::string> decoded = DecodeBase64(data->scalar());
      if (!decoded) return Error(*at.origin, *data, data_key + " is not valid base64");
      *out = *decoded;
      return Status::Ok();
    }
    const YamlNode* file = map.Get(file_key);
    if (file && file->IsScalar() && !file->scalar().empty()) {
      Status s = ReadWholeFile(Resolve(at.origin->dir, file->scalar()), out);
      if (!s.ok()) return Error(*at.origin, *file, file_key + " " + s.message());
    }
    return Status::Ok();
  }

  static Status ReadCluster(const Named& at, const std::string& name, KubeConnection* conn) {
    const YamlNode& cluster = *at.body;
    if (!cluster.IsMap())
      return Error(*at.origin, cluster, "cluster \"" + name + "\" is not a map");
    const YamlNode* server = cluster.Get("server");
    if (!server || !server->IsScalar() || server->scalar().empty())
      return Error(*at.origin, cluster, "cluster \"" + name + "\" has no server");
    conn->server = StripTrailingSlashes(server->scalar());
    if (conn->server.rfind("https://", 0) != 0 && conn->server.rfind("http://", 0) != 0)
      return Error(*at.origin, *server,
                   "server \"" + conn->server + "\" must start with https:// or http://");
    const YamlNode* insecure = cluster.Get("insecure-skip-tls-verify");
    if (insecure && insecure->IsScalar()) {
      if (insecure->scalar() == "true") {
        conn->insecure_skip_tls_verify = true;
      } else if (insecure->scalar() != "false") {
        return Error(*at.origin, *insecure, "insecure-skip-tls-verify must be true or false");
      }
    }
    return ReadPem(at, "certificate-authority", "certificate-authority-data", &conn->ca_pem);
  }

  // users[].user.exec, validated as client-go's
  // tools/clientcmd/validation.go (validateAuthInfo) does.
  static Status ReadExec(const Named& at, const YamlNode& exec, const std::string& user,
                         KubeConnection* conn) {
    const KubeconfigFile& file = *at.origin;
    if (!exec.IsMap()) return Error(file, exec, "user \"" + user + "\": exec is not a map");
    ExecConfig config;
    config.user = user;
    config.api_version = ScalarOr(exec, "apiVersion");
    if (config.api_version.empty())
      return Error(file, exec, "user \"" + user + "\": exec: apiVersion must be specified");
    if (config.api_version != kExecApiV1 && config.api_version != kExecApiV1beta1) {
      return Error(file, *exec.Get("apiVersion"),
                   "user \"" + user + "\": exec: apiVersion " + config.api_version +
                       " is not supported; use " + kExecApiV1 + " or " + kExecApiV1beta1);
    }
    config.command = ScalarOr(exec, "command");
    if (config.command.empty())
      return Error(file, exec, "user \"" + user + "\": exec: command must be specified");
    // "Relative command paths are interpreted as relative to the directory
    // of the config file" (Kubernetes docs, client-go credential plugins);
    // a bare name is looked up in $PATH.
    if (config.command[0] != '/' && config.command.find('/') != std::string::npos)
      config.command = Resolve(file.dir, config.command);
    if (const YamlNode* args = exec.Get("args")) {
      if (!args->IsSequence() && !args->IsNull())
        return Error(file, *args, "user \"" + user + "\": exec: args must be a list");
      if (args->IsSequence()) {
        for (const YamlNode& arg : args->items()) {
          if (!arg.IsScalar())
            return Error(file, arg, "user \"" + user + "\": exec: args must be strings");
          config.args.push_back(arg.scalar());
        }
      }
    }
    if (const YamlNode* env = exec.Get("env")) {
      if (!env->IsSequence() && !env->IsNull())
        return Error(file, *env, "user \"" + user + "\": exec: env must be a list");
      if (env->IsSequence()) {
        for (const YamlNode& var : env->items()) {
          std::string name = ScalarOr(var, "name");
          if (name.empty())
            return Error(file, var,
                         "user \"" + user + "\": exec: env variable name must be specified");
          config.env.emplace_back(name, ScalarOr(var, "value"));
        }
      }
    }
    config.install_hint = ScalarOr(exec, "installHint");
    std::string provide = ScalarOr(exec, "provideClusterInfo");
    if (!provide.empty() && provide != "true" && provide != "false")
      return Error(file, *exec.Get("provideClusterInfo"),
                   "user \"" + user + "\": exec: provideClusterInfo must be true or false");
    config.provide_cluster_info = provide == "true";
    std::string mode = ScalarOr(exec, "interactiveMode");
    if (mode.empty()) {
      if (config.api_version == kExecApiV1) {
        return Error(file, exec,
                     "user \"" + user + "\": exec: interactiveMode must be specified for " +
                         kExecApiV1 + " (Never, IfAvailable or Always)");
      }
      mode = "IfAvailable";  // v1beta1's default
    }
    if (mode != "Never" && mode != "IfAvailable" && mode != "Always") {
      return Error(file, *exec.Get("interactiveMode"),
                   "user \"" + user + "\": exec: invalid interactiveMode " + mode +
                       "; use Never, IfAvailable or Always");
    }
    config.interactive_mode = mode;
    config.server = conn->server;
    config.ca_pem = conn->ca_pem;
    config.insecure_skip_tls_verify = conn->insecure_skip_tls_verify;
    conn->exec = std::move(config);
    return Status::Ok();
  }

  static Status ReadUser(const Named& at, const std::string& name, KubeConnection* conn) {
    const YamlNode& user = *at.body;
    const KubeconfigFile& file = *at.origin;
    if (!user.IsMap()) return Error(file, user, "user \"" + name + "\" is not a map");
    for (const char* unsupported : {"auth-provider", "username", "password"}) {
      if (const YamlNode* v = user.Get(unsupported)) {
        return Error(file, *v,
                     "user \"" + name + "\" uses " + unsupported +
                         ", which this controller does not support; use a token, tokenFile, a "
                         "client certificate or an exec plugin");
      }
    }
    conn->token = ScalarOr(user, "token");
    const YamlNode* token_file = user.Get("tokenFile");
    if (token_file && token_file->IsScalar() && !token_file->scalar().empty()) {
      conn->token_file = Resolve(file.dir, token_file->scalar());
      std::string ignored;
      Status s = ReadWholeFile(conn->token_file, &ignored);
      if (!s.ok()) return Error(file, *token_file, "tokenFile " + s.message());
    }
    Status s = ReadPem(at, "client-certificate", "client-certificate-data", &conn->client_cert_pem);
    if (!s.ok()) return s;
    s = ReadPem(at, "client-key", "client-key-data", &conn->client_key_pem);
    if (!s.ok()) return s;
    if (conn->client_cert_pem.empty() != conn->client_key_pem.empty()) {
      return Error(
          file, user,
          "user \"" + name + "\" needs both a client certificate and a client key, or neither");
    }
    if (const YamlNode* exec = user.Get("exec")) {
      if (!exec->IsNull()) return ReadExec(at, *exec, name, conn);
    }
    return Status::Ok();
  }

  const std::vector<std::unique_ptr<KubeconfigFile>>& files_;
  std::string current_context_;
  std::map<std::string, Named> clusters_;
  std::map<std::string, Named> users_;
  std::map<std::string, Named> contexts_;
};

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

StatusOr<KubeConnection> LoadInClusterConnection(const std::string& service_account_dir,
                                                 const EnvLookup& env) {
  std::optional<std::string> host = env("KUBERNETES_SERVICE_HOST");
  std::optional<std::string> port = env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return FailedPreconditionError(
        "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running "
        "in a pod?); pass --kubeconfig FILE or set kubernetes.kubeconfig");
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

StatusOr<KubeConnection> LoadKubeconfigFiles(const std::vector<std::string>& paths,
                                             bool explicit_file, const std::string& context) {
  std::vector<std::unique_ptr<KubeconfigFile>> files;
  std::vector<std::string> missing;
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT && !explicit_file) {
      missing.push_back(path);  // kubectl skips missing files of the list
      continue;
    }
    Status file = CheckRegularFile(path);
    if (!file.ok()) return NotFoundError("kubeconfig " + path + ": cannot read: " + file.message());
    StatusOr<YamlNode> root = ParseYamlFile(path);
    if (!root.ok()) return Status(root.status().code(), "kubeconfig " + root.status().message());
    files.push_back(std::make_unique<KubeconfigFile>(
        KubeconfigFile{path, DirName(path), std::move(root).value()}));
  }
  if (files.empty()) {
    std::string names;
    for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
    return NotFoundError("kubeconfig: none of the files exists (" + names + ")");
  }
  KubeconfigReader reader(files);
  return reader.Read(context);
}

StatusOr<KubeConnection> LoadKubeconfig(const std::string& path, const std::string& context) {
  return LoadKubeconfigFiles({path}, /*explicit_file=*/true, context);
}

StatusOr<KubeConnection> LoadKubeConnection(const std::string& path, const std::string& context,
                                            const std::string& service_account_dir,
                                            const EnvLookup& env) {
  if (!path.empty()) return LoadKubeconfig(path, context);
  std::optional<std::string> host = env("KUBERNETES_SERVICE_HOST");
  bool in_cluster = host && !host->empty();
  auto load_in_cluster = [&]() -> StatusOr<KubeConnection> {
    if (!context.empty()) {
      return InvalidArgumentError("--context " + context +
                                  ": no kubeconfig to pick it from (in a pod without "
                                  "--kubeconfig or KUBECONFIG the service account is used)");
    }
    return LoadInClusterConnection(service_account_dir, env);
  };
  std::optional<std::string> list = env("KUBECONFIG");
  if (list && !list->empty()) {
    // filepath.SplitList, then client-go's deduplicate (first one kept).
    std::vector<std::string> files;
    std::stringstream items(*list);
    std::string item;
    while (std::getline(items, item, ':')) {
      if (item.empty() || std::find(files.begin(), files.end(), item) != files.end()) continue;
      files.push_back(item);
    }
    StatusOr<KubeConnection> merged = LoadKubeconfigFiles(files, /*explicit_file=*/false, context);
    if (merged.ok() || merged.status().code() != StatusCode::kNotFound ||
        merged.status().message().rfind("kubeconfig: none of the files exists", 0) != 0) {
      return merged;
    }
    // Nothing to merge: client-go's deferred loading falls back to
    // in-cluster for an empty config.
    if (in_cluster) return load_in_cluster();
    return NotFoundError("kubeconfig: no file of $KUBECONFIG exists (" + *list +
                         "); fix KUBECONFIG or pass --kubeconfig FILE");
  }
  std::optional<std::string> home = env("HOME");
  bool home_file = home && !home->empty() && FileExists(*home + "/.kube/config");
  if (in_cluster && context.empty()) {
    // controller-runtime tries ~/.kube/config when in-cluster settings are
    // unusable (no token mounted); with neither, the in-cluster error says
    // what is missing.
    StatusOr<KubeConnection> conn = load_in_cluster();
    if (conn.ok() || !home_file) return conn;
  }
  if (home_file) return LoadKubeconfig(*home + "/.kube/config", context);
  if (in_cluster) return load_in_cluster();
  return FailedPreconditionError(
      "no Kubernetes connection: not in a cluster (KUBERNETES_SERVICE_HOST unset), no "
      "$KUBECONFIG and no ~/.kube/config; pass --kubeconfig FILE or set kubernetes.kubeconfig");
}

}  // namespace amsha
