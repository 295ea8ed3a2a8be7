// Log Analytics workspace for Container Insights and the AKS control-plane logs, with an optional daily cap.

@description('Azure region of the workspace.')
param location string

@description('Name of the Log Analytics workspace.')
param workspaceName string

@description('Days the workspace keeps data (30-730).')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Daily ingestion cap in GB; -1: no cap (ingestion above the cap is dropped until the next day).')
@minValue(-1)
param dailyQuotaGb int

@description('Tags applied to every resource.')
param tags { *: string }

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    workspaceCapping: {
      dailyQuotaGb: dailyQuotaGb
    }
    features: {
      // Agents authenticate with Entra ID (managed identity), never with the workspace keys.
      disableLocalAuth: true
      enableLogAccessUsingOnlyResourcePermissions: true
    }
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

output workspaceId string = workspace.id
output workspaceName string = workspace.name
