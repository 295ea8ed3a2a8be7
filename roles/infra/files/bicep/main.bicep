// Azure side of Neo4j on AKS: network, Log Analytics, AKS, managed Prometheus with alerts and optional Grafana,
// Key Vault, backup storage and the workload identities of the backup job and of Neo4j (the only identity that
// may read the Neo4j password). Deployed at resource group scope: the infra role creates the resource group
// first, with an explicit location, so this template needs rights on that group only (no subscription-wide
// deployment permission) and ARM what-if stays scoped to it.
// Parameters come from the infra role's variables; roles/infra/files/environments holds, per inventory, the
// parameters the role composes, a .bicepparam that loads them and the `bicep snapshot` of the result.
// Every module name, resource name, condition and scope below is known before the deployment starts (no
// module takes another module's outputs), so ARM what-if evaluates every module instead of skipping it.
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
param tags { *: string } = {}

@description('Kubernetes version; empty: the region default.')
param kubernetesVersion string = ''

@description('Cluster SKU tier (Standard carries the uptime SLA).')
@allowed([
  'Free'
  'Standard'
  'Premium'
])
param aksSkuTier string = 'Standard'

@description('Availability zones of the node pools, each 1, 2 or 3 (the infra role checks them); empty: no zones.')
param availabilityZones string[] = [
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
param adminGroupObjectIds string[] = []

@description('Private API server (reachable from the VNet only).')
param privateApiServer bool = false

@description('CIDRs allowed to reach a public API server.')
param authorizedIpRanges string[] = []

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

@description('Egress of the cluster: loadBalancer (outbound rules of the AKS load balancer), userAssignedNATGateway (a NAT gateway on the node subnet) or userDefinedRouting (all egress to egressNextHopIp).')
@allowed([
  'loadBalancer'
  'userAssignedNATGateway'
  'userDefinedRouting'
])
param outboundType string = 'loadBalancer'

@description('Public IP addresses of the NAT gateway (userAssignedNATGateway).')
@minValue(1)
@maxValue(16)
param natGatewayPublicIpCount int = 1

@description('Idle timeout of NAT gateway flows, in minutes (userAssignedNATGateway).')
@minValue(4)
@maxValue(120)
param natGatewayIdleTimeoutMinutes int = 4

@description('Private IP of the firewall or appliance that takes all egress (userDefinedRouting).')
param egressNextHopIp string = ''

@description('Defender for Containers, reporting to the Log Analytics workspace.')
param defenderEnabled bool = false

@description('Image cleaner: removes unused, vulnerable images from the nodes.')
param imageCleanerEnabled bool = true

@description('Hours between image cleaner runs.')
@minValue(24)
@maxValue(2160)
param imageCleanerIntervalHours int = 168

@description('Planned maintenance windows, at most one per schedule (aksManagedAutoUpgradeSchedule, aksManagedNodeOSUpgradeSchedule); none: upgrades at any time.')
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

  @description('Length of the window in hours.')
  @minValue(4)
  @maxValue(24)
  durationHours: int

  @description('Offset of startTime from UTC, +HH:mm or -HH:mm.')
  utcOffset: string
}[] = []

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Daily ingestion cap of Log Analytics in GB; -1: no cap.')
@minValue(-1)
param logDailyQuotaGb int = -1

@description('AKS control-plane log categories sent to Log Analytics (diagnostic settings); empty: none.')
param controlPlaneLogCategories string[] = [
  'kube-audit-admin'
  'guard'
]

@description('Managed Prometheus: an Azure Monitor workspace, the AKS metrics add-on and its data collection endpoint, rule and associations.')
param managedPrometheusEnabled bool = true

@description('Public network access of the Azure Monitor workspace, its collection endpoint and Grafana.')
@allowed([
  'Enabled'
  'Disabled'
])
param monitoringPublicNetworkAccess string = 'Enabled'

@description('Azure Managed Grafana on the managed Prometheus data (needs managedPrometheusEnabled).')
param grafanaEnabled bool = false

@description('Object IDs of Entra ID groups given Grafana Admin.')
param grafanaAdminGroupObjectIds string[] = []

@description('Prometheus alert rules (roles/infra/files/bicep/alerts/neo4j-alerts.yml) and their action group (needs managedPrometheusEnabled).')
param alertsEnabled bool = true

@description('Deploy the Enterprise rule group (Neo4j\'s own metrics).')
param alertsEnterpriseRulesEnabled bool = false

