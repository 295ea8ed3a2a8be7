{{- $tlsHttps := and .Values.tls.enabled .Values.tls.https }}
{{- $plainHttp := or (not $tlsHttps) .Values.tls.httpEnabled }}
# Clients inside the cluster: Bolt and HTTP(S), ready servers only.
apiVersion: v1
kind: Service
metadata:
  name: {{ include "neo4j.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
    app.kubernetes.io/component: client
  {{- with .Values.services.client.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include "neo4j.selectorLabels" . | nindent 4 }}
  ports:
    - {name: tcp-bolt, port: 7687, targetPort: tcp-bolt, protocol: TCP}
    {{- if $plainHttp }}
    - {name: tcp-http, port: 7474, targetPort: tcp-http, protocol: TCP}
    {{- end }}
    {{- if $tlsHttps }}
    - {name: tcp-https, port: 7473, targetPort: tcp-https, protocol: TCP}
    {{- end }}
---
# Stable per-server DNS names (<pod>.<release>-headless), published before readiness so that servers of
# a cluster find each other while starting.
apiVersion: v1
kind: Service
metadata:
  name: {{ include "neo4j.headless" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
    app.kubernetes.io/component: headless
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    {{- include "neo4j.selectorLabels" . | nindent 4 }}
  ports:
    - {name: tcp-bolt, port: 7687, targetPort: tcp-bolt, protocol: TCP}
    - {name: tcp-http, port: 7474, targetPort: tcp-http, protocol: TCP}
    - {name: tcp-https, port: 7473, targetPort: tcp-https, protocol: TCP}
    - {name: tcp-backup, port: 6362, targetPort: tcp-backup, protocol: TCP}
    {{- if include "neo4j.clustered" . }}
    - {name: tcp-cluster, port: 6000, targetPort: tcp-cluster, protocol: TCP}
    - {name: tcp-raft, port: 7000, targetPort: tcp-raft, protocol: TCP}
    - {name: tcp-routing, port: 7688, targetPort: tcp-routing, protocol: TCP}
    {{- end }}
{{- if include "neo4j.clustered" . }}
{{- range $i, $_ := until (int .Values.neo4j.servers) }}
---
# Kubernetes discovery: one Service per server, found by its label, port named tcp-cluster.
apiVersion: v1
kind: Service
metadata:
  name: {{ include "neo4j.fullname" $ }}-{{ $i }}-discovery
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "neo4j.labels" $ | nindent 4 }}
    app.kubernetes.io/component: discovery
    neo4j.azure.aks/discovery: {{ include "neo4j.fullname" $ }}
spec:
  type: ClusterIP
  publishNotReadyAddresses: true
  selector:
    {{- include "neo4j.selectorLabels" $ | nindent 4 }}
    statefulset.kubernetes.io/pod-name: {{ include "neo4j.fullname" $ }}-{{ $i }}
  ports:
    - {name: tcp-cluster, port: 6000, targetPort: tcp-cluster, protocol: TCP}
{{- end }}
{{- end }}
{{- with .Values.services.loadBalancer }}
{{- if .enabled }}
---
# Clients outside the cluster through an Azure load balancer: internal (VNet) unless internal=false.
apiVersion: v1
kind: Service
metadata:
  name: {{ include "neo4j.fullname" $ }}-lb
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "neo4j.labels" $ | nindent 4 }}
    app.kubernetes.io/component: loadbalancer
  annotations:
    {{- if .internal }}
    service.beta.kubernetes.io/azure-load-balancer-internal: "true"
    {{- with .internalSubnet }}
    service.beta.kubernetes.io/azure-load-balancer-internal-subnet: {{ . | quote }}
    {{- end }}
    {{- end }}
    {{- with .loadBalancerIP }}
    service.beta.kubernetes.io/azure-load-balancer-ipv4: {{ . | quote }}
    {{- end }}
    {{- with .annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  type: LoadBalancer
  externalTrafficPolicy: {{ .externalTrafficPolicy | default "Cluster" }}
  {{- with .sourceRanges }}
  loadBalancerSourceRanges:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    {{- include "neo4j.selectorLabels" $ | nindent 4 }}
  ports:
    - {name: tcp-bolt, port: 7687, targetPort: tcp-bolt, protocol: TCP}
    {{- if $plainHttp }}
    - {name: tcp-http, port: 7474, targetPort: tcp-http, protocol: TCP}
    {{- end }}
    {{- if $tlsHttps }}
    - {name: tcp-https, port: 7473, targetPort: tcp-https, protocol: TCP}
    {{- end }}
{{- end }}
{{- end }}
