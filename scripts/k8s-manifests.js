#!/usr/bin/env node
// Offline checks of rendered Kubernetes manifests, for scripts/check-chart.sh.
//
//   node scripts/k8s-manifests.js validate FILE...
//       Every object is validated against the Kubernetes API schema of its
//       kind (npm kubernetes-models; prometheus-operator kinds from
//       @kubernetes-models/prometheus-operator), and, like `kubectl
//       --validate=strict`, every field the schema does not know is an error.
//   node scripts/k8s-manifests.js assert-rbac FILE SERVICE...
//       The RBAC objects in FILE are exactly the least privilege the
//       controller needs (README.md, "RBAC"): one namespaced Role with pods
//       get/list/watch/patch, services get/watch/patch limited to SERVICE...,
//       events create/patch; a RoleBinding of it to the ServiceAccount; no
//       cluster-wide objects.
//   node scripts/k8s-manifests.js assert-chart FILE
//       What issue 6 asks of the rendered chart: restricted security context
//       on every container, health probes, downward-API identity, checksum
//       annotation, anti-affinity, a PodDisruptionBudget, leader Services
//       that select no pod until the controller routes, no Secret rendered
//       and no password in the configuration.
//   node scripts/k8s-manifests.js kinds FILE
//       Prints "Kind/name" of every object, one per line.
//   node scripts/k8s-manifests.js config FILE
//       Prints the controller configuration (config.yaml of the ConfigMap).
//
// Exit status 1 with one line per problem. Needs `npm ci` at the repository
// root (package.json).
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const modules = path.join(__dirname, "..", "node_modules");

// apiVersion -> where the validator of each kind lives.
const kSchemaFiles = {
  v1: (kind) => `kubernetes-models/_schemas/IoK8sApiCoreV1${kind}.js`,
  "apps/v1": (kind) => `kubernetes-models/_schemas/IoK8sApiAppsV1${kind}.js`,
  "batch/v1": (kind) => `kubernetes-models/_schemas/IoK8sApiBatchV1${kind}.js`,
  "policy/v1": (kind) => `kubernetes-models/_schemas/IoK8sApiPolicyV1${kind}.js`,
  "rbac.authorization.k8s.io/v1": (kind) => `kubernetes-models/_schemas/IoK8sApiRbacV1${kind}.js`,
  "monitoring.coreos.com/v1": (kind) =>
    `@kubernetes-models/prometheus-operator/_schemas/MonitoringCoreosComV1${kind}.js`,
};

function readObjects(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

function describe(obj) {
  const name = (obj.metadata && obj.metadata.name) || "<no name>";
  return `${obj.kind || "<no kind>"}/${name}`;
}

// Wraps `value` so that every property the validator reads is recorded;
// what it never reads is a field the schema does not define.
function track(value, where, seen) {
  if (value === null || typeof value !== "object") return value;
  const read = new Set();
  seen.push({ where, value, read });
  const children = {};
  return new Proxy(value, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver);
      if (typeof key !== "string" || !Object.prototype.hasOwnProperty.call(target, key)) {
        return child;
      }
      read.add(key);
      if (!(key in children)) children[key] = track(child, `${where}/${key}`, seen);
      return children[key];
    },
  });
}

function validateObject(obj) {
  const problems = [];
  const locate = kSchemaFiles[obj.apiVersion];
  if (!locate || !obj.kind) {
    return [`no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`];
  }
  const file = path.join(modules, locate(obj.kind));
  if (!fs.existsSync(file)) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  const { validate } = require(file);
  const seen = [];
  if (!validate(track(obj, "", seen))) {
    for (const e of validate.errors) {
      problems.push(`${e.instancePath || "/"}: ${e.keyword} ${JSON.stringify(e.params)}`);
    }
  }
  for (const { where, value, read } of seen) {
    if (Array.isArray(value)) continue;
    for (const key of Object.keys(value)) {
      if (!read.has(key)) problems.push(`${where}/${key}: unknown field`);
    }
  }
  if (!obj.metadata || !obj.metadata.name) problems.push("/metadata/name: missing");
  return problems;
}

function validateFiles(files) {
  let count = 0;
  const problems = [];
  for (const file of files) {
    for (const obj of readObjects(file)) {
      count++;
      for (const p of validateObject(obj)) problems.push(`${file}: ${describe(obj)}: ${p}`);
    }
  }
  if (count === 0) problems.push(`no objects in ${files.join(" ")}`);
  return { count, problems };
}

function sorted(list) {
  return [...(list || [])].sort();
}

function sameRule(actual, expected) {
  const fields = ["apiGroups", "resources", "resourceNames", "verbs", "nonResourceURLs"];
  return fields.every(
    (f) => JSON.stringify(sorted(actual[f])) === JSON.stringify(sorted(expected[f])),
  );
}

