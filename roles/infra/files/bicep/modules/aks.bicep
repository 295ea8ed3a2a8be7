// The AKS cluster: a tainted system pool, a tainted Neo4j user pool spread over zones, Entra ID RBAC only,
// OIDC issuer + workload identity, Azure CNI overlay with network policy, Container Insights (through a
// data collection rule, managed identity auth), the Key Vault secrets provider, optional Defender for
// Containers, the image cleaner, the egress type and planned maintenance windows for upgrades.

@description('Azure region of the cluster.')
param location string

@description('Name of the managed cluster.')
param clusterName string

@description('Kubernetes version (major.minor or major.minor.patch); empty: the region default.')
param kubernetesVersion string

@description('Cluster SKU tier: Standard carries the uptime SLA.')
@allowed([
  'Free'
  'Standard'
  'Premium'
])
param skuTier string

@description('Name of the VNet holding the node subnet.')
param vnetName string

@description('Name of the node subnet.')
param aksSubnetName string

@description('Availability zones of both node pools; empty: regional (no zones).')
param availabilityZones string[]

@description('OS SKU of the nodes.')
@allowed([
  'AzureLinux'
  'Ubuntu'
])
param osSku string

@description('OS disk type; Ephemeral needs a VM size whose cache or temp disk holds the OS disk.')
@allowed([
  'Ephemeral'
  'Managed'
])
param osDiskType string

@description('Encrypt temp disks, caches and data flows at the VM host (subscription feature EncryptionAtHost).')
param encryptionAtHost bool

@description('Maximum pods per node.')
@minValue(50)
@maxValue(250)
param maxPods int

@description('VM size of the system pool.')
param systemNodeVmSize string

@description('Autoscaler lower bound of the system pool.')
@minValue(1)
param systemNodeMinCount int

@description('Autoscaler upper bound of the system pool.')
param systemNodeMaxCount int

@description('VM size of the Neo4j pool.')
param neo4jNodeVmSize string

@description('Autoscaler lower bound of the Neo4j pool.')
@minValue(0)
param neo4jNodeMinCount int

@description('Autoscaler upper bound of the Neo4j pool.')
param neo4jNodeMaxCount int

@description('Network policy engine; cilium also selects the Cilium dataplane.')
@allowed([
  'azure'
  'cilium'
])
param networkPolicy string

@description('Pod CIDR of the overlay network.')
param podCidr string

@description('Service CIDR.')
param serviceCidr string

@description('Cluster DNS service IP (inside the service CIDR).')
param dnsServiceIp string

@description('Object IDs of Entra ID groups given cluster-admin.')
param adminGroupObjectIds string[]

@description('Make the API server private (reachable from the VNet only).')
param privateApiServer bool

@description('CIDRs allowed to reach a public API server.')
param authorizedIpRanges string[]

@description('Automatic Kubernetes upgrade channel.')
@allowed([
  'patch'
  'stable'
  'rapid'
  'node-image'
])
param upgradeChannel string

@description('Node OS upgrade channel.')
@allowed([
  'NodeImage'
  'SecurityPatch'
  'Unmanaged'
])
param nodeOsUpgradeChannel string

@description('Resource ID of the Log Analytics workspace for Container Insights (and Defender).')
param logAnalyticsWorkspaceId string

@description('Egress of the cluster; userAssignedNATGateway and userDefinedRouting need the NAT gateway or route table of the network module.')
@allowed([
  'loadBalancer'
  'userAssignedNATGateway'
  'userDefinedRouting'
])
param outboundType string

@description('Name of the route table of the node subnet (userDefinedRouting): the control-plane identity manages routes in it.')
param routeTableName string

@description('Defender for Containers: runtime threat detection, reporting to the Log Analytics workspace.')
param defenderEnabled bool

@description('Image cleaner: removes unused, vulnerable images from the nodes.')
param imageCleanerEnabled bool

