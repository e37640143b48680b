//! The local cloud `examples/local.yaml` is written for: the fake Databricks server with that
//! config's account and service principal, and moto with the provider pointed at it and the
//! principal's secret in SSM. The end-to-end test and the `local-cloud` example both start it.

use std::time::Duration;

use crate::databricks::{FakeConfig, FakeDatabricks};
use crate::moto::{MotoError, MotoOptions, MotoServer};

/// The SSM parameter `examples/local.yaml` names for the service principal's secret.
pub const SSM_SECRET: &str = "/databricks/cdkrs/sp-secret";
/// The service principal's client id in `examples/local.yaml` (the config demands a UUID).
pub const CLIENT_ID: &str = "33333333-3333-4333-8333-333333333333";
/// A zip with no entries: moto stores the provider zip but never runs it (the launcher runs the
/// provider binary itself).
pub const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// moto and the fake Databricks, running. Dropping it stops both (moto first).
pub struct LocalCloud {
    /// moto, with the real provider running every Lambda invocation.
    pub moto: MotoServer,
    /// The fake Databricks account server.
    pub fake: FakeDatabricks,
    // Dropped last: it serves the fake.
    _rt: tokio::runtime::Runtime,
}

impl LocalCloud {
    /// Starts both. `workspace_provisioning_delay`: how long a workspace provisions on the fake.
    pub fn start(workspace_provisioning_delay: Duration) -> Result<LocalCloud, MotoError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|source| MotoError::Spawn {
                what: "building the fake Databricks server's runtime".into(),
                source,
            })?;
        let fake = rt.block_on(FakeDatabricks::start(FakeConfig {
            client_id: CLIENT_ID.into(),
            workspace_provisioning_delay,
            // As on a real account: the stack's workspace-level resources get a workspace token
            // because the provider's principal created the workspace.
            workspace_membership_required: true,
            // As on a real account: permission assignments need an identity-federated
            // workspace (one with a metastore) and an account principal.
            identity_federation_checks: true,
            ..FakeConfig::default()
        }));
        let moto = MotoServer::start(
            MotoOptions::with_provider(crate::provider_binary())
                .env("DATABRICKS_ACCOUNTS_HOST", fake.base_url()),
        )?;
        moto.put_secure_parameter(SSM_SECRET, &fake.config().client_secret)?;
        Ok(LocalCloud {
            moto,
            fake,
            _rt: rt,
        })
    }
}
