#!/usr/bin/env bash
# Installs helm 3, the helm-diff plugin, kubectl, kubelogin and the bicep CLI into an execution environment image.
# Versions come from the environment (see execution-environment.yml); helm, kubectl and kubelogin are verified
# against the checksum files their projects publish next to them.
set -euo pipefail
arch=amd64
tmp=$(mktemp -d)
cd "$tmp"

fetch() { curl -fsSL --retry 3 -o "$2" "$1"; }

fetch "https://get.helm.sh/helm-${HELM_VERSION}-linux-${arch}.tar.gz" helm.tgz
fetch "https://get.helm.sh/helm-${HELM_VERSION}-linux-${arch}.tar.gz.sha256sum" helm.sha
echo "$(cut -d' ' -f1 helm.sha)  helm.tgz" | sha256sum -c -
tar -xzf helm.tgz && install -m 0755 "linux-${arch}/helm" /usr/local/bin/helm

mkdir -p /usr/local/share/helm/plugins
HELM_PLUGINS=/usr/local/share/helm/plugins helm plugin install https://github.com/databus23/helm-diff \
  --version "${HELM_DIFF_VERSION}"

fetch "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${arch}/kubectl" kubectl
fetch "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${arch}/kubectl.sha256" kubectl.sha
echo "$(cat kubectl.sha)  kubectl" | sha256sum -c -
install -m 0755 kubectl /usr/local/bin/kubectl

# kubelogin: the exec plugin of AKS's Entra ID kubeconfigs (aks_kubeconfig's login option picks its mode).
fetch "https://github.com/Azure/kubelogin/releases/download/${KUBELOGIN_VERSION}/kubelogin-linux-${arch}.zip" kubelogin.zip
fetch "https://github.com/Azure/kubelogin/releases/download/${KUBELOGIN_VERSION}/kubelogin-linux-${arch}.zip.sha256" kubelogin.sha
echo "$(cut -d' ' -f1 kubelogin.sha)  kubelogin.zip" | sha256sum -c -
python3 -m zipfile -e kubelogin.zip kubelogin-dist
install -m 0755 "kubelogin-dist/bin/linux_${arch}/kubelogin" /usr/local/bin/kubelogin
kubelogin --version

fetch "https://github.com/Azure/bicep/releases/download/${BICEP_VERSION}/bicep-linux-x64" bicep
# The same build the tests run (../shared/tools/bicep, see its README for the checksum).
echo "${BICEP_SHA256}  bicep" | sha256sum -c -
install -m 0755 bicep /usr/local/bin/bicep
bicep --version

cd / && rm -rf "$tmp"
