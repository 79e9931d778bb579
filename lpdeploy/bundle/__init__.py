"""Course bundles: manifests, building, signing and verifying."""
