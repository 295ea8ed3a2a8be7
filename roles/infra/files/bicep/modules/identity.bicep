// Workload identities, each a user-assigned identity federated (through the cluster's OIDC issuer) to one
// ServiceAccount and allowed exactly what that workload does:
// - backup: writes blobs to the backup account. It needs no Neo4j password: an Enterprise online backup talks to
//   the backup port (no login) and a Community dump reads the stopped data volume.
// - Neo4j: reads the one Key Vault secret holding the Neo4j password (Key Vault Secrets User scoped to that
//   secret, not to the vault), for the Secrets Store CSI driver's workload-identity mount; only when the pods
//   mount it (neo4jPasswordReaderEnabled): otherwise the neo4j role hands the password over in a Kubernetes
//   Secret and the identity reads nothing.
// Nothing else is given a secret-reading role: the CSI driver mounts with the pod's workload identity, so the
// Key Vault secrets provider add-on's own identity and the kubelet identity need no access to the vault.
// Every name here comes from parameters known before the deployment starts, so ARM what-if evaluates this
// module instead of short-circuiting it; the cluster's runtime value (issuer URL) is read here from the cluster.

@description('Azure region of the identity.')
param location string

@description('Name of the backup user-assigned identity.')
param identityName string

@description('Name of the Neo4j user-assigned identity.')
param neo4jIdentityName string

@description('Namespace of the Neo4j ServiceAccount.')
param neo4jNamespace string

@description('Name of the Neo4j ServiceAccount (the chart\'s full name: the release name by default).')
param neo4jServiceAccountName string

@description('Namespace of the backup ServiceAccount.')
param backupNamespace string

@description('Name of the backup ServiceAccount.')
param backupServiceAccountName string

@description('Name of the backup storage account.')
param storageAccountName string

@description('Name of the Key Vault holding the Neo4j password.')
param keyVaultName string

@description('Name of the Key Vault secret holding the Neo4j password: the only secret the Neo4j identity reads.')
param neo4jPasswordSecretName string

@description('Give the Neo4j identity Key Vault Secrets User on the password secret (the pods mount it through the CSI driver).')
param neo4jPasswordReaderEnabled bool

@description('Name of the AKS cluster: its OIDC issuer federates the identities.')
param clusterName string

@description('Tags applied to every resource.')
param tags { *: string }

var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName

  resource neo4jPassword 'secrets' existing = {
    name: neo4jPasswordSecretName
  }
}

resource cluster 'Microsoft.ContainerService/managedClusters@2025-10-01' existing = {
  name: clusterName
}

resource backupIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: identityName
  location: location
  tags: tags
}

resource backupFederation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30' = {
  parent: backupIdentity
  name: 'aks-${backupNamespace}-${backupServiceAccountName}'
  properties: {
    issuer: cluster.properties.oidcIssuerProfile.issuerURL
    subject: 'system:serviceaccount:${backupNamespace}:${backupServiceAccountName}'
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

resource backupBlobWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, backupIdentity.id, storageBlobDataContributorRoleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: backupIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Neo4j backup job writes backups to the backup container'
  }
}

resource neo4jIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: neo4jIdentityName
  location: location
  tags: tags
}

resource neo4jFederation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30' = {
  parent: neo4jIdentity
  name: 'aks-${neo4jNamespace}-${neo4jServiceAccountName}'
  properties: {
    issuer: cluster.properties.oidcIssuerProfile.issuerURL
    subject: 'system:serviceaccount:${neo4jNamespace}:${neo4jServiceAccountName}'
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

resource neo4jPasswordReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (neo4jPasswordReaderEnabled) {
  name: guid(vault::neo4jPassword.id, neo4jIdentity.id, keyVaultSecretsUserRoleId)
  scope: vault::neo4jPassword
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: neo4jIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Neo4j pods read the Neo4j password (this secret only) through the Secrets Store CSI driver'
  }
}

output backupIdentityName string = backupIdentity.name
output backupIdentityClientId string = backupIdentity.properties.clientId
output backupIdentityPrincipalId string = backupIdentity.properties.principalId
output neo4jIdentityName string = neo4jIdentity.name
output neo4jIdentityClientId string = neo4jIdentity.properties.clientId
output neo4jIdentityPrincipalId string = neo4jIdentity.properties.principalId