@description('Hours between image cleaner runs.')
@minValue(24)
@maxValue(2160)
param imageCleanerIntervalHours int

// Inline types (no `type` declarations): the compiled template then carries no #/definitions references.
@description('Planned maintenance windows, at most one per schedule: aksManagedAutoUpgradeSchedule (Kubernetes upgrades), aksManagedNodeOSUpgradeSchedule (node OS upgrades). None: any time.')
@maxLength(2)
param maintenanceWindows {
  @description('Which upgrades the window holds.')
  schedule: 'aksManagedAutoUpgradeSchedule' | 'aksManagedNodeOSUpgradeSchedule'

  @description('Day the window opens.')
  dayOfWeek: 'Monday' | 'Tuesday' | 'Wednesday' | 'Thursday' | 'Friday' | 'Saturday' | 'Sunday'

  @description('Weeks between windows.')
  @minValue(1)
  @maxValue(4)
  intervalWeeks: int

  @description('Start time, HH:mm.')
  startTime: string

  @description('Length of the window in hours (AKS needs at least 4).')
  @minValue(4)
  @maxValue(24)
  durationHours: int

  @description('Offset of startTime from UTC, +HH:mm or -HH:mm.')
  utcOffset: string
}[]

@description('Managed Prometheus metrics add-on (azureMonitorProfile.metrics); prometheus.bicep holds its workspace and collection rule.')
param managedPrometheusEnabled bool

@description('AKS control-plane log categories sent to the Log Analytics workspace (diagnostic settings); empty: none.')
param controlPlaneLogCategories string[]

@description('Tags applied to every resource.')
param tags { *: string }


// Defender for Containers only when asked: without the key AKS leaves it off.
var defenderProfile = defenderEnabled ? {
  defender: {
    logAnalyticsWorkspaceResourceId: logAnalyticsWorkspaceId
    securityMonitoring: {
      enabled: true
    }
  }
} : {}

var networkContributorRoleId = '4d97b98b-1d4f-4787-a291-c67834d212e7'
var contributorRoleId = 'b24988ac-6180-42a0-ab88-20f7382dd24c'

resource vnet 'Microsoft.Network/virtualNetworks@2026-03-01' existing = {
  name: vnetName
}

resource aksSubnet 'Microsoft.Network/virtualNetworks/subnets@2026-03-01' existing = {
  parent: vnet
  name: aksSubnetName
}

// A user-assigned control-plane identity exists before the cluster, so its subnet permission is in place
// when AKS first creates load balancers in the subnet.
resource controlPlaneIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: '${clusterName}-control-plane'
  location: location
  tags: tags
}

resource subnetNetworkContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(aksSubnet.id, controlPlaneIdentity.id, networkContributorRoleId)
  scope: aksSubnet
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', networkContributorRoleId)
    principalId: controlPlaneIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'AKS control plane manages load balancers and node addresses in the node subnet'
  }
}

resource egressRoutes 'Microsoft.Network/routeTables@2026-03-01' existing = if (outboundType == 'userDefinedRouting') {
  name: routeTableName
}

// With user-defined routing AKS writes its own routes into the node subnet's route table.
resource routeTableNetworkContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (outboundType == 'userDefinedRouting') {
  name: guid(egressRoutes.id, controlPlaneIdentity.id, networkContributorRoleId)
  scope: egressRoutes
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', networkContributorRoleId)
    principalId: controlPlaneIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'AKS control plane manages routes in the node subnet route table'
  }
}

// The Azure Disk CSI driver runs with the control-plane identity. The neo4j role can have it create the data
// disks in this resource group (neo4j_disk_resource_group) instead of the node resource group, which is
// deleted with the cluster; AKS asks for Contributor on a resource group it creates disks in.
resource diskResourceGroupContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, controlPlaneIdentity.id, contributorRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributorRoleId)
    principalId: controlPlaneIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'AKS Azure Disk CSI driver manages the Neo4j data disks kept in this resource group'
  }
}

