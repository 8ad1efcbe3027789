{{/*
Rules that span several values, which values.schema.json cannot express.
They mirror controller/config/config_validator.cc, so that `helm install`
fails with the same complaint `ams-ha-controller check-config` would make,
before anything reaches the cluster. Each failure is one line naming the
values to fix.
*/}}

{{/* "1m30s" -> milliseconds, as a string ("90000"); the schema has already checked the form. */}}
{{- define "ams-ha-controller.ms" -}}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9.]+(ms|h|m|s)" (toString .) -1 }}
{{- $number := regexFind "^[0-9.]+" . | float64 }}
{{- $unit := trimPrefix (regexFind "^[0-9.]+" .) . }}
{{- $scale := dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 }}
{{- $total = addf $total (mulf $number (get $scale $unit)) }}
{{- end }}
{{- round $total 0 | int64 }}
{{- end }}

{{- define "ams-ha-controller.validate" -}}
{{- $v := .Values }}
{{- $lease := include "ams-ha-controller.ms" $v.controller.leaseDuration | int64 }}
{{- $renew := include "ams-ha-controller.ms" $v.controller.renewDeadline | int64 }}
{{- $retry := include "ams-ha-controller.ms" $v.controller.retryPeriod | int64 }}
{{- $statement := include "ams-ha-controller.ms" $v.database.statementTimeout | int64 }}
{{- if le $lease $renew }}
{{- fail (printf "controller.renewDeadline (%s) must be shorter than controller.leaseDuration (%s)" $v.controller.renewDeadline $v.controller.leaseDuration) }}
{{- end }}
{{- if le (mul $renew 10) (mul $retry 12) }}
{{- fail (printf "controller.renewDeadline (%s) must be longer than 1.2 x controller.retryPeriod (%s)" $v.controller.renewDeadline $v.controller.retryPeriod) }}
{{- end }}
{{- if ge $statement $renew }}
{{- fail (printf "database.statementTimeout (%s) must be shorter than controller.renewDeadline (%s)" $v.database.statementTimeout $v.controller.renewDeadline) }}
{{- end }}
{{- $url := toString $v.database.url }}
{{- if or (regexMatch "^postgres(ql)?://[^/?@]*:[^/?@]*@" $url) (regexMatch "[?&]password=" $url) (and (not (regexMatch "^postgres(ql)?://" $url)) (regexMatch "(^|\\s)password\\s*=" $url)) }}
{{- fail "database.url must not contain the password (it would be stored in the ConfigMap): put it in the Secret named by database.existingSecret (key database.passwordKey)" }}
{{- end }}
{{- $tls := $v.database.tls | default dict }}
{{- if ne (empty $tls.certKey) (empty $tls.keyKey) }}
{{- fail "database.tls.certKey and database.tls.keyKey go together: set both (client certificate and key) or neither" }}
{{- end }}
{{- if eq $v.labels.role $v.labels.pod }}
{{- fail "labels.pod must differ from labels.role" }}
{{- end }}
{{- if eq $v.labels.leader $v.labels.follower }}
{{- fail "labels.follower must differ from labels.leader" }}
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled $v.metrics.podMonitor.enabled }}
{{- fail "metrics.serviceMonitor.enabled and metrics.podMonitor.enabled: enable one of them, not both (each replica would be scraped twice)" }}
{{- end }}
{{- $poll := include "ams-ha-controller.ms" $v.gate.pollInterval | int64 }}
{{- $margin := include "ams-ha-controller.ms" $v.gate.safetyMargin | int64 }}
{{- if le $poll 0 }}
{{- fail "gate.pollInterval must be positive" }}
{{- end }}
{{- $names := dict }}
{{- $services := dict }}
{{- range $i, $c := $v.clusters }}
{{- $at := printf "clusters[%d]" $i }}
{{- if hasKey $names $c.name }}
{{- fail (printf "%s.name: %q is listed twice" $at $c.name) }}
{{- end }}
{{- $_ := set $names $c.name true }}
{{- $service := default "ams-leader" $c.service }}
{{- if hasKey $services $service }}
{{- fail (printf "%s.service: %q is already used by another cluster" $at $service) }}
{{- end }}
{{- $_ := set $services $service true }}
{{- if eq $c.name $v.controller.leaseName }}
{{- fail (printf "%s.name must differ from controller.leaseName (%q)" $at $c.name) }}
{{- end }}
{{- $ttlText := default "30s" $c.leaseTtl }}
{{- $heartbeatText := default "10s" $c.heartbeatInterval }}
{{- $graceText := default "5s" $c.notReadyGracePeriod }}
{{- $ttl := include "ams-ha-controller.ms" $ttlText | int64 }}
{{- $heartbeat := include "ams-ha-controller.ms" $heartbeatText | int64 }}
{{- $grace := include "ams-ha-controller.ms" $graceText | int64 }}
{{- if or (le $heartbeat 0) (ge $heartbeat $ttl) }}
{{- fail (printf "%s.heartbeatInterval (%s) must be positive and shorter than leaseTtl (%s)" $at $heartbeatText $ttlText) }}
{{- end }}
{{- /* In follow mode AMS holds the lease with Amoro's own timing: the
       rules protecting leases the controller renews do not apply. */}}
{{- $manage := ne (toString $c.mode) "follow" }}
{{- if and $manage (le $ttl (add $lease $retry $heartbeat)) }}
{{- fail (printf "%s.leaseTtl (%s) must be longer than controller.leaseDuration + controller.retryPeriod + heartbeatInterval (%dms), so that a controller takeover never lets an AMS lease expire" $at $ttlText (add $lease $retry $heartbeat)) }}
{{- end }}
{{- if and $manage (ge $grace (sub $ttl $heartbeat)) }}
{{- fail (printf "%s.notReadyGracePeriod (%s) must be shorter than leaseTtl - heartbeatInterval (%dms)" $at $graceText (sub $ttl $heartbeat)) }}
{{- end }}
{{- if and $manage (ge (add $margin $poll) (sub $ttl $heartbeat)) }}
{{- fail (printf "gate.safetyMargin (%s) + gate.pollInterval (%s) must be shorter than %s.leaseTtl - heartbeatInterval (%dms)" $v.gate.safetyMargin $v.gate.pollInterval $at (sub $ttl $heartbeat)) }}
{{- end }}
{{- $probe := default dict $c.probe }}
{{- if ne (toString $probe.enabled) "false" }}
{{- $periodText := default "2s" $probe.period }}
{{- $timeoutText := default "1s" $probe.timeout }}
{{- $period := include "ams-ha-controller.ms" $periodText | int64 }}
{{- $timeout := include "ams-ha-controller.ms" $timeoutText | int64 }}
{{- if or (le $timeout 0) (gt $timeout $period) }}
{{- fail (printf "%s.probe.timeout (%s) must be positive and at most probe.period (%s)" $at $timeoutText $periodText) }}
{{- end }}
{{- /* A new leader's gate may wait this long for the previous AMS to stop
       before its own starts; a shorter start allowance never settles. */}}
{{- $startupText := default "5m" $probe.startupGracePeriod }}
{{- $startup := include "ams-ha-controller.ms" $startupText | int64 }}
{{- $wait := add (include "ams-ha-controller.ms" (default "30s" $v.gate.stopGracePeriod) | int64) (include "ams-ha-controller.ms" (default "8s" $v.gate.rowTtl) | int64) $margin }}
{{- if and $manage (le $startup $wait) }}
{{- fail (printf "%s.probe.startupGracePeriod (%s) must be longer than gate.stopGracePeriod + gate.rowTtl + gate.safetyMargin (%dms): a new leader's AMS may start only that long after its election, and would be failed over before it could serve" $at $startupText $wait) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
