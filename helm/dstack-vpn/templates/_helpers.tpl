{{- define "dstack-vpn.labels" -}}
app.kubernetes.io/name: dstack-vpn
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- define "dstack-vpn.operatorName" -}}{{ .Release.Name }}-operator{{- end }}
{{- define "dstack-vpn.agentName" -}}{{ .Release.Name }}-agent{{- end }}
{{- define "dstack-vpn.proxyName" -}}{{ .Release.Name }}-proxy{{- end }}
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
