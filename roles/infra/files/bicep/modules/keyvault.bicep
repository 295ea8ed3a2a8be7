// Key Vault for the Neo4j password: RBAC authorization (no access policies), soft delete with purge
// protection, and a firewall that admits only the AKS subnet (service endpoint) and the listed CIDRs.
// The Neo4j password secret is written by the neo4j role (generated when missing) and rotated by
// playbooks/rotate_password.yml; the template fixes its name and who reads it (identity.bicep).

@description('Azure region of the vault.')
param location string

@description('Name of the Key Vault (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Days a deleted vault or secret stays recoverable (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionDays int

@description('Enabled: reachable through its firewall (default deny); Disabled: private endpoints only.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Resource ID of the AKS node subnet admitted by the firewall.')
param aksSubnetId string

@description('Firewall IP rules, each {value: CIDR} (e.g. the Ansible controller).')
param allowedIpRules { value: string }[]

@description('Tags applied to every resource.')
param tags { *: string }

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  //checkov:skip=CKV_AZURE_189: public access is a role variable; with Enabled the firewall still denies by default and admits only the AKS subnet and listed CIDRs
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
      ipRules: allowedIpRules
      virtualNetworkRules: [
        {
          id: aksSubnetId
          ignoreMissingVnetServiceEndpoint: false
        }
      ]
    }
  }
}

output keyVaultName string = vault.name
output keyVaultUri string = vault.properties.vaultUri
