{{- if .Values.networkPolicy.enabled }}
{{- $np := .Values.networkPolicy }}
# Ingress to Neo4j: Bolt/HTTP(S) only from the named namespaces, pod labels and CIDRs; the backup port
# only from backup pods; the metrics port (Enterprise) only from the managed Prometheus agent; cluster ports
# only between servers of this release. Egress is not restricted (plugin downloads, Kubernetes API for
# discovery, Azure endpoints).
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "neo4j.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "neo4j.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    - ports:
        - {port: 7687, protocol: TCP}
        - {port: 7474, protocol: TCP}
        - {port: 7473, protocol: TCP}
      from:
        - podSelector:
            matchLabels:
              {{- include "neo4j.selectorLabels" . | nindent 14 }}
        {{- with $np.allowedNamespaces }}
        - namespaceSelector:
            matchExpressions:
              - key: kubernetes.io/metadata.name
                operator: In
                values:
                  {{- toYaml . | nindent 18 }}
        {{- end }}
        {{- range $np.allowedPodLabels }}
        - podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
        {{- end }}
        {{- range $np.allowedCIDRs }}
        - ipBlock:
            cidr: {{ . }}
        {{- end }}
    {{- with $np.backupPodLabels }}
    - ports:
        - {port: 6362, protocol: TCP}
      from:
        {{- range . }}
        - podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
        {{- end }}
    {{- end }}
    {{- if include "neo4j.metrics" . }}
    # The metrics port only from the managed Prometheus agent.
    - ports:
        - {port: {{ .Values.metrics.port }}, protocol: TCP}
      from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ .Values.metrics.agentNamespace }}
          podSelector:
            matchLabels:
              {{- toYaml .Values.metrics.agentPodLabels | nindent 14 }}
    {{- end }}
    {{- if include "neo4j.clustered" . }}
    - ports:
        - {port: 6000, protocol: TCP}
        - {port: 7000, protocol: TCP}
        - {port: 7688, protocol: TCP}
        - {port: 6362, protocol: TCP}
      from:
        - podSelector:
            matchLabels:
              {{- include "neo4j.selectorLabels" . | nindent 14 }}
    {{- end }}
{{- end }}
