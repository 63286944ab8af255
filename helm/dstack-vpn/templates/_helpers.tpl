{{- define "dstack-vpn.labels" -}}
app.kubernetes.io/name: dstack-vpn
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- define "dstack-vpn.operatorName" -}}{{ .Release.Name }}-operator{{- end }}
{{- define "dstack-vpn.agentName" -}}{{ .Release.Name }}-agent{{- end }}