@description('E-mail receivers of the alert action group.')
param alertEmailReceivers {
  @description('Receiver name, unique in the action group.')
  name: string

  @description('E-mail address.')
  address: string
}[] = []

@description('Webhook receivers of the alert action group.')
param alertWebhookReceivers {
  @description('Receiver name, unique in the action group.')
  name: string

  @description('HTTPS URL the alert is posted to.')
  uri: string
}[] = []

@description('Key Vault name; empty: derived from the prefix and the resource group.')
param keyVaultName string = ''

@description('Days a deleted Key Vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteDays int = 90

@description('Name of the Key Vault secret holding the Neo4j password: generated by the neo4j role when missing (neo4j_password_source keyvault), rotated by playbooks/rotate_password.yml.')
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

@description('Private endpoints (and private DNS zones linked to the VNet) for Key Vault and the backup account, in the private endpoint subnet.')
param privateEndpointsEnabled bool = false

@description('Public endpoint of Key Vault and Storage: Enabled (firewalled, default deny) or Disabled (private endpoints only).')
@allowed([
  'Enabled'
  'Disabled'
])
param dataPublicNetworkAccess string = 'Enabled'

// Objects rather than bare CIDRs: both firewalls take {value: CIDR} rules, so no loop is needed here.
@description('IP rules ({value: CIDR}) of the Key Vault and Storage firewalls (besides the AKS subnet).')
param dataAllowedIpRules { value: string }[] = []

@description('Namespace of the backup ServiceAccount.')
param backupNamespace string = 'neo4j'

@description('Name of the backup ServiceAccount.')
param backupServiceAccountName string = 'neo4j-backup'

@description('Namespace of the Neo4j release (its ServiceAccount is federated with the Neo4j identity).')
param neo4jNamespace string = 'neo4j'

@description('Name of the Neo4j ServiceAccount: the chart\'s full name, the release name by default.')
param neo4jServiceAccountName string = 'neo4j'

@description('The Neo4j pods mount the password from Key Vault (the neo4j role\'s neo4j_keyvault_csi): the Neo4j identity gets Key Vault Secrets User on the password secret, and no identity reads it otherwise.')
param neo4jPasswordReaderEnabled bool = false

var baseName = '${namePrefix}-${environment}'
var clusterName = '${baseName}-aks'
var vnetName = '${baseName}-vnet'
var aksSubnetName = 'aks-nodes'
var workspaceName = '${baseName}-logs'
var monitorWorkspaceName = '${baseName}-prometheus'
var suffix = uniqueString(resourceGroup().id)
var effectiveKeyVaultName = empty(keyVaultName) ? '${namePrefix}kv${suffix}' : keyVaultName
var effectiveStorageAccountName = empty(storageAccountName) ? '${namePrefix}st${suffix}' : storageAccountName
// Ids from names, not from module outputs: the modules that use them stay evaluable by what-if.
var aksSubnetId = resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, aksSubnetName)
var workspaceId = resourceId('Microsoft.OperationalInsights/workspaces', workspaceName)

