{{- if and (include "neo4j.metrics" .) .Values.metrics.podMonitor.enabled (.Capabilities.APIVersions.Has "azmonitoring.coreos.com/v1/PodMonitor") }}
# Scrape declaration for Azure Monitor managed Prometheus: its agent (ama-metrics) reads PodMonitors of the
# azmonitoring.coreos.com group only. Rendered only where the metrics add-on serves that API.
apiVersion: azmonitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {{ include "neo4j.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
spec:
  # The limits Azure's templates set, so that no series is dropped in processing.
  labelLimit: 63
  labelNameLengthLimit: 511
  labelValueLengthLimit: 1023
  selector:
    matchLabels:
      {{- include "neo4j.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames: [{{ .Release.Namespace }}]
  podTargetLabels: [app.kubernetes.io/instance]
  podMetricsEndpoints:
    - port: tcp-metrics
      path: /metrics
      interval: {{ .Values.metrics.podMonitor.interval }}
{{- end }}
