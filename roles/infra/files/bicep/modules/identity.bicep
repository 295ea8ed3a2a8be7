// Identity of the backup job: a user-assigned identity federated (through the cluster's OIDC issuer) to the
// backup ServiceAccount, allowed to write blobs to the backup account and to read Key Vault secrets.
// The Key Vault secrets provider add-on gets read access to the secrets as well.
// Every name here comes from parameters known before the deployment starts, so ARM what-if evaluates this
// module instead of short-circuiting it; the cluster's runtime values (issuer URL, add-on identity) are read
// here from the cluster itself.

@description('Azure region of the identity.')
param location string

@description('Name of the user-assigned identity.')
param identityName string

@description('Namespace of the backup ServiceAccount.')
param backupNamespace string

@description('Name of the backup ServiceAccount.')
param backupServiceAccountName string

@description('Name of the backup storage account.')
param storageAccountName string

@description('Name of the Key Vault holding the Neo4j password.')
param keyVaultName string

@description('Name of the AKS cluster: its OIDC issuer federates the identity; its secrets provider add-on reads the vault.')
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

resource backupSecretsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, backupIdentity.id, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: backupIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Neo4j backup job reads the Neo4j password'
  }
}

resource secretsProviderReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  // Named from the cluster, not the add-on's object ID: the name must be known before the cluster exists.
  name: guid(vault.id, cluster.id, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: cluster.properties.addonProfiles.azureKeyvaultSecretsProvider.identity.objectId
    principalType: 'ServicePrincipal'
    description: 'AKS Key Vault secrets provider add-on mounts the Neo4j password'
  }
}

output backupIdentityName string = backupIdentity.name
output backupIdentityClientId string = backupIdentity.properties.clientId
output backupIdentityPrincipalId string = backupIdentity.properties.principalId
