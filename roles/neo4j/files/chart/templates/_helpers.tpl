{{/* Base name of every resource: the release name unless overridden. */}}
{{- define "neo4j.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if .Values.nameOverride -}}
{{- printf "%s-%s" .Release.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels the validate/backup roles select on: name=neo4j, instance=<release>. */}}
{{- define "neo4j.selectorLabels" -}}
app.kubernetes.io/name: neo4j
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "neo4j.labels" -}}
{{ include "neo4j.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.neo4j.version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: neo4j
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Neo4j's Prometheus endpoint: Enterprise only (Community has none). */}}
{{- define "neo4j.metrics" -}}
{{- if and .Values.metrics.enabled (eq .Values.neo4j.edition "enterprise") }}true{{ end -}}
{{- end -}}

{{- define "neo4j.clustered" -}}
{{- if gt (int .Values.neo4j.servers) 1 }}true{{ end -}}
{{- end -}}

{{- define "neo4j.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "neo4j.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "neo4j.authSecret" -}}
{{- default (printf "%s-auth" (include "neo4j.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "neo4j.image" -}}
{{- $tag := default (printf "%s-%s" .Values.neo4j.version .Values.neo4j.edition) .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* A Kubernetes memory quantity (Mi or Gi, checked by the schema) in MiB. */}}
{{- define "neo4j.mebibytes" -}}
{{- if hasSuffix "Gi" . -}}{{ mul (trimSuffix "Gi" . | int64) 1024 }}{{- else -}}{{ trimSuffix "Mi" . | int64 }}{{- end -}}
{{- end -}}

{{/* DNS name of one server, as the other servers and routing clients reach it. */}}
{{- define "neo4j.headless" -}}
{{- printf "%s-headless" (include "neo4j.fullname" .) -}}
{{- end -}}

{{/*
neo4j.conf settings the chart derives from values; neo4j.config entries override them.
Heap and page cache default to 40 % each of the container memory less 512Mi (a quarter of it below 2Gi): the
512Mi are the JVM's own memory besides the two (metaspace, code cache, thread stacks, GC structures, network
buffers), measured at about 450Mi on a 2Gi pod under a write load (tests/integration/realpod); the last 20 % are
transaction state and the OS's cache of the transaction logs. 8Gi: 3072m each.
*/}}
{{- define "neo4j.settings" -}}
{{- $mib := include "neo4j.mebibytes" .Values.resources.memory | int64 -}}
{{- $jvm := ternary 512 (div $mib 4) (ge $mib 2048) -}}
{{- $share := printf "%dm" (div (mul (sub $mib $jvm) 4) 10) -}}
{{- $heap := default $share .Values.neo4j.memory.heap -}}
{{- $pagecache := default $share .Values.neo4j.memory.pagecache -}}
{{- $s := dict -}}
{{- $_ := set $s "server.memory.heap.initial_size" $heap -}}
{{- $_ := set $s "server.memory.heap.max_size" $heap -}}
{{- $_ := set $s "server.memory.pagecache.size" $pagecache -}}
{{- $_ := set $s "server.default_listen_address" "0.0.0.0" -}}
{{- $_ := set $s "server.directories.data" "/data" -}}
{{- $_ := set $s "server.directories.logs" "/logs" -}}
{{- $_ := set $s "server.directories.plugins" "/var/lib/neo4j/plugins" -}}
{{- $_ := set $s "dbms.usage_report.enabled" "false" -}}
{{- if eq .Values.neo4j.edition "enterprise" -}}
{{- $_ := set $s "server.backup.enabled" "true" -}}
{{- $_ := set $s "server.backup.listen_address" "0.0.0.0:6362" -}}
{{- end -}}
{{- if include "neo4j.metrics" . -}}
{{- $_ := set $s "server.metrics.enabled" "true" -}}
{{- $_ := set $s "server.metrics.prometheus.enabled" "true" -}}
{{- $_ := set $s "server.metrics.prometheus.endpoint" (printf "0.0.0.0:%d" (int .Values.metrics.port)) -}}
{{- end -}}
{{- if .Values.persistence.import.enabled -}}
{{- $_ := set $s "server.directories.import" "/import" -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- if .Values.tls.bolt -}}
{{- $_ := set $s "dbms.ssl.policy.bolt.enabled" "true" -}}
{{- $_ := set $s "dbms.ssl.policy.bolt.base_directory" "/var/lib/neo4j/certificates/bolt" -}}
{{- $_ := set $s "dbms.ssl.policy.bolt.private_key" "private.key" -}}
{{- $_ := set $s "dbms.ssl.policy.bolt.public_certificate" "public.crt" -}}
{{- $_ := set $s "dbms.ssl.policy.bolt.client_auth" "NONE" -}}
{{- $_ := set $s "server.bolt.tls_level" .Values.tls.boltLevel -}}
{{- end -}}
{{- if .Values.tls.https -}}
{{- $_ := set $s "dbms.ssl.policy.https.enabled" "true" -}}
{{- $_ := set $s "dbms.ssl.policy.https.base_directory" "/var/lib/neo4j/certificates/https" -}}
{{- $_ := set $s "dbms.ssl.policy.https.private_key" "private.key" -}}
{{- $_ := set $s "dbms.ssl.policy.https.public_certificate" "public.crt" -}}
{{- $_ := set $s "dbms.ssl.policy.https.client_auth" "NONE" -}}
{{- $_ := set $s "server.https.enabled" "true" -}}
{{- if .Values.tls.httpEnabled -}}
{{- $_ := set $s "server.http.enabled" "true" -}}
{{- else -}}
{{- /* No plain HTTP outside the pod; on loopback only, for the readiness probe. */ -}}
{{- $_ := set $s "server.http.listen_address" "127.0.0.1:7474" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if include "neo4j.clustered" . -}}
{{- $_ := set $s "dbms.cluster.discovery.resolver_type" "K8S" -}}
{{- $_ := set $s "dbms.kubernetes.label_selector" (printf "neo4j.azure.aks/discovery=%s" (include "neo4j.fullname" .)) -}}
{{- if hasPrefix "5." .Values.neo4j.version -}}
{{- $_ := set $s "dbms.cluster.discovery.version" "V2_ONLY" -}}
{{- $_ := set $s "dbms.kubernetes.discovery.v2.service_port_name" "tcp-cluster" -}}
{{- else -}}
{{- $_ := set $s "dbms.kubernetes.discovery.service_port_name" "tcp-cluster" -}}
{{- end -}}
{{- $_ := set $s "dbms.cluster.minimum_initial_system_primaries_count" (toString .Values.neo4j.servers) -}}
{{- $_ := set $s "initial.dbms.default_primaries_count" (toString (min 3 .Values.neo4j.servers)) -}}
{{- $_ := set $s "server.cluster.system_database_mode" "PRIMARY" -}}
{{- end -}}
{{- range $key, $value := .Values.neo4j.config -}}
{{- $_ := set $s $key (toString $value) -}}
{{- end -}}
{{- toYaml $s -}}
{{- end -}}

{{/* neo4j.conf key -> the image's environment variable: "_" -> "__", "." -> "_", prefix NEO4J_. */}}
{{- define "neo4j.envName" -}}
{{- printf "NEO4J_%s" (. | replace "_" "__" | replace "." "_") -}}
{{- end -}}