resource cluster 'Microsoft.ContainerService/managedClusters@2025-10-01' = {
  //checkov:skip=CKV_AZURE_8: the kube-dashboard add-on does not exist for Kubernetes 1.19+ and AKS rejects it; nothing to disable
  //checkov:skip=CKV_AZURE_226: the OS disk type is a parameter (role default Ephemeral); Managed stays selectable for VM sizes whose cache or temp disk cannot hold the OS disk
  //checkov:skip=CKV_AZURE_227: host encryption is a parameter (role default true); it needs the subscription feature Microsoft.Compute/EncryptionAtHost, so it stays selectable
  //checkov:skip=CKV_AZURE_168: maxPods is a parameter held to 50-250 by @minValue/@maxValue (role default 110)
  //checkov:skip=CKV_AZURE_172: AKS add-on config values are strings; enableSecretRotation is set to 'true' below
  //checkov:skip=CKV_AZURE_6: authorized IP ranges come from a role variable (the role refuses a public API server without them); a private API server has none
  name: clusterName
  location: location
  tags: tags
  sku: {
    name: 'Base'
    tier: skuTier
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${controlPlaneIdentity.id}': {}
    }
  }
  properties: {
    kubernetesVersion: empty(kubernetesVersion) ? null : kubernetesVersion
    dnsPrefix: clusterName
    enableRBAC: true
    disableLocalAccounts: true
    aadProfile: {
      managed: true
      enableAzureRBAC: true
      adminGroupObjectIDs: adminGroupObjectIds
      tenantID: subscription().tenantId
    }
    oidcIssuerProfile: {
      enabled: true
    }
    securityProfile: union({
      workloadIdentity: {
        enabled: true
      }
      imageCleaner: {
        enabled: imageCleanerEnabled
        intervalHours: imageCleanerIntervalHours
      }
    }, defenderProfile)
    apiServerAccessProfile: {
      enablePrivateCluster: privateApiServer
      authorizedIPRanges: privateApiServer ? [] : authorizedIpRanges
    }
    autoUpgradeProfile: {
      upgradeChannel: upgradeChannel
      nodeOSUpgradeChannel: nodeOsUpgradeChannel
    }
    networkProfile: {
      networkPlugin: 'azure'
      networkPluginMode: 'overlay'
      networkPolicy: networkPolicy
      networkDataplane: networkPolicy == 'cilium' ? 'cilium' : 'azure'
      podCidr: podCidr
      serviceCidr: serviceCidr
      dnsServiceIP: dnsServiceIp
      loadBalancerSku: 'standard'
      outboundType: outboundType
    }
    agentPoolProfiles: [
      {
        name: 'system'
        type: 'VirtualMachineScaleSets'
        osType: 'Linux'
        osSKU: osSku
        osDiskType: osDiskType
        enableEncryptionAtHost: encryptionAtHost
        maxPods: maxPods
        availabilityZones: empty(availabilityZones) ? null : availabilityZones
        vnetSubnetID: aksSubnet.id
        enableAutoScaling: true
        upgradeSettings: {
          maxSurge: '33%'
        }
        mode: 'System'
        vmSize: systemNodeVmSize
        count: systemNodeMinCount
        minCount: systemNodeMinCount
        maxCount: systemNodeMaxCount
        // Only critical add-ons run here; workloads go to user pools.
        nodeTaints: [
          'CriticalAddonsOnly=true:NoSchedule'
        ]
      }
      {
        name: 'neo4j'
        type: 'VirtualMachineScaleSets'
        osType: 'Linux'
        osSKU: osSku
        osDiskType: osDiskType
        enableEncryptionAtHost: encryptionAtHost
        maxPods: maxPods
        availabilityZones: empty(availabilityZones) ? null : availabilityZones
        vnetSubnetID: aksSubnet.id
        enableAutoScaling: true
        upgradeSettings: {
          maxSurge: '33%'
        }
        mode: 'User'
        vmSize: neo4jNodeVmSize
        count: neo4jNodeMinCount
        minCount: neo4jNodeMinCount
        maxCount: neo4jNodeMaxCount
        nodeLabels: {
          workload: 'neo4j'
        }
        nodeTaints: [
          'workload=neo4j:NoSchedule'
        ]
      }
    ]
    azureMonitorProfile: {
      metrics: {
        enabled: managedPrometheusEnabled
        // The alert rules (neo4j-alerts.yml) select Neo4j pods, volumes and backup Jobs by this label.
        kubeStateMetrics: {
          metricLabelsAllowlist: 'pods=[app.kubernetes.io/name],persistentvolumeclaims=[app.kubernetes.io/name],jobs=[app.kubernetes.io/name]'
          metricAnnotationsAllowList: ''
        }
      }
    }
    autoScalerProfile: {
      // Neo4j members sit on zonal disks: keep pools balanced across zones.
      'balance-similar-node-groups': 'true'
      expander: 'least-waste'
    }
    addonProfiles: {
      omsagent: {
        enabled: true
        config: {
          logAnalyticsWorkspaceResourceID: logAnalyticsWorkspaceId
          useAADAuth: 'true'
        }
      }
      azureKeyvaultSecretsProvider: {
        enabled: true
        config: {
          enableSecretRotation: 'true'
          rotationPollInterval: '2m'
        }
      }
      azurepolicy: {
        enabled: true
      }
    }
  }
  dependsOn: [
    subnetNetworkContributor
    routeTableNetworkContributor
  ]
}

