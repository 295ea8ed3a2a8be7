// Private endpoints of the Key Vault and the backup account in the VNet's private-endpoints subnet, with
// the private DNS zones that resolve their names to the endpoints inside the VNet. With these, the data
// services can keep publicNetworkAccess Disabled and still serve the cluster.

@description('Azure region of the private endpoints (the zones are global).')
param location string

@description('Name of the VNet holding the private-endpoints subnet; the zones are linked to it.')
param vnetName string

@description('Name of the subnet the endpoints take their addresses from.')
param subnetName string

@description('Name of the Key Vault.')
param keyVaultName string

@description('Name of the backup storage account.')
param storageAccountName string

@description('Tags applied to every resource.')
param tags { *: string }

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

// Zone names follow the cloud: Key Vault's private link zone is privatelink.vaultcore.<suffix> (e.g.
// privatelink.vaultcore.azure.net), Blob's privatelink.blob.<storage suffix> (privatelink.blob.core.windows.net).
var endpoints = [
  {
    name: '${keyVaultName}-vault-pe'
    groupId: 'vault'
    zone: replace(environment().suffixes.keyvaultDns, '.vault.', 'privatelink.vaultcore.')
  }
  {
    name: '${storageAccountName}-blob-pe'
    groupId: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
  }
]

resource vnet 'Microsoft.Network/virtualNetworks@2026-03-01' existing = {
  name: vnetName
}

resource subnet 'Microsoft.Network/virtualNetworks/subnets@2026-03-01' existing = {
  parent: vnet
  name: subnetName
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for endpoint in endpoints: {
    name: endpoint.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (endpoint, index) in endpoints: {
    parent: zones[index]
    name: '${vnetName}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2026-03-01' = [
  for (endpoint, index) in endpoints: {
    name: endpoint.name
    location: location
    tags: tags
    properties: {
      subnet: {
        id: subnet.id
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.name
          properties: {
            privateLinkServiceId: index == 0 ? vault.id : storageAccount.id
            groupIds: [
              endpoint.groupId
            ]
          }
        }
      ]
    }
  }
]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2026-03-01' = [
  for (endpoint, index) in endpoints: {
    parent: privateEndpoints[index]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: replace(endpoint.zone, '.', '-')
          properties: {
            privateDnsZoneId: zones[index].id
          }
        }
      ]
    }
  }
]
