#!/usr/bin/env node
// Checks an AMS StatefulSet manifest (its ConfigMap's config.yaml and the
// AMS container) against the start-up rules of Apache Amoro 0.9.0 and the
// controller's configuration of the cluster, for scripts/check-chart.sh.
//
//   node scripts/ams-config-rules.js check AMS.yaml VALUES.yaml
//   node scripts/ams-config-rules.js check-mutated AMS.yaml VALUES.yaml 'JS'
//       The same after running JS on the parsed objects (`ams`: the
//       StatefulSet's config.yaml as an object, `sts`: the StatefulSet,
//       `cluster`: clusters[0] of the values), so that check-chart.sh can
//       prove each rule rejects what it must.
//
// The rules, each read from Amoro's code (docs/amoro.md names the files and
// the commit):
//   expose-host  AmoroManagementConfValidator: server-expose-host must be
//                set, and AmsUtil.lookForBindHost must find a local
//                interface address starting with it (a prefix starting with
//                "0" is refused): so a literal IP prefix, or the pod IP
//                from status.podIP through AMS_SERVER__EXPOSE__HOST
//                (ConfigHelpers.convertConfigurationKeys: environment over
//                config.yaml). A DNS name never matches and AMS exits.
//   database     for mysql/postgres the validator needs database.username
//                and database.password (either from the file or from
//                AMS_DATABASE_USERNAME / AMS_DATABASE_PASSWORD); the
//                controller shares ha_lease in PostgreSQL, so type postgres
//                and a jdbc:postgresql url (Amoro's default is Derby).
//   ha           ha.cluster-name is the cluster's name; manage mode: Amoro's
//                HA off (ha.enabled false) and AMS under the gate; follow
//                mode: ha.enabled true, ha.type database (Amoro's default
//                is zk), no gate, lease-ttl / heartbeat-interval equal to
//                the cluster's leaseTtl / heartbeatInterval; never
//                ha.use-master-slave-mode (not supported: README).
//   ports        the AMS bind ports equal the container ports and the
//                cluster's ports; http-server.bind-port must be written
//                (Amoro's default is 19090, not 1630).
//   entrypoint   AMS starts through the image's entrypoint: /entrypoint.sh ams.
//   optimizers   every optimizer container sets ams-optimizing-uri to the
//                cluster's Service (AMS would hand out its pod IP).
//   documented   the cluster's `ams:` block (values) says what config.yaml
//                says, key by key.
// Exit status 1 with one line per problem ("rule: message").
"use strict";

const fs = require("fs");
const YAML = require("yaml");

// ConfigHelpers.convertConfigurationKeys("AMS", env): AMS_SERVER__EXPOSE__HOST
// -> server-expose-host, AMS_DATABASE_PASSWORD -> database.password.
function amoroKeyOfEnv(name) {
  if (!name.startsWith("AMS_")) return null;
  return name
    .slice(4)
    .toLowerCase()
    .replace(/_{2,}/g, "-")
    .replace(/_/g, ".");
}

// AmoroServiceContainer.expandConfigMap: nested maps to dotted keys.
function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

function durationMs(v) {
  if (typeof v === "number") return v;  // Amoro: a bare number is ms
  const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(String(v));
  if (!m) return NaN;
  const unit = { "": 1, ms: 1, s: 1000, sec: 1000, m: 60000, min: 60000, h: 3600000 }[m[2].toLowerCase()];
  return unit === undefined ? NaN : Number(m[1]) * unit;
}

// Our durations ("30s", "1m30s", "500ms").
function ourMs(v, fallback) {
  if (v === undefined) return fallback;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m;
  while ((m = re.exec(v))) total += Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2]];
  return total;
}

