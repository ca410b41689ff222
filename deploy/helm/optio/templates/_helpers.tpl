{{- define "optio.labels" -}}
app.kubernetes.io/name: optio
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: Helm
{{- end }}
{{- define "optio.tag" -}}
{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- define "optio.appEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.urlSecret.name }}
      key: {{ .Values.database.urlSecret.key }}
- name: NATS_URL
  value: {{ .Values.nats.url | quote }}
{{- end }}
{{- define "optio.runnerIdentities" -}}
{{ if .Values.autoscaling.enabled }}{{ .Values.autoscaling.maxReplicaCount }}{{ else }}{{ .Values.runner.replicas }}{{ end }}
{{- end }}
