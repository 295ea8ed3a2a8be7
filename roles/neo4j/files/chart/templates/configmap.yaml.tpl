{{- $settings := include "neo4j.settings" . | fromYaml }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "neo4j.fullname" . }}-config
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
data:
  {{- range $key := keys $settings | sortAlpha }}
  {{ include "neo4j.envName" $key }}: {{ get $settings $key | quote }}
  {{- end }}
  {{- with .Values.neo4j.plugins }}
  NEO4J_PLUGINS: {{ toJson . | quote }}
  {{- end }}
  {{- if eq .Values.neo4j.edition "enterprise" }}
  NEO4J_ACCEPT_LICENSE_AGREEMENT: {{ .Values.neo4j.acceptLicenseAgreement | quote }}
  {{- end }}
