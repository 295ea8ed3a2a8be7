// Alerts: the Prometheus rule groups of ../alerts/neo4j-alerts.yml (the file promtool tests), evaluated by
// Azure Monitor on the cluster's managed Prometheus data, and the action group that notifies the receivers.

@description('Azure region of the rule groups (the workspace\'s).')
param location string

@description('Prefix of the rule group names.')
param namePrefix string

@description('Name of the action group.')
param actionGroupName string

@description('Name of the Azure Monitor workspace the rules query.')
param monitorWorkspaceName string

@description('Name of the managed cluster the rules are about.')
param clusterName string

@description('E-mail receivers of the action group.')
param emailReceivers {
  @description('Receiver name, unique in the action group.')
  name: string

  @description('E-mail address.')
  address: string
}[]

@description('Webhook receivers of the action group (common alert schema).')
param webhookReceivers {
  @description('Receiver name, unique in the action group.')
  name: string

  @description('HTTPS URL the alert is posted to.')
  uri: string
}[]

@description('Deploy the neo4j-enterprise rule group (Neo4j\'s own metrics exist on Enterprise only).')
param enterpriseRulesEnabled bool

@description('Tags applied to every resource.')
param tags { *: string }

// One source with the promtool tests: Prometheus rule-file format, converted below to Azure's rule shape.
var ruleFile = loadYamlContent('../alerts/neo4j-alerts.yml')
var azureSeverity = {
  critical: 0
  warning: 2
  info: 3
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(replace(actionGroupName, '-', ''), 12)
    enabled: true
    emailReceivers: [
      for receiver in emailReceivers: {
        name: receiver.name
        emailAddress: receiver.address
        useCommonAlertSchema: true
      }
    ]
    webhookReceivers: [
      for receiver in webhookReceivers: {
        name: receiver.name
        serviceUri: receiver.uri
        useCommonAlertSchema: true
      }
    ]
  }
}

resource ruleGroups 'Microsoft.AlertsManagement/prometheusRuleGroups@2023-03-01' = [
  for group in ruleFile.groups: if (enterpriseRulesEnabled || group.name != 'neo4j-enterprise') {
    name: '${namePrefix}-${group.name}'
    location: location
    tags: tags
    properties: {
      description: 'Neo4j alerts (${group.name}) from neo4j-alerts.yml'
      enabled: true
      clusterName: clusterName
      scopes: [
        resourceId('Microsoft.Monitor/accounts', monitorWorkspaceName)
        resourceId('Microsoft.ContainerService/managedClusters', clusterName)
      ]
      interval: 'PT${toUpper(group.interval)}'
      rules: [
        for rule in group.rules: {
          alert: rule.alert
          expression: rule.expr
          for: 'PT${toUpper(rule.for)}'
          severity: azureSeverity[rule.labels.severity]
          labels: rule.labels
          annotations: rule.annotations
          enabled: true
          resolveConfiguration: {
            autoResolved: true
            timeToResolve: 'PT10M'
          }
          actions: [
            {
              actionGroupId: actionGroup.id
            }
          ]
        }
      ]
    }
  }
]
