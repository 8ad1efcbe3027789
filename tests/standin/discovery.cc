#include "standin/discovery.h"

#include <vector>

#include "standin/validation.h"

namespace amsha::standin {
namespace {

Json Strings(const std::vector<std::string>& values) {
  Json out = Json::array();
  for (size_t i = 0; i < values.size(); ++i) out[i] = Json::string(values[i]);
  return out;
}

Json Resource(const std::string& name, const std::string& singular, const std::string& kind,
              bool namespaced, const std::vector<std::string>& verbs,
              const std::vector<std::string>& short_names, bool in_all) {
  Json r = Json::object();
  r["name"] = Json::string(name);
  r["singularName"] = Json::string(singular);
  r["namespaced"] = Json::boolean(namespaced);
  r["kind"] = Json::string(kind);
  r["verbs"] = Strings(verbs);
  if (!short_names.empty()) r["shortNames"] = Strings(short_names);
  if (in_all) r["categories"] = Strings({"all"});
  return r;
}

}  // namespace

Json VersionInfo() {
  Json v = Json::object();
  v["major"] = Json::string("1");
  v["minor"] = Json::string("31");
  v["gitVersion"] = Json::string("v1.31.0-standin");
  v["gitCommit"] = Json::string("0000000000000000000000000000000000000000");
  v["gitTreeState"] = Json::string("clean");
  v["buildDate"] = Json::string("2024-08-13T00:00:00Z");
  v["goVersion"] = Json::string("go1.22.5");
  v["compiler"] = Json::string("gc");
  v["platform"] = Json::string("linux/amd64");
  return v;
}

Json ApiVersions(const std::string& server_address) {
  Json v = Json::object();
  v["kind"] = Json::string("APIVersions");
  v["versions"] = Strings({"v1"});
  Json cidr = Json::object();
  cidr["clientCIDR"] = Json::string("0.0.0.0/0");
  cidr["serverAddress"] = Json::string(server_address);
  v["serverAddressByClientCIDRs"] = Json::array();
  v["serverAddressByClientCIDRs"][0] = cidr;
  return v;
}

Json CoreV1Resources() {
  const std::vector<std::string> all = {"create", "delete", "get",  "list",
                                        "patch",  "update", "watch"};
  Json list = Json::object();
  list["kind"] = Json::string("APIResourceList");
  list["groupVersion"] = Json::string("v1");
  Json r = Json::array();
  r[0] = Resource("pods", "pod", "Pod", true, all, {"po"}, true);
  r[1] = Resource("services", "service", "Service", true, all, {"svc"}, true);
  r[2] = Resource("events", "event", "Event", true, all, {"ev"}, false);
  r[3] = Resource("namespaces", "namespace", "Namespace", false, {"get", "list"}, {"ns"}, false);
  list["resources"] = r;
  return list;
}

Json ApiGroupList() {
  Json g = Json::object();
  g["kind"] = Json::string("APIGroupList");
  g["apiVersion"] = Json::string("v1");
  g["groups"] = Json::array();
  return g;
}

Json OpenApiV3Index() {
  Json path = Json::object();
  path["serverRelativeURL"] = Json::string("/openapi/v3/api/v1?hash=standin");
  Json index = Json::object();
  index["paths"] = Json::object();
  index["paths"]["api/v1"] = path;
  return index;
}

Json OpenApiV3CoreV1() {
  Json paths = Json::object();
  for (const char* resource : {"pods", "services", "events"}) {
    Json gvk = Json::object();
    gvk["group"] = Json::string("");
    gvk["version"] = Json::string("v1");
    gvk["kind"] = Json::string(KindOf(resource));
    Json patch = Json::object();
    patch["x-kubernetes-group-version-kind"] = gvk;
    patch["responses"] = Json::object();
    Json param = Json::object();
    param["name"] = Json::string("fieldValidation");
    param["in"] = Json::string("query");
    param["schema"] = Json::object();
    param["schema"]["type"] = Json::string("string");
    // Like the API server: the query parameters of PATCH sit on the operation.
    patch["parameters"] = Json::array();
    patch["parameters"][0] = param;
    Json item = Json::object();
    item["patch"] = patch;
    paths[std::string("/api/v1/namespaces/{namespace}/") + resource + "/{name}"] = item;
  }
  Json doc = Json::object();
  doc["openapi"] = Json::string("3.0.0");
  doc["info"] = Json::object();
  doc["info"]["title"] = Json::string("Kubernetes API stand-in");
  doc["info"]["version"] = Json::string("v1.31.0");
  doc["paths"] = paths;
  return doc;
}

bool IsServedResource(const std::string& resource) {
  return resource == "pods" || resource == "services" || resource == "events";
}

std::string ListKindOf(const std::string& resource) { return KindOf(resource) + "List"; }

}  // namespace amsha::standin
