{{- if include "neo4j.clustered" . }}
# Kubernetes discovery: each server lists the Services labelled for its cluster (read-only, one namespace).
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "neo4j.fullname" . }}-discovery
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: [services, endpoints]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "neo4j.fullname" . }}-discovery
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "neo4j.fullname" . }}-discovery
subjects:
  - kind: ServiceAccount
    name: {{ include "neo4j.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
{{- end }}
