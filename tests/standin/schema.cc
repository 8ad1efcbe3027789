#include "standin/schema.h"

#include <map>
#include <memory>

namespace amsha::standin {
namespace {

// A type: an object with named fields, a map (any keys, values of one
// type), an array of one type, or anything (scalars and opaque parts).
struct Type {
  enum Kind { kAny, kObject, kMap, kArray } kind = kAny;
  std::map<std::string, std::shared_ptr<const Type>> fields;
  std::shared_ptr<const Type> element;
};
using TypePtr = std::shared_ptr<const Type>;

TypePtr Any() {
  static TypePtr any = std::make_shared<Type>();
  return any;
}
TypePtr Obj(std::initializer_list<std::pair<const std::string, TypePtr>> fields) {
  auto t = std::make_shared<Type>();
  t->kind = Type::kObject;
  t->fields = fields;
  return t;
}
// An object whose fields are all scalars (or opaque).
TypePtr Scalars(std::initializer_list<const char*> names) {
  auto t = std::make_shared<Type>();
  t->kind = Type::kObject;
  for (const char* n : names) t->fields[n] = Any();
  return t;
}
TypePtr Map() {
  auto t = std::make_shared<Type>();
  t->kind = Type::kMap;
  t->element = Any();
  return t;
}
TypePtr Array(TypePtr element) {
  auto t = std::make_shared<Type>();
  t->kind = Type::kArray;
  t->element = std::move(element);
  return t;
}

// meta/v1 ObjectMeta and OwnerReference.
TypePtr ObjectMeta() {
  static TypePtr t = Obj({
      {"name", Any()},
      {"generateName", Any()},
      {"namespace", Any()},
      {"selfLink", Any()},
      {"uid", Any()},
      {"resourceVersion", Any()},
      {"generation", Any()},
      {"creationTimestamp", Any()},
      {"deletionTimestamp", Any()},
      {"deletionGracePeriodSeconds", Any()},
      {"labels", Map()},
      {"annotations", Map()},
      {"ownerReferences",
       Array(Scalars({"apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"}))},
      {"finalizers", Array(Any())},
      {"managedFields", Any()},
  });
  return t;
}

// core/v1 ObjectReference.
TypePtr Reference() {
  static TypePtr t =
      Scalars({"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"});
  return t;
}

TypePtr EventType() {
  static TypePtr t = Obj({
      {"apiVersion", Any()},
      {"kind", Any()},
      {"metadata", ObjectMeta()},
      {"involvedObject", Reference()},
      {"reason", Any()},
      {"message", Any()},
      {"source", Scalars({"component", "host"})},
      {"firstTimestamp", Any()},
      {"lastTimestamp", Any()},
      {"count", Any()},
      {"type", Any()},
      {"eventTime", Any()},
      {"series", Scalars({"count", "lastObservedTime"})},
      {"action", Any()},
      {"related", Reference()},
      {"reportingComponent", Any()},
      {"reportingInstance", Any()},
  });
  return t;
}

TypePtr ServiceType() {
  static TypePtr t = Obj({
      {"apiVersion", Any()},
      {"kind", Any()},
      {"metadata", ObjectMeta()},
      {"spec", Obj({
                   {"ports", Array(Scalars({"name", "protocol", "appProtocol", "port", "targetPort",
                                            "nodePort"}))},
                   {"selector", Map()},
                   {"clusterIP", Any()},
                   {"clusterIPs", Array(Any())},
                   {"type", Any()},
                   {"externalIPs", Array(Any())},
                   {"sessionAffinity", Any()},
                   {"loadBalancerIP", Any()},
                   {"loadBalancerSourceRanges", Array(Any())},
                   {"externalName", Any()},
                   {"externalTrafficPolicy", Any()},
                   {"healthCheckNodePort", Any()},
                   {"publishNotReadyAddresses", Any()},
                   {"sessionAffinityConfig", Any()},
                   {"ipFamilies", Array(Any())},
                   {"ipFamilyPolicy", Any()},
                   {"allocateLoadBalancerNodePorts", Any()},
                   {"loadBalancerClass", Any()},
                   {"internalTrafficPolicy", Any()},
                   {"trafficDistribution", Any()},
               })},
      {"status", Any()},
  });
  return t;
}

TypePtr PodType() {
  static TypePtr t = Obj({
      {"apiVersion", Any()},
      {"kind", Any()},
      {"metadata", ObjectMeta()},
      {"spec", Any()},
      {"status", Any()},
  });
  return t;
}

void Walk(const Type& type, Json* value, const std::string& path, bool drop,
          std::vector<std::string>* unknown) {
  if (type.kind == Type::kObject && value->is_object()) {
    std::vector<std::string> gone;
    for (auto& [key, member] : value->as_object()) {
      std::string at = path.empty() ? key : path + "." + key;
      auto it = type.fields.find(key);
      if (it == type.fields.end()) {
        unknown->push_back(at);
        gone.push_back(key);
      } else {
        Walk(*it->second, &member, at, drop, unknown);
      }
    }
    if (drop) {
      for (const auto& key : gone) value->erase(key);
    }
  } else if (type.kind == Type::kArray && value->is_array()) {
    for (size_t i = 0; i < value->size(); ++i) {
      Walk(*type.element, &value->at(i), path + "[" + std::to_string(i) + "]", drop, unknown);
    }
  }
}

}  // namespace

std::vector<std::string> UnknownFields(const std::string& resource, Json* obj, bool drop) {
  TypePtr type = resource == "events"     ? EventType()
                 : resource == "services" ? ServiceType()
                 : resource == "pods"     ? PodType()
                                          : Any();
  std::vector<std::string> unknown;
  Walk(*type, obj, "", drop, &unknown);
  return unknown;
}

}  // namespace amsha::standin
