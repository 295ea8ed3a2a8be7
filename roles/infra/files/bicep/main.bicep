// Azure side of Neo4j on AKS: network, Log Analytics, AKS, Key Vault, backup storage and the backup
// workload identity. Deployed at resource group scope: the infra role creates the resource group first,
// with an explicit location, so this template needs rights on that group only (no subscription-wide
// deployment permission) and ARM what-if stays scoped to it.
// Parameters come from the infra role's variables (no .bicepparam file).
targetScope = 'resourceGroup'

@description('Azure region of every resource.')
param location string

@description('Short lowercase prefix of resource names (2-8 letters and digits).')
@minLength(2)
@maxLength(8)
param namePrefix string

@description('Environment name (dev, staging, prod...), part of resource names.')
@minLength(2)
@maxLength(12)
param environment string

@description('Tags applied to every resource.')
param tags object = {}

@description('Kubernetes version; empty: the region default.')
param kubernetesVersion string = ''

@description('Cluster SKU tier (Standard carries the uptime SLA).')
@allowed([
  'Free'
  'Standard'
  'Premium'
])
param aksSkuTier string = 'Standard'

@description('Availability zones of the node pools; empty: no zones.')
param availabilityZones array = [
  '1'
  '2'
  '3'
]

@description('OS SKU of the nodes.')
@allowed([
  'AzureLinux'
  'Ubuntu'
])
param nodeOsSku string = 'AzureLinux'

@description('OS disk type of the nodes.')
@allowed([
  'Ephemeral'
  'Managed'
])
param nodeOsDiskType string = 'Ephemeral'

@description('Host-based encryption of node temp disks and caches (subscription feature EncryptionAtHost).')
param encryptionAtHost bool = true

@description('Maximum pods per node.')
@minValue(50)
@maxValue(250)
param maxPods int = 110

@description('VM size of the system pool.')
param systemNodeVmSize string = 'Standard_D4ds_v5'

@description('Autoscaler lower bound of the system pool.')
@minValue(1)
@maxValue(100)
param systemNodeMinCount int = 3

@description('Autoscaler upper bound of the system pool.')
@minValue(1)
@maxValue(100)
param systemNodeMaxCount int = 5

@description('VM size of the Neo4j pool.')
param neo4jNodeVmSize string = 'Standard_E8ds_v5'

@description('Autoscaler lower bound of the Neo4j pool.')
@minValue(0)
@maxValue(100)
param neo4jNodeMinCount int = 3

@description('Autoscaler upper bound of the Neo4j pool.')
@minValue(1)
@maxValue(100)
param neo4jNodeMaxCount int = 6

@description('Address space of the VNet.')
param vnetAddressPrefix string = '10.42.0.0/16'

@description('Address prefix of the AKS node subnet.')
param aksSubnetPrefix string = '10.42.0.0/22'

@description('Address prefix of the private endpoint subnet; empty: none.')
param privateEndpointSubnetPrefix string = ''

@description('Pod CIDR of the overlay network.')
param podCidr string = '192.168.0.0/16'

@description('Service CIDR.')
param serviceCidr string = '172.16.0.0/16'

@description('Cluster DNS service IP (inside the service CIDR).')
param dnsServiceIp string = '172.16.0.10'

@description('Network policy engine.')
@allowed([
  'azure'
  'cilium'
])
param networkPolicy string = 'cilium'

@description('Object IDs of Entra ID groups given cluster-admin.')
param adminGroupObjectIds array = []

@description('Private API server (reachable from the VNet only).')
param privateApiServer bool = false

@description('CIDRs allowed to reach a public API server.')
param authorizedIpRanges array = []

@description('Automatic Kubernetes upgrade channel.')
@allowed([
  'patch'
  'stable'
  'rapid'
  'node-image'
])
param upgradeChannel string = 'patch'

@description('Node OS upgrade channel.')
@allowed([
  'NodeImage'
  'SecurityPatch'
  'Unmanaged'
])
param nodeOsUpgradeChannel string = 'NodeImage'

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Key Vault name; empty: derived from the prefix and the resource group.')
param keyVaultName string = ''

