{{- define "dstack-vpn.labels" -}}
app.kubernetes.io/name: dstack-vpn
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- define "dstack-vpn.operatorName" -}}{{ .Release.Name }}-operator{{- end }}
{{- define "dstack-vpn.agentName" -}}{{ .Release.Name }}-agent{{- end }}
{{- define "dstack-vpn.proxyName" -}}{{ .Release.Name }}-proxy{{- end }}
{{- define "dstack-vpn.nodeApiName" -}}{{ .Release.Name }}-node-api{{- end }}
{{- define "dstack-vpn.nodeApiKeySecret" -}}{{ .Values.nodeApi.keySecret | default (printf "%s-node-api-key" .Release.Name) }}{{- end }}
{{/*
An image reference: repository, then ":" and the component's tag, else imageTag, else the chart's appVersion;
"@digest" instead when a digest is set. Call with (dict "image" .Values.<component>.image "root" $).
*/}}
{{- define "dstack-vpn.image" -}}
{{- if .image.digest -}}
{{ .image.repository }}@{{ .image.digest }}
{{- else -}}
{{ .image.repository }}:{{ .image.tag | default .root.Values.imageTag | default .root.Chart.AppVersion }}
{{- end -}}
{{- end }}
{{/*
Who may scrape the metrics ports, as NetworkPolicy peers: metrics.allowFrom, else the pods of the release's
namespace. The kubelet's probes pass either way (traffic from a pod's own node is always allowed).
*/}}
{{- define "dstack-vpn.metricsFrom" -}}
{{- if .Values.metrics.allowFrom -}}
{{ toYaml .Values.metrics.allowFrom }}
{{- else -}}
- podSelector: {}
{{- end -}}
{{- end }}
