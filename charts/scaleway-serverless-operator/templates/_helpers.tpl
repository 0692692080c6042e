{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "sso.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: the release name when it already contains the chart name
(so `helm install scaleway-serverless-operator` names everything scaleway-serverless-operator).
*/}}
{{- define "sso.fullname" -}}
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

{{- define "sso.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "sso.labels" -}}
helm.sh/chart: {{ include "sso.chart" . }}
{{ include "sso.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the operator's pods (immutable once installed). */}}
{{- define "sso.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sso.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sso.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sso.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Whether credentials are given inline (the chart then creates the Secret). */}}
{{- define "sso.inlineCredentials" -}}
{{- with .Values.credentials }}
{{- if or .secretKey .accessKey .projectId }}true{{ end }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the default Scaleway credentials; empty when there is none. */}}
{{- define "sso.credentialsSecret" -}}
{{- if and .Values.credentials.existingSecret (include "sso.inlineCredentials" .) }}
{{- fail "credentials: set either existingSecret or secretKey/accessKey/projectId, not both" }}
{{- end }}
{{- if .Values.credentials.existingSecret }}
{{- .Values.credentials.existingSecret }}
{{- else if include "sso.inlineCredentials" . }}
{{- printf "%s-credentials" (include "sso.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Name of the leader Lease (LEASE_NAME): one per release. */}}
{{- define "sso.leaseName" -}}
{{- include "sso.fullname" . }}
{{- end }}

{{/*
The rules of the operator's ClusterRole (or Role with watchNamespace). Exactly what
src/controller/rbac.rs PERMISSIONS lists; tests/chart.rs checks the two agree.
*/}}
{{- define "sso.rules" -}}
- apiGroups: ["serverless.scaleway.com"]
  resources: ["serverlessnamespaces", "serverlesscontainers", "serverlesstriggers", "serverlessdomains", "serverlessfunctions", "serverlessfunctiontokens", "serverlessfunctioncrons", "serverlessfunctiontriggers"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["serverless.scaleway.com"]
  resources: ["serverlessnamespaces/status", "serverlesscontainers/status", "serverlesstriggers/status", "serverlessdomains/status", "serverlessfunctions/status", "serverlessfunctiontokens/status", "serverlessfunctioncrons/status", "serverlessfunctiontriggers/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch"]
# Exports of a container's endpoint: server-side apply (authorized as create for a new one).
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch"]
# Layered defaults from Namespace annotations. In a Role this grants `get` on the watched
# Namespace itself, which is all the operator reads.
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* KIND_RESYNC_PERIODS: "Kind=duration,..." from the resyncPeriodByKind map, sorted. */}}
{{- define "sso.kindResync" -}}
{{- $pairs := list -}}
{{- range $kind, $period := . -}}
{{- $pairs = append $pairs (printf "%s=%s" $kind $period) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end }}