// The rules the controller's Kubernetes client needs: exactly the calls
// RestKubeApi makes (controller/kube/api_permissions.json, which
// tests/integration/rest_kube_api_test.cc checks against the client's
// recorded requests), services only for the managed names.
function requiredRules(services) {
  const file = path.join(__dirname, "..", "controller", "kube", "api_permissions.json");
  const spec = JSON.parse(fs.readFileSync(file, "utf8"));
  return spec.rules.map((r) => {
    const rule = { apiGroups: [""], resources: [r.resource], verbs: r.verbs };
    if (r.resourceNames === "managed") rule.resourceNames = services;
    return rule;
  });
}

function assertRbac(file, services) {
  const problems = [];
  const objects = readObjects(file);
  const expected = requiredRules(services);
  for (const obj of objects) {
    if (obj.kind === "ClusterRole" || obj.kind === "ClusterRoleBinding") {
      problems.push(`${describe(obj)}: nothing cluster-wide may be granted`);
    }
  }
  const roles = objects.filter((o) => o.kind === "Role");
  const bindings = objects.filter((o) => o.kind === "RoleBinding");
  const accounts = objects.filter((o) => o.kind === "ServiceAccount");
  if (roles.length !== 1) return [...problems, `expected exactly one Role, found ${roles.length}`];
  const role = roles[0];
  const rules = role.rules || [];
  for (const want of expected) {
    if (!rules.some((r) => sameRule(r, want))) {
      problems.push(`Role ${role.metadata.name}: missing the rule ${JSON.stringify(want)}`);
    }
  }
  for (const rule of rules) {
    if (!expected.some((want) => sameRule(rule, want))) {
      problems.push(`Role ${role.metadata.name}: rule beyond least privilege: ${JSON.stringify(rule)}`);
    }
  }
  if (bindings.length !== 1) {
    problems.push(`expected exactly one RoleBinding, found ${bindings.length}`);
  } else {
    const b = bindings[0];
    if (b.roleRef.kind !== "Role" || b.roleRef.name !== role.metadata.name) {
      problems.push(`RoleBinding ${b.metadata.name}: must bind Role ${role.metadata.name}`);
    }
    const subjects = b.subjects || [];
    const account = accounts.length === 1 ? accounts[0].metadata.name : undefined;
    if (subjects.length !== 1 || subjects[0].kind !== "ServiceAccount" ||
        (account && subjects[0].name !== account)) {
      problems.push(`RoleBinding ${b.metadata.name}: must bind only the controller's ServiceAccount`);
    }
  }
  const deployments = objects.filter((o) => o.kind === "Deployment");
  for (const d of deployments) {
    const sa = d.spec.template.spec.serviceAccountName;
    if (bindings.length === 1 && bindings[0].subjects[0].name !== sa) {
      problems.push(`Deployment ${d.metadata.name}: runs as ${sa}, not the bound ServiceAccount`);
    }
  }
  return problems;
}

