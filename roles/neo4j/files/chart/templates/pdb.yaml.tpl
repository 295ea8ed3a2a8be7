{{- if .Values.podDisruptionBudget.enabled }}
# At most one server down at a time through voluntary disruptions (node drains, AKS upgrades): a
# three-server cluster keeps its quorum.
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "neo4j.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "neo4j.selectorLabels" . | nindent 6 }}
{{- end }}
