// Azure Managed Grafana on the managed Prometheus data: its managed identity may read the Azure Monitor workspace
// (Monitoring Data Reader, on that workspace only) and only the given groups administer Grafana (Grafana Admin).

@description('Azure region of the Grafana workspace.')
param location string

@description('Name of the Grafana workspace (2-23 letters, digits and hyphens).')
param grafanaName string

@description('Name of the Azure Monitor workspace Grafana reads.')
param monitorWorkspaceName string

@description('Object IDs of the Entra ID groups given Grafana Admin.')
param adminGroupObjectIds string[]

@description('Public network access of the Grafana endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Tags applied to every resource.')
param tags { *: string }

var monitoringDataReaderRoleId = 'b0d8363b-8ddd-447f-8f36-a7e0d8c8ad14'
var grafanaAdminRoleId = '22926164-76b3-42b3-bc55-97df8dab3e41'

resource monitorWorkspace 'Microsoft.Monitor/accounts@2025-10-03' existing = {
  name: monitorWorkspaceName
}

resource grafana 'Microsoft.Dashboard/grafana@2025-08-01' = {
  name: grafanaName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publicNetworkAccess: publicNetworkAccess
    zoneRedundancy: 'Disabled'
    apiKey: 'Disabled'
    deterministicOutboundIP: 'Disabled'
    grafanaIntegrations: {
      azureMonitorWorkspaceIntegrations: [
        {
          azureMonitorWorkspaceResourceId: monitorWorkspace.id
        }
      ]
    }
  }
}

resource workspaceReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(monitorWorkspace.id, grafana.id, monitoringDataReaderRoleId)
  scope: monitorWorkspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringDataReaderRoleId)
    principalId: grafana.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Grafana queries the managed Prometheus metrics of this workspace'
  }
}

resource grafanaAdmins 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for groupId in adminGroupObjectIds: {
    name: guid(grafana.id, groupId, grafanaAdminRoleId)
    scope: grafana
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grafanaAdminRoleId)
      principalId: groupId
      principalType: 'Group'
      description: 'Administers the Neo4j Grafana workspace'
    }
  }
]