function assertChart(file) {
  const problems = [];
  const objects = readObjects(file);
  const deployments = objects.filter((o) => o.kind === "Deployment");
  if (deployments.length !== 1) problems.push(`expected one Deployment, found ${deployments.length}`);
  for (const d of deployments) {
    const where = `Deployment ${d.metadata.name}`;
    const pod = d.spec.template.spec;
    const psc = pod.securityContext || {};
    if (psc.runAsNonRoot !== true) problems.push(`${where}: pod securityContext.runAsNonRoot must be true`);
    if (!psc.seccompProfile || psc.seccompProfile.type !== "RuntimeDefault") {
      problems.push(`${where}: pod seccompProfile must be RuntimeDefault`);
    }
    for (const c of [...(pod.initContainers || []), ...pod.containers]) {
      const sc = c.securityContext || {};
      const at = `${where} container ${c.name}`;
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem must be true`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation must be false`);
      if (!sc.capabilities || !(sc.capabilities.drop || []).includes("ALL")) {
        problems.push(`${at}: capabilities must drop ALL`);
      }
    }
    const main = pod.containers.find((c) => (c.args || [])[0] === "run");
    if (!main) {
      problems.push(`${where}: no container runs "ams-ha-controller run"`);
      continue;
    }
    const probePath = (p) => p && p.httpGet && p.httpGet.path;
    if (probePath(main.livenessProbe) !== "/healthz") problems.push(`${where}: liveness must GET /healthz`);
    if (probePath(main.readinessProbe) !== "/readyz") problems.push(`${where}: readiness must GET /readyz`);
    const env = Object.fromEntries((main.env || []).map((e) => [e.name, e]));
    for (const [name, field] of [["POD_NAME", "metadata.name"], ["POD_NAMESPACE", "metadata.namespace"]]) {
      const ref = env[name] && env[name].valueFrom && env[name].valueFrom.fieldRef;
      if (!ref || ref.fieldPath !== field) problems.push(`${where}: ${name} must come from ${field}`);
    }
    const annotations = d.spec.template.metadata.annotations || {};
    if (!/^[0-9a-f]{64}$/.test(annotations["checksum/config"] || "")) {
      problems.push(`${where}: pod template needs the checksum/config annotation`);
    }
    if (!pod.affinity || !pod.affinity.podAntiAffinity) problems.push(`${where}: no pod anti-affinity`);
    const pdbs = objects.filter((o) => o.kind === "PodDisruptionBudget");
    const labels = d.spec.template.metadata.labels;
    if (!pdbs.some((p) => Object.entries(p.spec.selector.matchLabels || {}).every(([k, v]) => labels[k] === v))) {
      problems.push(`${where}: no PodDisruptionBudget selects its pods`);
    }
  }
  const config = objects.find((o) => o.kind === "ConfigMap" && o.data && o.data["config.yaml"]);
  if (!config) {
    problems.push("no ConfigMap with config.yaml");
  } else {
    const parsed = YAML.parse(config.data["config.yaml"]);
    if (!parsed.database || !parsed.database.passwordFile) problems.push("config.yaml: database.passwordFile not set");
    if (/password\s*[:=]/i.test(config.data["config.yaml"].replace(/passwordFile/g, ""))) {
      problems.push("config.yaml: must not contain a password");
    }
    for (const cluster of parsed.clusters || []) {
      const name = cluster.service || "ams-leader";
      const service = objects.find((o) => o.kind === "Service" && o.metadata.name === name);
      if (!service) continue;  // leaderService.create=false
      // The controller owns spec.selector: a rendered selector would be
      // reset by every helm upgrade, Argo CD or Flux sync.
      if (service.spec.selector !== undefined) {
        problems.push(`Service ${name}: must not render spec.selector (the controller owns it), renders ${JSON.stringify(service.spec.selector)}`);
      }
      const ports = Object.fromEntries((service.spec.ports || []).map((p) => [p.name, p.port]));
      const wantPorts = { table: 1260, optimizing: 1261, rest: 1630, ...(cluster.ports || {}) };
      for (const [portName, port] of Object.entries(wantPorts)) {
        if (ports[portName] !== port) problems.push(`Service ${name}: port ${portName} must be ${port}`);
      }
    }
  }
  for (const o of objects) {
    if (o.kind === "Secret") problems.push(`${describe(o)}: the chart must not render Secrets`);
    if (o.kind === "ConfigMap" && o.metadata.labels && o.metadata.labels.grafana_dashboard !== undefined) {
      if (o.metadata.labels.grafana_dashboard !== "1") problems.push(`${describe(o)}: grafana_dashboard must be "1"`);
      for (const [key, text] of Object.entries(o.data || {})) {
        try {
          JSON.parse(text);
        } catch (e) {
          problems.push(`${describe(o)}: ${key} is not JSON: ${e.message}`);
        }
      }
    }
    if (o.kind === "PrometheusRule" && !((o.spec && o.spec.groups) || []).length) {
      problems.push(`${describe(o)}: no rule groups`);
    }
  }
  return problems;
}

function controllerConfig(file) {
  for (const obj of readObjects(file)) {
    if (obj.kind === "ConfigMap" && obj.data && obj.data["config.yaml"]) return obj.data["config.yaml"];
  }
  throw new Error(`${file}: no ConfigMap with config.yaml`);
}

function main(argv) {
  const [command, ...args] = argv;
  let problems = [];
  if (command === "validate" && args.length > 0) {
    const result = validateFiles(args);
    problems = result.problems;
    if (!problems.length) console.log(`k8s-manifests: ${result.count} objects valid (strict)`);
  } else if (command === "assert-rbac" && args.length > 1) {
    problems = assertRbac(args[0], args.slice(1));
    if (!problems.length) console.log(`k8s-manifests: RBAC is exactly the least set (${args.slice(1).join(", ")})`);
  } else if (command === "assert-chart" && args.length === 1) {
    problems = assertChart(args[0]);
    if (!problems.length) console.log("k8s-manifests: chart invariants hold");
  } else if (command === "kinds" && args.length === 1) {
    for (const o of readObjects(args[0])) console.log(describe(o));
  } else if (command === "config" && args.length === 1) {
    process.stdout.write(controllerConfig(args[0]));
  } else {
    console.error(
      "usage: k8s-manifests.js validate FILE... | assert-rbac FILE SERVICE... | assert-chart FILE | kinds FILE | config FILE",
    );
    return 2;
  }
  for (const p of problems) console.error(`k8s-manifests: ${p}`);
  return problems.length ? 1 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`k8s-manifests: ${e.message}`);
  process.exitCode = 1;
}
