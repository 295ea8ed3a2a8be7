{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "neo4j.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
  {{- if or .Values.serviceAccount.workloadIdentityClientId .Values.serviceAccount.annotations }}
  annotations:
    {{- with .Values.serviceAccount.workloadIdentityClientId }}
    azure.workload.identity/client-id: {{ . | quote }}
    {{- end }}
    {{- with .Values.serviceAccount.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
# Kubernetes discovery (cluster mode) reads Services through the API; nothing else needs the token.
automountServiceAccountToken: {{ include "neo4j.clustered" . | eq "true" }}
{{- end }}
