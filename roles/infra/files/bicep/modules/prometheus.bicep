// Azure Monitor managed Prometheus for the cluster: an Azure Monitor workspace, the data collection endpoint and
// rule that the AKS metrics add-on (azureMonitorProfile.metrics in aks.bicep) sends through, and their
// associations with the cluster.

@description('Azure region of the workspace, endpoint and rule (the cluster\'s).')
param location string

@description('Name of the Azure Monitor workspace.')
param monitorWorkspaceName string

@description('Name of the managed cluster whose metrics are collected.')
param clusterName string

@description('Public network access of the workspace and the endpoint (metrics ingestion and queries).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Tags applied to every resource.')
param tags { *: string }

// AKS looks for these names (MSProm-<region>-<cluster>) when it shows the cluster's managed Prometheus.
var collectionName = 'MSProm-${location}-${clusterName}'

resource monitorWorkspace 'Microsoft.Monitor/accounts@2025-10-03' = {
  name: monitorWorkspaceName
  location: location
  tags: tags
  properties: {
    publicNetworkAccess: publicNetworkAccess
  }
}

resource collectionEndpoint 'Microsoft.Insights/dataCollectionEndpoints@2024-03-11' = {
  name: collectionName
  location: location
  tags: tags
  kind: 'Linux'
  properties: {
    networkAcls: {
      publicNetworkAccess: publicNetworkAccess
    }
  }
}

resource collectionRule 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: collectionName
  location: location
  tags: tags
  kind: 'Linux'
  properties: {
    dataCollectionEndpointId: collectionEndpoint.id
    dataSources: {
      prometheusForwarder: [
        {
          name: 'PrometheusDataSource'
          streams: [
            'Microsoft-PrometheusMetrics'
          ]
          labelIncludeFilter: {}
        }
      ]
    }
    destinations: {
      monitoringAccounts: [
        {
          name: 'MonitoringAccount1'
          accountResourceId: monitorWorkspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          'Microsoft-PrometheusMetrics'
        ]
        destinations: [
          'MonitoringAccount1'
        ]
      }
    ]
  }
}

resource cluster 'Microsoft.ContainerService/managedClusters@2025-10-01' existing = {
  name: clusterName
}

resource collectionRuleAssociation 'Microsoft.Insights/dataCollectionRuleAssociations@2024-03-11' = {
  name: collectionName
  scope: cluster
  properties: {
    dataCollectionRuleId: collectionRule.id
    description: 'Managed Prometheus metrics of ${clusterName}'
  }
}

// The metrics agent reads its configuration from the endpoint associated under this fixed name.
resource collectionEndpointAssociation 'Microsoft.Insights/dataCollectionRuleAssociations@2024-03-11' = {
  name: 'configurationAccessEndpoint'
  scope: cluster
  properties: {
    dataCollectionEndpointId: collectionEndpoint.id
    description: 'Configuration endpoint of the managed Prometheus agent of ${clusterName}'
  }
}

output monitorWorkspaceId string = monitorWorkspace.id