@description('Days a deleted Key Vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteDays int = 90

@description('Name of the Key Vault secret holding the Neo4j password (written by the neo4j role).')
param neo4jPasswordSecretName string = 'neo4j-password'

@description('Storage account name; empty: derived from the prefix and the resource group.')
param storageAccountName string = ''

@description('Replication of the backup storage account.')
@allowed([
  'Standard_GRS'
  'Standard_RAGRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
  'Standard_ZRS'
  'Standard_LRS'
])
param storageSkuName string = 'Standard_GZRS'

@description('Blob container holding the backups.')
param backupContainerName string = 'neo4j-backups'

@description('Days deleted backup blobs stay recoverable.')
@minValue(1)
@maxValue(365)
param blobSoftDeleteDays int = 14

@description('Days deleted containers stay recoverable.')
@minValue(1)
@maxValue(365)
param containerSoftDeleteDays int = 14

@description('Public endpoint of Key Vault and Storage: Enabled (firewalled, default deny) or Disabled.')
@allowed([
  'Enabled'
  'Disabled'
])
param dataPublicNetworkAccess string = 'Enabled'

// Objects rather than bare CIDRs: both firewalls take {value: CIDR} rules, so no loop is needed here.
@description('IP rules ({value: CIDR}) of the Key Vault and Storage firewalls (besides the AKS subnet).')
param dataAllowedIpRules array = []

@description('Namespace of the backup ServiceAccount.')
param backupNamespace string = 'neo4j'

@description('Name of the backup ServiceAccount.')
param backupServiceAccountName string = 'neo4j-backup'

var baseName = '${namePrefix}-${environment}'
var clusterName = '${baseName}-aks'
var vnetName = '${baseName}-vnet'
var aksSubnetName = 'aks-nodes'
var suffix = uniqueString(resourceGroup().id)
var effectiveKeyVaultName = empty(keyVaultName) ? '${namePrefix}kv${suffix}' : keyVaultName
var effectiveStorageAccountName = empty(storageAccountName) ? '${namePrefix}st${suffix}' : storageAccountName

module network 'modules/network.bicep' = {
  name: '${deployment().name}-network'
  params: {
    location: location
    vnetName: vnetName
    vnetAddressPrefix: vnetAddressPrefix
    aksSubnetName: aksSubnetName
    aksSubnetPrefix: aksSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${deployment().name}-monitoring'
  params: {
    location: location
    workspaceName: '${baseName}-logs'
    retentionInDays: logRetentionDays
    tags: tags
  }
}

module aks 'modules/aks.bicep' = {
  name: '${deployment().name}-aks'
  params: {
    location: location
    clusterName: clusterName
    kubernetesVersion: kubernetesVersion
    skuTier: aksSkuTier
    vnetName: vnetName
    aksSubnetName: aksSubnetName
    availabilityZones: availabilityZones
    osSku: nodeOsSku
    osDiskType: nodeOsDiskType
    encryptionAtHost: encryptionAtHost
    maxPods: maxPods
    systemNodeVmSize: systemNodeVmSize
    systemNodeMinCount: systemNodeMinCount
    systemNodeMaxCount: systemNodeMaxCount
    neo4jNodeVmSize: neo4jNodeVmSize
    neo4jNodeMinCount: neo4jNodeMinCount
    neo4jNodeMaxCount: neo4jNodeMaxCount
    networkPolicy: networkPolicy
    podCidr: podCidr
    serviceCidr: serviceCidr
    dnsServiceIp: dnsServiceIp
    adminGroupObjectIds: adminGroupObjectIds
    privateApiServer: privateApiServer
    authorizedIpRanges: authorizedIpRanges
    upgradeChannel: upgradeChannel
    nodeOsUpgradeChannel: nodeOsUpgradeChannel
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    tags: tags
  }
  dependsOn: [
    network
  ]
}

module keyVault 'modules/keyvault.bicep' = {
  name: '${deployment().name}-keyvault'
  params: {
    location: location
    keyVaultName: effectiveKeyVaultName
    softDeleteRetentionDays: keyVaultSoftDeleteDays
    publicNetworkAccess: dataPublicNetworkAccess
    aksSubnetId: network.outputs.aksSubnetId
    allowedIpRules: dataAllowedIpRules
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: '${deployment().name}-storage'
  params: {
    location: location
    storageAccountName: effectiveStorageAccountName
    skuName: storageSkuName
    backupContainerName: backupContainerName
    blobSoftDeleteDays: blobSoftDeleteDays
    containerSoftDeleteDays: containerSoftDeleteDays
    publicNetworkAccess: dataPublicNetworkAccess
    aksSubnetId: network.outputs.aksSubnetId
    allowedIpRules: dataAllowedIpRules
    tags: tags
  }
}

module identity 'modules/identity.bicep' = {
  name: '${deployment().name}-identity'
  params: {
    location: location
    identityName: '${baseName}-backup'
    oidcIssuerUrl: aks.outputs.oidcIssuerUrl
    backupNamespace: backupNamespace
    backupServiceAccountName: backupServiceAccountName
    storageAccountName: storage.outputs.storageAccountName
    keyVaultName: keyVault.outputs.keyVaultName
    clusterName: aks.outputs.clusterName
    secretsProviderPrincipalId: aks.outputs.secretsProviderPrincipalId
    tags: tags
  }
}

output clusterName string = aks.outputs.clusterName
output resourceGroup string = resourceGroup().name
output oidcIssuerUrl string = aks.outputs.oidcIssuerUrl
output storageAccountName string = storage.outputs.storageAccountName
output blobEndpoint string = storage.outputs.blobEndpoint
output backupContainer string = storage.outputs.backupContainer
output backupIdentityClientId string = identity.outputs.backupIdentityClientId
output keyVaultName string = keyVault.outputs.keyVaultName
output keyVaultUri string = keyVault.outputs.keyVaultUri
output neo4jPasswordSecretName string = neo4jPasswordSecretName
output logAnalyticsWorkspaceId string = monitoring.outputs.workspaceId
output tenantId string = subscription().tenantId
output backupNamespace string = backupNamespace
output backupServiceAccountName string = backupServiceAccountName
