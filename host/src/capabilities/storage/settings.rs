//! `[storage]` in host.toml: where objects live (the local folder, or an S3-compatible
//! bucket), the quotas of modules and tenants, the largest object, and the key that signs
//! published URLs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// Storage settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StorageConfig {
    /// The folder holding every module's root; default: `storage` in the host's data
    /// folder (`data/storage` beside the plugins folder).
    pub root: Option<PathBuf>,
    /// Bytes one module may keep.
    #[serde(default = "default_module_max_bytes")]
    pub module_max_bytes: u64,
    /// Objects one module may keep.
    #[serde(default = "default_module_max_objects")]
    pub module_max_objects: u64,
    /// Bytes one tenant's modules may keep together.
    #[serde(default = "default_tenant_max_bytes")]
    pub tenant_max_bytes: u64,
    /// Objects one tenant's modules may keep together.
    #[serde(default = "default_tenant_max_objects")]
    pub tenant_max_objects: u64,
    /// Per-tenant exceptions: `[storage.tenants.acme] tenant-max-bytes = …`.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantQuota>,
    /// The largest object, written in pieces (`begin-upload`).
    #[serde(default = "default_max_object_bytes")]
    pub max_object_bytes: u64,
    /// The secret that signs published URLs (at least 32 characters). Hosts that share a
    /// bucket and a domain need the same one; without it each start makes a random one,
    /// so URLs published before a restart stop working.
    pub signing_key: Option<String>,
    /// An S3-compatible bucket instead of the local folder.
    pub s3: Option<S3Config>,
}

/// `[storage.tenants.NAME]`: limits of one tenant that differ from the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TenantQuota {
    /// Bytes one module of this tenant may keep.
    pub module_max_bytes: Option<u64>,
    /// Objects one module of this tenant may keep.
    pub module_max_objects: Option<u64>,
    /// Bytes this tenant's modules may keep together.
    pub tenant_max_bytes: Option<u64>,
    /// Objects this tenant's modules may keep together.
    pub tenant_max_objects: Option<u64>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            root: None,
            module_max_bytes: default_module_max_bytes(),
            module_max_objects: default_module_max_objects(),
            tenant_max_bytes: default_tenant_max_bytes(),
            tenant_max_objects: default_tenant_max_objects(),
            tenants: BTreeMap::new(),
            max_object_bytes: default_max_object_bytes(),
            signing_key: None,
            s3: None,
        }
    }
}

impl StorageConfig {
    /// The limits of `tenant`'s modules and of the tenant.
    pub fn limits_of(&self, tenant: &str) -> Limits {
        let own = self.tenants.get(tenant).cloned().unwrap_or_default();
        Limits {
            module: Usage {
                bytes: own.module_max_bytes.unwrap_or(self.module_max_bytes),
                objects: own.module_max_objects.unwrap_or(self.module_max_objects),
            },
            tenant: Usage {
                bytes: own.tenant_max_bytes.unwrap_or(self.tenant_max_bytes),
                objects: own.tenant_max_objects.unwrap_or(self.tenant_max_objects),
            },
        }
    }

    /// Checks the signing key's length.
    pub fn validate(&self) -> Result<(), String> {
        if self.signing_key.as_ref().is_some_and(|k| k.len() < 32) {
            return Err("storage.signing-key must be at least 32 characters".into());
        }
        Ok(())
    }
}

const GIB: u64 = 1 << 30;

fn default_module_max_bytes() -> u64 {
    10 * GIB
}

fn default_module_max_objects() -> u64 {
    1_000_000
}

fn default_tenant_max_bytes() -> u64 {
    50 * GIB
}

fn default_tenant_max_objects() -> u64 {
    5_000_000
}

fn default_max_object_bytes() -> u64 {
    GIB
}

/// What a module or a tenant keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of its objects.
    pub bytes: u64,
    /// How many objects.
    pub objects: u64,
}

/// The limits of one module and of its tenant.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A module's limit.
    pub module: Usage,
    /// The tenant's limit, all its modules together.
    pub tenant: Usage,
}

/// `[storage.s3]` in host.toml: the bucket that holds every module's objects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct S3Config {
    /// The bucket; it must exist.
    pub bucket: String,
    /// The store's URL for a store other than AWS (`http://127.0.0.1:9000` for MinIO);
    /// default: AWS's endpoint for `region`.
    pub endpoint: Option<String>,
    /// The bucket's region; default: `AWS_REGION` or `AWS_DEFAULT_REGION`, then
    /// `us-east-1`.
    pub region: Option<String>,
    /// Access key; without it (and `secret-access-key`), the `AWS_*` environment
    /// variables, then the machine's role.
    pub access_key_id: Option<String>,
    /// Secret for `access-key-id`.
    pub secret_access_key: Option<String>,
    /// Allows an `http://` endpoint (a store on this machine or a trusted network).
    #[serde(default)]
    pub allow_http: bool,
    /// A folder inside the bucket to keep the objects in (`plughost/storage`).
    pub prefix: Option<String>,
}