module network 'modules/network.bicep' = {
  name: '${deployment().name}-network'
  params: {
    location: location
    vnetName: vnetName
    vnetAddressPrefix: vnetAddressPrefix
    aksSubnetName: aksSubnetName
    aksSubnetPrefix: aksSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    outboundType: outboundType
    natGatewayPublicIpCount: natGatewayPublicIpCount
    natGatewayIdleTimeoutMinutes: natGatewayIdleTimeoutMinutes
    egressNextHopIp: egressNextHopIp
    natGatewayName: '${vnetName}-egress-nat'
    routeTableName: '${vnetName}-egress-rt'
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${deployment().name}-monitoring'
  params: {
    location: location
    workspaceName: workspaceName
    retentionInDays: logRetentionDays
    dailyQuotaGb: logDailyQuotaGb
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
    logAnalyticsWorkspaceId: workspaceId
    outboundType: outboundType
    routeTableName: '${vnetName}-egress-rt'
    defenderEnabled: defenderEnabled
    imageCleanerEnabled: imageCleanerEnabled
    imageCleanerIntervalHours: imageCleanerIntervalHours
    maintenanceWindows: maintenanceWindows
    managedPrometheusEnabled: managedPrometheusEnabled
    controlPlaneLogCategories: controlPlaneLogCategories
    tags: tags
  }
  dependsOn: [
    network
    monitoring
  ]
}

module prometheus 'modules/prometheus.bicep' = if (managedPrometheusEnabled) {
  name: '${deployment().name}-prometheus'
  params: {
    location: location
    monitorWorkspaceName: monitorWorkspaceName
    clusterName: clusterName
    publicNetworkAccess: monitoringPublicNetworkAccess
    tags: tags
  }
  dependsOn: [
    aks
  ]
}

module alerts 'modules/alerts.bicep' = if (managedPrometheusEnabled && alertsEnabled) {
  name: '${deployment().name}-alerts'
  params: {
    location: location
    namePrefix: baseName
    actionGroupName: '${baseName}-neo4j-alerts'
    monitorWorkspaceName: monitorWorkspaceName
    clusterName: clusterName
    emailReceivers: alertEmailReceivers
    webhookReceivers: alertWebhookReceivers
    enterpriseRulesEnabled: alertsEnterpriseRulesEnabled
    tags: tags
  }
  dependsOn: [
    prometheus
  ]
}

module grafana 'modules/grafana.bicep' = if (managedPrometheusEnabled && grafanaEnabled) {
  name: '${deployment().name}-grafana'
  params: {
    location: location
    grafanaName: take('${baseName}-grafana', 23)
    monitorWorkspaceName: monitorWorkspaceName
    adminGroupObjectIds: grafanaAdminGroupObjectIds
    publicNetworkAccess: monitoringPublicNetworkAccess
    tags: tags
  }
  dependsOn: [
    prometheus
  ]
}

module keyVault 'modules/keyvault.bicep' = {
  name: '${deployment().name}-keyvault'
  params: {
    location: location
    keyVaultName: effectiveKeyVaultName
    softDeleteRetentionDays: keyVaultSoftDeleteDays
    publicNetworkAccess: dataPublicNetworkAccess
    aksSubnetId: aksSubnetId
    allowedIpRules: dataAllowedIpRules
    tags: tags
  }
  dependsOn: [
    network
  ]
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
    aksSubnetId: aksSubnetId
    allowedIpRules: dataAllowedIpRules
    tags: tags
  }
  dependsOn: [
    network
  ]
}

module privateLink 'modules/privatelink.bicep' = if (privateEndpointsEnabled) {
  name: '${deployment().name}-privatelink'
  params: {
    location: location
    vnetName: vnetName
    subnetName: 'private-endpoints'
    keyVaultName: effectiveKeyVaultName
    storageAccountName: effectiveStorageAccountName
    tags: tags
  }
  dependsOn: [
    network
    keyVault
    storage
  ]
}

module identity 'modules/identity.bicep' = {
  name: '${deployment().name}-identity'
  params: {
    location: location
    identityName: '${baseName}-backup'
    backupNamespace: backupNamespace
    backupServiceAccountName: backupServiceAccountName
    neo4jIdentityName: '${baseName}-neo4j'
    neo4jNamespace: neo4jNamespace
    neo4jServiceAccountName: neo4jServiceAccountName
    storageAccountName: effectiveStorageAccountName
    keyVaultName: effectiveKeyVaultName
    neo4jPasswordSecretName: neo4jPasswordSecretName
    neo4jPasswordReaderEnabled: neo4jPasswordReaderEnabled
    clusterName: clusterName
    tags: tags
  }
  dependsOn: [
    aks
    keyVault
    storage
  ]
}

output clusterName string = aks.outputs.clusterName
output resourceGroup string = resourceGroup().name
output oidcIssuerUrl string = aks.outputs.oidcIssuerUrl
output storageAccountName string = storage.outputs.storageAccountName
output blobEndpoint string = storage.outputs.blobEndpoint
output backupContainer string = storage.outputs.backupContainer
output backupIdentityClientId string = identity.outputs.backupIdentityClientId
output neo4jIdentityClientId string = identity.outputs.neo4jIdentityClientId
output keyVaultName string = keyVault.outputs.keyVaultName
output keyVaultUri string = keyVault.outputs.keyVaultUri
#disable-next-line outputs-should-not-contain-secrets // the name of the Key Vault secret, not its value
output neo4jPasswordSecretName string = neo4jPasswordSecretName
output logAnalyticsWorkspaceId string = monitoring.outputs.workspaceId
output monitorWorkspaceId string = managedPrometheusEnabled ? resourceId('Microsoft.Monitor/accounts', monitorWorkspaceName) : ''
output tenantId string = subscription().tenantId
output backupNamespace string = backupNamespace
output backupServiceAccountName string = backupServiceAccountName
