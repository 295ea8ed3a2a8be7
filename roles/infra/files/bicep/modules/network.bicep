// Network for the cluster: one VNet, the AKS node subnet (with its NSG and the service endpoints that
// let Key Vault and Storage firewalls admit the nodes) and an optional subnet reserved for private endpoints.

@description('Azure region of the network resources.')
param location string

@description('Name of the virtual network.')
param vnetName string

@description('Address space of the virtual network (CIDR).')
param vnetAddressPrefix string

@description('Name of the AKS node subnet.')
param aksSubnetName string

@description('Address prefix of the AKS node subnet (CIDR). With Azure CNI overlay only nodes take addresses here.')
param aksSubnetPrefix string

@description('Address prefix of the private endpoint subnet (CIDR); empty: no such subnet.')
param privateEndpointSubnetPrefix string

@description('Tags applied to every resource.')
param tags object

// No custom rules: the default rules already admit traffic from the VNet and the Azure load balancer and
// deny everything else from the Internet, which is what an internal-LB Neo4j needs.
resource aksNsg 'Microsoft.Network/networkSecurityGroups@2024-07-01' = {
  name: '${vnetName}-${aksSubnetName}-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource privateEndpointNsg 'Microsoft.Network/networkSecurityGroups@2024-07-01' = if (!empty(privateEndpointSubnetPrefix)) {
  name: '${vnetName}-private-endpoints-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

var aksSubnet = {
  name: aksSubnetName
  properties: {
    addressPrefix: aksSubnetPrefix
    networkSecurityGroup: {
      id: aksNsg.id
    }
    serviceEndpoints: [
      {
        service: 'Microsoft.KeyVault'
      }
      {
        service: 'Microsoft.Storage'
      }
    ]
    privateEndpointNetworkPolicies: 'Enabled'
  }
}

var privateEndpointSubnets = empty(privateEndpointSubnetPrefix) ? [] : [
  {
    name: 'private-endpoints'
    properties: {
      addressPrefix: privateEndpointSubnetPrefix
      networkSecurityGroup: {
        id: privateEndpointNsg.id
      }
      privateEndpointNetworkPolicies: 'Enabled'
    }
  }
]

// Subnets are declared inline: declaring them as child resources makes every redeployment of the VNet
// try to remove them (ARM treats an absent `subnets` array as "no subnets").
resource vnet 'Microsoft.Network/virtualNetworks@2024-07-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        vnetAddressPrefix
      ]
    }
    subnets: concat([aksSubnet], privateEndpointSubnets)
  }
}

output vnetId string = vnet.id
output aksSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, aksSubnetName)
output privateEndpointSubnetId string = empty(privateEndpointSubnetPrefix) ? '' : resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, 'private-endpoints')