function check(ams, sts, cluster, namespace) {
  const problems = [];
  const add = (rule, msg) => problems.push(`${rule}: ${msg}`);
  const container = sts.spec.template.spec.containers[0];
  const conf = flatten(ams.ams, "", {});
  // Effective settings: environment over config.yaml, as Amoro merges them.
  const fromEnv = {};
  for (const e of container.env || []) {
    const key = amoroKeyOfEnv(e.name);
    if (key) fromEnv[key] = e;
  }
  const setting = (key) => {
    if (fromEnv[key]) {
      const e = fromEnv[key];
      if (e.value !== undefined) return { value: String(e.value), how: `env ${e.name}` };
      if (e.valueFrom && e.valueFrom.fieldRef) {
        return { fieldRef: e.valueFrom.fieldRef.fieldPath, how: `env ${e.name}` };
      }
      if (e.valueFrom && e.valueFrom.secretKeyRef) return { secret: true, how: `env ${e.name}` };
    }
    if (conf[key] !== undefined && conf[key] !== null) return { value: String(conf[key]), how: "config.yaml" };
    return null;
  };

  // expose-host
  const expose = setting("server-expose-host");
  if (!expose || expose.value === "") {
    add("expose-host", "ams.server-expose-host must be set (the pod IP: AMS_SERVER__EXPOSE__HOST from status.podIP)");
  } else if (expose.fieldRef !== undefined) {
    if (expose.fieldRef !== "status.podIP") {
      add("expose-host", `${expose.how} comes from ${expose.fieldRef}; only status.podIP is an address of the pod's own interface`);
    }
  } else if (expose.secret) {
    add("expose-host", `${expose.how} comes from a Secret; use status.podIP`);
  } else if (!/^[0-9a-f.:]+$/i.test(expose.value) || expose.value.startsWith("0")) {
    add("expose-host", `server-expose-host "${expose.value}" (${expose.how}) is not the prefix of a pod IP: Amoro looks for a local interface address starting with it (AmsUtil.lookForBindHost) and exits at start-up`);
  }

  // database
  const type = String(conf["database.type"] || "derby").toLowerCase();
  if (type === "mysql" || type === "postgres") {
    for (const k of ["database.username", "database.password"]) {
      const s = setting(k);
      if (!s || s.value === "") add("database", `${k} must be set for ${type} (config.yaml or AMS_${k.replace(".", "_").toUpperCase()})`);
    }
  }
  if (type !== "postgres") {
    add("database", `database.type is ${type}: AMS and the controller share ha_lease in PostgreSQL (type postgres)`);
  }
  const url = setting("database.url");
  if (!url || !/^jdbc:postgresql:\/\//.test(url.value || "")) {
    add("database", "database.url must be a jdbc:postgresql:// URL (Amoro's default is an embedded Derby)");
  }

  // ha
  const mode = cluster.mode || "manage";
  const bool = (key) => {
    const s = setting(key);
    return s ? String(s.value).toLowerCase() === "true" : false;
  };
  const clusterName = setting("ha.cluster-name");
  const name = clusterName ? clusterName.value : "default";
  if (name !== cluster.name) {
    add("ha", `ha.cluster-name is "${name}"${clusterName ? "" : " (Amoro's default)"}, the controller's cluster is "${cluster.name}"`);
  }
  if (bool("ha.use-master-slave-mode")) {
    add("ha", "ha.use-master-slave-mode: true is not supported (every AMS serves optimizing, optimizers connect to pod IPs)");
  }
  const command = container.command || [];
  const gated = command.length > 1 && command[1] === "gate";
  if (mode === "manage") {
    if (bool("ha.enabled")) add("ha", "ha.enabled: true contradicts mode: manage (the controller holds the lease)");
    if (!gated || command[command.indexOf("--cluster") + 1] !== cluster.name) {
      add("ha", `mode: manage runs AMS under ams-ha-controller gate --cluster ${cluster.name}`);
    }
  } else {
    if (!bool("ha.enabled")) add("ha", "mode: follow needs ha.enabled: true (AMS elects itself)");
    const t = setting("ha.type");
    if (!t || t.value !== "database") add("ha", `mode: follow needs ha.type: database (is ${t ? t.value : "zk, Amoro's default"})`);
    if (gated) add("ha", "mode: follow runs AMS without the gate");
    const ttl = setting("ha.lease-ttl");
    if (durationMs(ttl ? ttl.value : "30s") !== ourMs(cluster.leaseTtl, 30000)) {
      add("ha", "ha.lease-ttl must equal the cluster's leaseTtl");
    }
    const hb = setting("ha.heartbeat-interval");
    if (durationMs(hb ? hb.value : "10s") !== ourMs(cluster.heartbeatInterval, 10000)) {
      add("ha", "ha.heartbeat-interval must equal the cluster's heartbeatInterval");
    }
  }

  // ports
  const containerPorts = Object.fromEntries((container.ports || []).map((p) => [p.name, p.containerPort]));
  const ports = Object.assign({ table: 1260, optimizing: 1261, rest: 1630 }, cluster.ports || {});
  for (const [key, ours, amoroDefault] of [
    ["thrift-server.table-service.bind-port", "table", 1260],
    ["thrift-server.optimizing-service.bind-port", "optimizing", 1261],
    ["http-server.bind-port", "rest", 19090],
  ]) {
    const s = setting(key);
    if (!s && ours === "rest") {
      add("ports", "http-server.bind-port must be written: Amoro's default is 19090");
      continue;
    }
    const port = s ? Number(s.value) : amoroDefault;
    if (port !== ports[ours]) add("ports", `${key} (${port}) is not the cluster's ports.${ours} (${ports[ours]})`);
    if (containerPorts[ours] !== port) add("ports", `${key} (${port}) is not the container port "${ours}" (${containerPorts[ours]})`);
  }

  // entrypoint
  const start = gated ? command.slice(command.indexOf("--") + 1) : command;
  if (start.join(" ") !== "/entrypoint.sh ams") {
    add("entrypoint", `AMS starts with "${start.join(" ")}"; use the image's own /entrypoint.sh ams (its JVM settings handling)`);
  }

  // optimizers
  const service = cluster.service || "ams-leader";
  const uri = new RegExp(`^thrift://${service}(\\.${namespace}(\\.svc(\\.cluster\\.local)?)?)?:${ports.optimizing}$`);
  for (const c of ams.containers || []) {
    const given = (c.properties || {})["ams-optimizing-uri"];
    if (!given) {
      add("optimizers", `optimizer container ${c.name} has no ams-optimizing-uri: its optimizers would connect to the pod IP of the AMS that started them`);
    } else if (!uri.test(given)) {
      add("optimizers", `optimizer container ${c.name}: ams-optimizing-uri ${given} is not the Service ${service} (thrift://${service}.${namespace}.svc:${ports.optimizing})`);
    }
  }

  // documented: the values' ams: block against config.yaml
  const documented = flatten(cluster.ams || {}, "", {});
  for (const [key, value] of Object.entries(documented)) {
    const s = setting(key);
    const actual = s ? s.value : undefined;
    const same = key.endsWith("lease-ttl") || key.endsWith("heartbeat-interval")
      ? durationMs(value) === durationMs(actual)
      : String(value) === String(actual);
    if (!same) add("documented", `clusters[].ams.${key} is ${value}, config.yaml says ${actual}`);
  }
  return problems;
}