resource maintenanceSchedules 'Microsoft.ContainerService/managedClusters/maintenanceConfigurations@2025-10-01' = [
  for window in maintenanceWindows: {
    parent: cluster
    name: window.schedule
    properties: {
      maintenanceWindow: {
        schedule: {
          weekly: {
            dayOfWeek: window.dayOfWeek
            intervalWeeks: window.intervalWeeks
          }
        }
        startTime: window.startTime
        durationHours: window.durationHours
        utcOffset: window.utcOffset
      }
    }
  }
]

// Container Insights with managed identity authentication collects through this rule.
resource containerInsightsRule 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: 'MSCI-${location}-${clusterName}'
  location: location
  tags: tags
  kind: 'Linux'
  properties: {
    dataSources: {
      extensions: [
        {
          name: 'ContainerInsightsExtension'
          extensionName: 'ContainerInsights'
          streams: [
            'Microsoft-ContainerInsights-Group-Default'
          ]
          extensionSettings: {
            dataCollectionSettings: {
              interval: '1m'
              namespaceFilteringMode: 'Off'
              enableContainerLogV2: true
            }
          }
        }
      ]
    }
    destinations: {
      logAnalytics: [
        {
          name: 'ciworkspace'
          workspaceResourceId: logAnalyticsWorkspaceId
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          'Microsoft-ContainerInsights-Group-Default'
        ]
        destinations: [
          'ciworkspace'
        ]
      }
    ]
  }
}

resource containerInsightsAssociation 'Microsoft.Insights/dataCollectionRuleAssociations@2024-03-11' = {
  name: 'ContainerInsightsExtension'
  scope: cluster
  properties: {
    dataCollectionRuleId: containerInsightsRule.id
    description: 'Container Insights for ${clusterName}'
  }
}

// Resource diagnostic settings exist only as 2021-05-01-preview (2016-09-01 is the subscription-level type).
#disable-next-line use-recent-api-versions // the newest API version of resource diagnostic settings is this preview
resource controlPlaneLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(controlPlaneLogCategories)) {
  name: 'control-plane-logs'
  scope: cluster
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      for category in controlPlaneLogCategories: {
        category: category
        enabled: true
      }
    ]
  }
}

output clusterName string = cluster.name
output oidcIssuerUrl string = cluster.properties.oidcIssuerProfile.issuerURL
