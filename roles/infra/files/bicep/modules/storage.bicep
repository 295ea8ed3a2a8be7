// Storage account for Neo4j backups: Entra ID only (no shared key), TLS 1.2, HTTPS only, no public blob
// access, firewall default deny (AKS subnet + listed CIDRs), soft delete for blobs and containers,
// versioning, and the private backup container.

@description('Azure region of the account.')
param location string

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Replication of the account.')
@allowed([
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
  'Standard_ZRS'
  'Standard_LRS'
])
param skuName string

@description('Name of the blob container holding the backups.')
param backupContainerName string

@description('Days deleted blobs stay recoverable.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int

@description('Days deleted containers stay recoverable.')
@minValue(1)
@maxValue(365)
param containerSoftDeleteDays int

@description('Enabled: reachable through its firewall (default deny); Disabled: private endpoints only.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Resource ID of the AKS node subnet admitted by the firewall.')
param aksSubnetId string

@description('Firewall IP rules, each {value: CIDR} (e.g. the Ansible controller that applies retention).')
param allowedIpRules { value: string }[]

@description('Tags applied to every resource.')
param tags { *: string }

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  //checkov:skip=CKV_AZURE_43: the name is a parameter; @minLength/@maxLength here and the role's assert (3-24 lowercase letters and digits) enforce the naming rules
  //checkov:skip=CKV_AZURE_59: public access is a role variable; with Enabled the firewall still denies by default and admits only the AKS subnet and listed CIDRs
  //checkov:skip=CKV_AZURE_206: replication is a role variable (default Standard_GZRS); LRS/ZRS stay selectable for non-production
  //checkov:skip=CKV_AZURE_33: the account serves blobs only; no queue service is used, so there is no queue logging to enable
  //checkov:skip=CKV2_AZURE_1: backups are encrypted with Microsoft-managed keys plus infrastructure encryption; customer-managed keys are not in scope
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    isLocalUserEnabled: false
    isSftpEnabled: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
      ipRules: allowedIpRules
      virtualNetworkRules: [
        {
          id: aksSubnetId
          action: 'Allow'
        }
      ]
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: containerSoftDeleteDays
    }
  }
}

resource backupContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: backupContainerName
  properties: {
    publicAccess: 'None'
  }
}

output storageAccountName string = account.name
output storageAccountId string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output backupContainer string = backupContainer.name