function load(amsFile, valuesFile) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(amsFile, "utf8")).map((d) => d.toJS());
  const sts = docs.find((d) => d && d.kind === "StatefulSet");
  const configMapName = sts.spec.template.spec.volumes.find((v) => v.name === "conf").configMap.name;
  const cm = docs.find((d) => d && d.kind === "ConfigMap" && d.metadata.name === configMapName);
  const ams = YAML.parse(cm.data["config.yaml"]);
  const values = YAML.parse(fs.readFileSync(valuesFile, "utf8"));
  return { ams, sts, cluster: values.clusters[0], namespace: sts.metadata.namespace };
}

function main() {
  const [verb, amsFile, valuesFile, mutation] = process.argv.slice(2);
  if (!["check", "check-mutated"].includes(verb) || !amsFile || !valuesFile) {
    console.error("usage: ams-config-rules.js check|check-mutated AMS.yaml VALUES.yaml [JS]");
    process.exit(2);
  }
  const { ams, sts, cluster, namespace } = load(amsFile, valuesFile);
  if (verb === "check-mutated") {
    // eslint-disable-next-line no-new-func
    new Function("ams", "sts", "cluster", mutation)(ams, sts, cluster);
  }
  const problems = check(ams, sts, cluster, namespace);
  for (const p of problems) console.log(p);
  process.exit(problems.length ? 1 : 0);
}

main();
