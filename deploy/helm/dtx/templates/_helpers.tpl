{{- define "dtx.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "dtx.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "dtx.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The store's environment (dtm's variable names), shared by both deployments. */}}
{{- define "dtx.storeEnv" -}}
{{- if eq .Values.store.driver "sqlite" }}{{ fail "store.driver sqlite is single-instance: use postgres or mysql with this chart" }}{{ end }}
- name: STORE_DRIVER
  value: {{ .Values.store.driver | quote }}
- name: STORE_HOST
  value: {{ .Values.store.host | quote }}
- name: STORE_PORT
  value: {{ .Values.store.port | quote }}
- name: STORE_USER
  value: {{ .Values.store.user | quote }}
- name: STORE_DB
  value: {{ .Values.store.db | quote }}
- name: STORE_SCHEMA
  value: {{ .Values.store.schema | quote }}
- name: STORE_MAX_OPEN_CONNS
  value: {{ .Values.store.maxOpenConns | quote }}
- name: STORE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.store.passwordSecret.name }}
      key: {{ .Values.store.passwordSecret.key }}
{{- end -}}
