// Network for the cluster: one VNet, the AKS node subnet (with its NSG and the service endpoints that
// let Key Vault and Storage firewalls admit the nodes), an optional subnet for private endpoints, and the
// egress path the cluster's outbound type needs: a NAT gateway (userAssignedNATGateway) or a route table
// whose default route leads to a firewall (userDefinedRouting).

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

@description('Egress of the cluster: loadBalancer (outbound rules), userAssignedNATGateway or userDefinedRouting.')
@allowed([
  'loadBalancer'
  'userAssignedNATGateway'
  'userDefinedRouting'
])
param outboundType string

@description('Public IP addresses of the NAT gateway (userAssignedNATGateway).')
@minValue(1)
@maxValue(16)
param natGatewayPublicIpCount int

@description('Idle timeout of NAT gateway flows, in minutes (userAssignedNATGateway).')
@minValue(4)
@maxValue(120)
param natGatewayIdleTimeoutMinutes int

@description('Private IP of the firewall or appliance that takes all egress (userDefinedRouting).')
param egressNextHopIp string

@description('Name of the NAT gateway (userAssignedNATGateway).')
param natGatewayName string

@description('Name of the route table of the node subnet (userDefinedRouting).')
param routeTableName string

@description('Tags applied to every resource.')
param tags { *: string }

// No custom rules: the default rules already admit traffic from the VNet and the Azure load balancer and
// deny everything else from the Internet, which is what an internal-LB Neo4j needs.
resource aksNsg 'Microsoft.Network/networkSecurityGroups@2026-03-01' = {
  name: '${vnetName}-${aksSubnetName}-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource privateEndpointNsg 'Microsoft.Network/networkSecurityGroups@2026-03-01' = if (!empty(privateEndpointSubnetPrefix)) {
  name: '${vnetName}-private-endpoints-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource natPublicIps 'Microsoft.Network/publicIPAddresses@2026-03-01' = [
  for index in range(0, outboundType == 'userAssignedNATGateway' ? natGatewayPublicIpCount : 0): {
    name: '${natGatewayName}-ip-${index + 1}'
    location: location
    tags: tags
    sku: {
      name: 'Standard'
    }
    properties: {
      publicIPAddressVersion: 'IPv4'
      publicIPAllocationMethod: 'Static'
    }
  }
]

resource natGateway 'Microsoft.Network/natGateways@2026-03-01' = if (outboundType == 'userAssignedNATGateway') {
  name: natGatewayName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    idleTimeoutInMinutes: natGatewayIdleTimeoutMinutes
    publicIpAddresses: [
      for index in range(0, outboundType == 'userAssignedNATGateway' ? natGatewayPublicIpCount : 0): {
        id: natPublicIps[index].id
      }
    ]
  }
}

resource egressRoutes 'Microsoft.Network/routeTables@2026-03-01' = if (outboundType == 'userDefinedRouting') {
  name: routeTableName
  location: location
  tags: tags
  properties: {
    // AKS adds its own routes to this table; BGP routes would bypass the firewall.
    disableBgpRoutePropagation: true
    routes: [
      {
        name: 'default-via-firewall'
        properties: {
          addressPrefix: '0.0.0.0/0'
          nextHopType: 'VirtualAppliance'
          nextHopIpAddress: egressNextHopIp
        }
      }
    ]
  }
}

// Egress resources attach to the node subnet only for the outbound type that uses them.
var natGatewayAttachment = outboundType == 'userAssignedNATGateway' ? { natGateway: { id: natGateway.id } } : {}
var routeTableAttachment = outboundType == 'userDefinedRouting' ? { routeTable: { id: egressRoutes.id } } : {}

var aksSubnet = {
  name: aksSubnetName
  properties: union({
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
  }, natGatewayAttachment, routeTableAttachment)
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
resource vnet 'Microsoft.Network/virtualNetworks@2026-03-01' = {
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
