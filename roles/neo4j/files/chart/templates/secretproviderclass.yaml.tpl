{{- /* The Neo4j password from Azure Key Vault through the Secrets Store CSI driver (the AKS add-on
azure-keyvault-secrets-provider): the pod's workload identity reads the secret; the init container writes
"neo4j/<password>" into a memory-backed volume as the file NEO4J_AUTH_PATH names. No Kubernetes Secret holds
it unless auth.keyVault.syncSecret asks the driver to sync one. */ -}}
{{- if .Values.auth.keyVault.enabled }}
{{- $kv := .Values.auth.keyVault }}
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: {{ include "neo4j.fullname" . }}-auth
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "neo4j.labels" . | nindent 4 }}
spec:
  provider: azure
  parameters:
    usePodIdentity: "false"
    clientID: {{ required "auth.keyVault needs serviceAccount.workloadIdentityClientId (the identity allowed to read the secret)" .Values.serviceAccount.workloadIdentityClientId | quote }}
    keyvaultName: {{ required "auth.keyVault.vaultName is required" $kv.vaultName | quote }}
    tenantId: {{ required "auth.keyVault.tenantId is required" $kv.tenantId | quote }}
    cloudName: {{ $kv.cloudName | quote }}
    objects: |
      array:
        - |
          objectName: {{ $kv.secretName }}
          objectType: secret
          objectAlias: NEO4J_PASSWORD
  {{- if $kv.syncSecret }}
  secretObjects:
    - secretName: {{ include "neo4j.fullname" . }}-auth-synced
      type: Opaque
      data:
        - objectName: NEO4J_PASSWORD
          key: NEO4J_PASSWORD
  {{- end }}
{{- end }}
