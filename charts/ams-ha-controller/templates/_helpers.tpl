{{/*
Names and labels shared by every template.
*/}}

{{- define "ams-ha-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name prefix: <release>-<chart>, or <release> when it already contains the chart name. */}}
{{- define "ams-ha-controller.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ams-ha-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ams-ha-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ams-ha-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ams-ha-controller.labels" -}}
helm.sh/chart: {{ include "ams-ha-controller.chart" . }}
{{ include "ams-ha-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: amoro
{{- end }}

{{- define "ams-ha-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ams-ha-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ams-ha-controller.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Where the controller reads its configuration and the database password. */}}
{{- define "ams-ha-controller.configDir" -}}/etc/ams-ha-controller{{- end }}
{{- define "ams-ha-controller.passwordDir" -}}/var/run/secrets/ams-ha-controller/database{{- end }}
{{- define "ams-ha-controller.tlsDir" -}}/var/run/secrets/ams-ha-controller/database-tls{{- end }}

{{/* The managed Service names, once each, in the order of .Values.clusters. */}}
{{- define "ams-ha-controller.serviceNames" -}}
{{- $names := list }}
{{- range .Values.clusters }}
{{- $names = append $names (default "ams-leader" .service) | uniq }}
{{- end }}
{{- toJson $names }}
{{- end }}
