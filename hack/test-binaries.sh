#!/usr/bin/env bash
# Everything `npm test` runs besides node: etcd 3.4/3.5/3.6 (hack/etcd-binaries.sh),
# kube-apiserver + kube-controller-manager for the real-server tests (hack/kube-binaries.sh), and
# the S3 (versitygw) and GCS (fake-gcs-server) servers of the backup-store tests (hack/storage-binaries.sh).
# The first run builds them from Go modules (about 15 minutes on 2 cores); later runs reuse the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/etcd-binaries.sh
hack/kube-binaries.sh --only kube-apiserver
hack/kube-binaries.sh --only kube-controller-manager
hack/kube-binaries.sh --only krew
hack/storage-binaries.sh
