{{- $fullname := include "neo4j.fullname" . }}
{{- $clustered := include "neo4j.clustered" . }}
{{- $sc := .Values.securityContext }}
{{- $volumes := list }}
{{- range $name := list "logs" "backups" "import" }}
{{- if (get $.Values.persistence $name).enabled }}{{ $volumes = append $volumes $name }}{{ end }}
{{- end }}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
  annotations:
    checkov.io/skip1: "CKV_K8S_40=The official neo4j image owns its files and data as uid/gid 7474; securityContext.runAsUser overrides it"
    {{- if not .Values.image.digest }}
    checkov.io/skip2: "CKV_K8S_43=Tags pin the Neo4j release and move only with its patch releases; set image.digest to pin by digest"
    {{- end }}
    {{- if $clustered }}
    checkov.io/skip3: "CKV_K8S_38=Kubernetes discovery reads the cluster's Services with the pod's ServiceAccount token (read-only Role)"
    {{- end }}
spec:
  serviceName: {{ include "neo4j.headless" . }}
  replicas: {{ .Values.neo4j.servers }}
  # All servers start together: a cluster forms only when its members can see each other, so
  # OrderedReady (one pod Ready before the next starts) would never finish.
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
  persistentVolumeClaimRetentionPolicy:
    whenDeleted: Retain
    whenScaled: Retain
  selector:
    matchLabels:
      {{- include "neo4j.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "neo4j.selectorLabels" . | nindent 8 }}
        app.kubernetes.io/version: {{ .Values.neo4j.version | quote }}
        {{- if .Values.serviceAccount.workloadIdentityClientId }}
        azure.workload.identity/use: "true"
        {{- end }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml.tpl") . | sha256sum }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "neo4j.serviceAccountName" . }}
      # No service links: for a release named neo4j Kubernetes would inject NEO4J_SERVICE_HOST,
      # NEO4J_PORT_7687_TCP_PORT, ... and the image turns every NEO4J_* variable into a setting, which
      # Neo4j's strict validation rejects ("Unrecognized setting ... PORT.7687.TCP.PORT").
      enableServiceLinks: false
      automountServiceAccountToken: {{ eq $clustered "true" }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      {{- with .Values.scheduling.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with .Values.image.pullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ $sc.runAsUser }}
        runAsGroup: {{ $sc.runAsGroup }}
        fsGroup: {{ $sc.fsGroup }}
        fsGroupChangePolicy: OnRootMismatch
        seccompProfile:
          type: RuntimeDefault
      {{- with .Values.scheduling.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.scheduling.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      affinity:
        podAntiAffinity:
          {{- if eq .Values.scheduling.podAntiAffinity "required" }}
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  {{- include "neo4j.selectorLabels" . | nindent 18 }}
          {{- else }}
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    {{- include "neo4j.selectorLabels" . | nindent 20 }}
          {{- end }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: {{ .Values.scheduling.zoneSpread }}
          labelSelector:
            matchLabels:
              {{- include "neo4j.selectorLabels" . | nindent 14 }}
      initContainers:
        # The root filesystem is read-only: copy the image's conf/ (the entrypoint rewrites neo4j.conf)
        # and the TLS material (Neo4j wants trusted/ and revoked/ next to the key) to writable volumes.
        - name: prepare
          image: {{ include "neo4j.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command:
            - /bin/sh
            - -ec
            - |
              cp -R /var/lib/neo4j/conf/. /work/conf/
              {{- if .Values.tls.enabled }}
              for policy in bolt https; do
                mkdir -p "/work/certificates/$policy/trusted" "/work/certificates/$policy/revoked"
                cp /tls/tls.crt "/work/certificates/$policy/public.crt"
                cp /tls/tls.key "/work/certificates/$policy/private.key"
                if [ -f /tls/ca.crt ]; then cp /tls/ca.crt "/work/certificates/$policy/trusted/ca.crt"; fi
              done
              {{- end }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities:
              drop: [ALL]
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: 100m, memory: 64Mi}
          volumeMounts:
            - {name: conf, mountPath: /work/conf}
            - {name: certificates, mountPath: /work/certificates}
            {{- if .Values.tls.enabled }}
            - {name: tls, mountPath: /tls, readOnly: true}
            {{- end }}
        {{- if .Values.auth.keyVault.enabled }}
        # NEO4J_AUTH_PATH's file from the Key Vault secret the CSI driver mounts (memory only, no Secret).
        - name: auth-from-keyvault
          image: {{ include "neo4j.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command: [/bin/bash, -c, 'umask 077; printf "neo4j/%s" "$(cat /keyvault/NEO4J_PASSWORD)" > /config/neo4j-auth/NEO4J_AUTH']
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: {drop: [ALL]}}
          resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 50m, memory: 32Mi}}
          volumeMounts:
            - {name: keyvault, mountPath: /keyvault, readOnly: true}
            - {name: auth, mountPath: /config/neo4j-auth}
        {{- end }}
      containers:
        - name: neo4j
          image: {{ include "neo4j.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          # A container that exits with an error keeps the end of its log in its status: why Neo4j stopped (a
          # setting its strict validation rejects) stays readable after the runtime dropped the container's log.
          terminationMessagePolicy: FallbackToLogsOnError
          envFrom:
            - configMapRef:
                name: {{ $fullname }}-config
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: NEO4J_server_default__advertised__address
              value: "$(POD_NAME).{{ include "neo4j.headless" . }}.{{ .Release.Namespace }}.svc.cluster.local"
            # The image reads the initial "neo4j/<password>" from this file: no secret in the environment.
            - name: NEO4J_AUTH_PATH
              value: /config/neo4j-auth/NEO4J_AUTH
          ports:
            - {name: tcp-bolt, containerPort: 7687, protocol: TCP}
            - {name: tcp-http, containerPort: 7474, protocol: TCP}
            - {name: tcp-https, containerPort: 7473, protocol: TCP}
            - {name: tcp-backup, containerPort: 6362, protocol: TCP}
            {{- if include "neo4j.metrics" . }}
            - {name: tcp-metrics, containerPort: {{ .Values.metrics.port }}, protocol: TCP}
            {{- end }}
            {{- if $clustered }}
            - {name: tcp-cluster, containerPort: 6000, protocol: TCP}
            - {name: tcp-raft, containerPort: 7000, protocol: TCP}
            - {name: tcp-routing, containerPort: 7688, protocol: TCP}
            {{- end }}
          # Store recovery after a crash can take long: the startup probe holds the others off meanwhile. It waits
          # for the HTTP API on loopback (where the readiness probe asks), which Neo4j opens after Bolt, once its
          # databases have started: a readiness probe run when only Bolt listened failed and cost one whole
          # readiness period (5 s) of every start. Loopback, so it also holds when plain HTTP is not exposed (TLS).
          startupProbe:
            exec:
              command: [/bin/bash, -c, "exec 3<>/dev/tcp/127.0.0.1/7474"]
            timeoutSeconds: 5
            periodSeconds: {{ .Values.probes.startup.periodSeconds }}
            failureThreshold: {{ .Values.probes.startup.failureThreshold }}
          # Ready only when Neo4j serves its databases (not when 7687 opens, neo4j/helm-charts#337): every
          # database Neo4j is asked to run must be online. Asked over the HTTP API on loopback; bash /dev/tcp, no
          # tool beyond the image's bash and coreutils. The password is the pod's own copy: the mounted Secret
          # (kubelet refreshes it a minute or so after a change) or, with Key Vault, the driver's mount (refreshed
          # by its rotation poll) and the copy made at the pod's start. During a rotation Neo4j may already have
          # the new password while the copy has the old one (or the other way round): a password Neo4j refuses
          # (HTTP 401) is not asked again for 10 minutes, since every refusal counts towards locking the user out
          # (dbms.security.auth_max_failed_attempts) for the clients too; and with no password left to ask, a Neo4j
          # that answers HTTP keeps the pod Ready: a stale copy must not take the database off the Service.
          readinessProbe:
            exec:
              command:
                - /bin/bash
                - -c
                - |
                  q='SHOW DATABASES YIELD name, currentStatus, requestedStatus, statusMessage WHERE requestedStatus = \"online\" AND currentStatus <> \"online\" RETURN name, currentStatus, statusMessage'
                  body="{\"statements\":[{\"statement\":\"$q\"}]}"
                  ask() {
                    exec 3<>/dev/tcp/127.0.0.1/7474 || { echo "Neo4j HTTP (7474 on loopback) is not listening"; exit 1; }
                    if [ -n "$1" ]; then
                      printf 'POST /db/system/tx/commit HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
                        "$(printf '%s' "$1" | base64 -w0)" "${#body}" "$body" >&3
                    else
                      printf 'GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nConnection: close\r\n\r\n' >&3
                    fi
                    resp=$(timeout 8 cat <&3)
                    exec 3<&-
                    [ -n "$resp" ] || { echo "Neo4j's HTTP API gave no answer within 8s"; exit 1; }
                  }
                  refused=/var/lib/neo4j/run/readiness-refused
                  mkdir -p "$refused"
                  creds=()
                  {{- if .Values.auth.keyVault.enabled }}
                  [ -r /keyvault/NEO4J_PASSWORD ] && creds+=("neo4j:$(cat /keyvault/NEO4J_PASSWORD)")
                  {{- end }}
                  auth=$(cat /config/neo4j-auth/NEO4J_AUTH) && creds+=("${auth%%/*}:${auth#*/}")
                  for cred in "${creds[@]}"; do
                    mark="$refused/$(printf '%s' "$cred" | sha256sum | cut -c1-64)"
                    [ -n "$(find "$mark" -mmin -10 2>/dev/null)" ] && continue
                    ask "$cred"
                    case "$resp" in
                      'HTTP/1.1 401'*) : > "$mark"; continue ;;
                      'HTTP/1.1 429'*) continue ;;
                      *'"data":[]'*'"errors":[]'*) exit 0 ;;
                    esac
                    echo "Neo4j does not serve all its databases: ${resp##*$'\r\n\r\n'}" | head -c 600
                    exit 1
                  done
                  ask ""
                  case "$resp" in 'HTTP/1.1 200'*) exit 0 ;; esac
                  echo "Neo4j's HTTP API answers ${resp%%$'\r'*}" | head -c 600
                  exit 1
            timeoutSeconds: 10
            periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
            failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
          livenessProbe:
            tcpSocket: {port: tcp-bolt}
            periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
            failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
          resources:
            requests:
              cpu: {{ .Values.resources.cpu | quote }}
              memory: {{ .Values.resources.memory }}
            limits:
              cpu: {{ .Values.resources.cpu | quote }}
              memory: {{ .Values.resources.memory }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: {{ $sc.readOnlyRootFilesystem }}
            runAsNonRoot: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - {name: data, mountPath: /data}
            - {name: logs, mountPath: /logs}
            {{- if .Values.persistence.backups.enabled }}
            - {name: backups, mountPath: /backups}
            {{- end }}
            {{- if .Values.persistence.import.enabled }}
            - {name: import, mountPath: /import}
            {{- end }}
            - {name: conf, mountPath: /var/lib/neo4j/conf}
            - {name: certificates, mountPath: /var/lib/neo4j/certificates}
            - {name: plugins, mountPath: /var/lib/neo4j/plugins}
            - {name: run, mountPath: /var/lib/neo4j/run}
            - {name: tmp, mountPath: /tmp}
            - {name: auth, mountPath: /config/neo4j-auth, readOnly: true}
            {{- if .Values.auth.keyVault.enabled }}
            # The readiness probe's live copy of the password (the driver refreshes it when Key Vault's changes).
            - {name: keyvault, mountPath: /keyvault, readOnly: true}
            {{- end }}
      volumes:
        - {name: conf, emptyDir: {}}
        - {name: certificates, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
        - {name: plugins, emptyDir: {sizeLimit: 2Gi}}
        - {name: run, emptyDir: {sizeLimit: 64Mi}}
        - {name: tmp, emptyDir: {sizeLimit: 1Gi}}
        {{- if not .Values.persistence.logs.enabled }}
        - {name: logs, emptyDir: {sizeLimit: 2Gi}}
        {{- end }}
        {{- if .Values.auth.keyVault.enabled }}
        - {name: auth, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
        - name: keyvault
          csi:
            driver: secrets-store.csi.k8s.io
            readOnly: true
            volumeAttributes: {secretProviderClass: {{ include "neo4j.fullname" . }}-auth}
        {{- else }}
        - name: auth
          secret:
            secretName: {{ include "neo4j.authSecret" . }}
            defaultMode: 0440
            items:
              - key: {{ .Values.auth.secretKey | default "NEO4J_AUTH" }}
                path: NEO4J_AUTH
        {{- end }}
        {{- if .Values.tls.enabled }}
        - name: tls
          secret:
            secretName: {{ .Values.tls.secretName }}
            defaultMode: 0440
        {{- end }}
  volumeClaimTemplates:
    - metadata:
        name: data
        labels:
          {{- include "neo4j.selectorLabels" . | nindent 10 }}
          neo4j.azure.aks/volume: data
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: {{ .Values.persistence.storageClassName }}
        resources:
          requests:
            storage: {{ .Values.persistence.data.size }}
    {{- range $volumes }}
    - metadata:
        name: {{ . }}
        labels:
          {{- include "neo4j.selectorLabels" $ | nindent 10 }}
          neo4j.azure.aks/volume: {{ . }}
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: {{ $.Values.persistence.storageClassName }}
        resources:
          requests:
            storage: {{ (get $.Values.persistence .).size }}
    {{- end }}
