//! Unity Catalog: the workspace's metastore assignment and account-level groups (Account API),
//! and the metastore's objects reached through a workspace (`/api/2.1/unity-catalog/…`):
//! storage credentials, external locations, catalogs and grants.
//!
//! Unity Catalog grants only account-level principals, so the groups these objects are granted
//! to are [`AccountGroup`]s, assigned to the workspace with a
//! [`WorkspaceAssignment`](super::WorkspaceAssignment).

use super::repr::{Repr, Template};
use super::resource_type;

/// Databricks' Unity Catalog master role (commercial partition): the storage-credential role
/// trusts it with `sts:ExternalId` = the Databricks account id (reference, "Corrections and
/// additions of 2026-12-04"; Databricks, "Create a storage credential for connecting to AWS S3",
/// step 1; terraform-provider-databricks `aws/data_aws_unity_catalog_assume_role_policy.go`).
pub const UNITY_CATALOG_MASTER_ROLE_ARN: &str =
    "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL";

property_struct! {
    /// The workspace's Unity Catalog metastore. Create uses the metastore the account already
    /// assigned to the workspace (automatic assignment), else the account's metastore in the
    /// workspace's region, else creates one named `MetastoreName` in that region; then assigns
    /// it. A metastore is account-wide and shared by every workspace of the region: the provider
    /// never deletes one. Delete removes the assignment only when this resource made it.
    pub struct MetastoreAssignment {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// The [`Workspace`](super::Workspace) id.
        pub workspace_id: R::Str,
        /// The workspace's AWS region (a metastore serves one region).
        pub region: R::Str,
        /// The name of the metastore created when the account has none in the region.
        pub metastore_name: R::Str,
    }
}

attributes! {
    /// The attributes of [`MetastoreAssignment`].
    MetastoreAssignmentAttr {
        /// The assigned metastore's id (a UUID).
        MetastoreId,
    }
}

// Another workspace, account or region is another assignment; the name only matters when a
// metastore is created, so changing it changes nothing.
template_properties!(
    MetastoreAssignment,
    resource_type::METASTORE_ASSIGNMENT,
    MetastoreAssignmentAttr,
    create_only: ["/properties/AccountId", "/properties/WorkspaceId", "/properties/Region"]
);

property_struct! {
    /// An account-level (SCIM) group. Members are not managed here (an identity provider or an
    /// admin adds them).
    pub struct AccountGroup {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// `displayName`, unique in the account.
        pub display_name: R::Str,
    }
}

attributes! {
    /// The attributes of [`AccountGroup`].
    AccountGroupAttr {
        /// The account SCIM group id (a numeric string): the principal id of its workspace
        /// assignment.
        GroupId,
        /// The display name, for grants (Unity Catalog names group principals by name).
        DisplayName,
    }
}

// A rename is a new group (as for workspace groups: SCIM renames are unreliable).
template_properties!(
    AccountGroup,
    resource_type::ACCOUNT_GROUP,
    AccountGroupAttr,
    create_only: ["/properties/AccountId", "/properties/DisplayName"]
);

property_struct! {
    /// A storage credential: an IAM role Unity Catalog assumes to reach S3.
    pub struct StorageCredential {
        /// The workspace URL (`https://…`, the workspace's `WorkspaceUrl` attribute).
        pub workspace_url: R::Str,
        /// `name`, unique in the metastore.
        pub name: R::Str,
        /// The role's ARN (`aws_iam_role.role_arn`): it trusts the Unity Catalog master role
        /// and itself.
        pub role_arn: R::Str,
        /// `comment`. Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub comment: Option<R::Str>,
    }
}

attributes! {
    /// The attributes of [`StorageCredential`].
    StorageCredentialAttr {
        /// The credential's name (external locations name their credential).
        Name,
        /// `id` (a UUID).
        StorageCredentialId,
        /// The external id Unity Catalog assumes the role with (`aws_iam_role.external_id`).
        ExternalId,
    }
}

// The role and the comment change in place (PATCH); a new name or workspace is a new credential.
template_properties!(
    StorageCredential,
    resource_type::STORAGE_CREDENTIAL,
    StorageCredentialAttr,
    create_only: ["/properties/WorkspaceUrl", "/properties/Name"]
);

property_struct! {
    /// An external location: an S3 path and the storage credential that reaches it.
    pub struct ExternalLocation {
        /// The workspace URL (`https://…`, the workspace's `WorkspaceUrl` attribute).
        pub workspace_url: R::Str,
        /// `name`, unique in the metastore.
        pub name: R::Str,
        /// `url` (`s3://bucket/` or `s3://bucket/path`); it may not overlap another location's.
        pub url: R::Str,
        /// The [`StorageCredential`]'s name.
        pub credential_name: R::Str,
        /// `comment`. Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub comment: Option<R::Str>,
    }
}

attributes! {
    /// The attributes of [`ExternalLocation`].
    ExternalLocationAttr {
        /// The location's name (grants name it).
        Name,
        /// The location's URL.
        Url,
    }
}

// URL, credential and comment change in place (PATCH); a new name or workspace is a new one.
template_properties!(
    ExternalLocation,
    resource_type::EXTERNAL_LOCATION,
    ExternalLocationAttr,
    create_only: ["/properties/WorkspaceUrl", "/properties/Name"]
);

property_struct! {
    /// A catalog with its own managed storage.
    pub struct Catalog {
        /// The workspace URL (`https://…`, the workspace's `WorkspaceUrl` attribute).
        pub workspace_url: R::Str,
        /// `name`, unique in the metastore: letters, digits and underscores.
        pub name: R::Str,
        /// `storage_root`: where managed tables' files go, inside an external location.
        pub storage_root: R::Str,
        /// `comment`. Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub comment: Option<R::Str>,
    }
}

attributes! {
    /// The attributes of [`Catalog`].
    CatalogAttr {
        /// The catalog's name (grants name it).
        Name,
    }
}

// The storage root cannot change after creation (terraform-provider-databricks
// `catalog/resource_catalog.go`: `storage_root` is ForceNew).
template_properties!(
    Catalog,
    resource_type::CATALOG,
    CatalogAttr,
    create_only: ["/properties/WorkspaceUrl", "/properties/Name", "/properties/StorageRoot"],
    replacement_warning: CATALOG_REPLACEMENT_WARNING
);

/// What replacing a catalog loses.
pub const CATALOG_REPLACEMENT_WARNING: &str = "a new catalog is made: the old one's schemas, \
tables, views and grants stay in the old catalog (kept, not deleted, while it holds any), and \
queries naming the old catalog must change";

property_struct! {
    /// One securable's privileges for a [`Grants`] principal.
    pub struct SecurableGrant {
        /// A [`SecurableType`](super::SecurableType) value (`CATALOG`, `EXTERNAL_LOCATION`, …).
        pub securable_type: R::Str,
        /// The securable's full name (a catalog's or an external location's name).
        pub full_name: R::Str,
        /// [`Privilege`](super::Privilege) values.
        pub privileges: R::StrList,
    }
}

property_struct! {
    /// The privileges one principal holds on some securables, as this stack grants them. Update
    /// grants what was added and revokes what was removed; Delete revokes what it granted.
    /// Privileges the principal got elsewhere are never touched.
    pub struct Grants {
        /// The workspace URL (`https://…`, the workspace's `WorkspaceUrl` attribute).
        pub workspace_url: R::Str,
        /// The principal: an account group's display name (Unity Catalog grants only account
        /// principals).
        pub principal: R::Str,
        /// The securables and their privileges.
        pub grants: Vec<SecurableGrant<R>>,
    }
}

attributes! {
    /// The attributes of [`Grants`].
    GrantsAttr {
        /// The principal.
        Principal,
    }
}

// Another principal or workspace is another set of grants (the old one's are revoked).
template_properties!(
    Grants,
    resource_type::GRANTS,
    GrantsAttr,
    create_only: ["/properties/WorkspaceUrl", "/properties/Principal"]
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::{as_delivered, properties_of};
    use crate::{Privilege, Runtime, SecurableType};

    const URL: &str = "https://acme-prod.cloud.databricks.com";

    #[test]
    fn grants_round_trip_with_nested_securables() {
        let (ty, props) = properties_of(Grants::<Template> {
            workspace_url: URL.into(),
            principal: "Read only".into(),
            grants: vec![
                SecurableGrant {
                    securable_type: SecurableType::Catalog.into(),
                    full_name: "acme_raw".into(),
                    privileges: Privilege::list([Privilege::UseCatalog, Privilege::Select]),
                },
                SecurableGrant {
                    securable_type: SecurableType::ExternalLocation.into(),
                    full_name: "acme-raw".into(),
                    privileges: Privilege::list([Privilege::ReadFiles]),
                },
            ],
        });
        assert_eq!(ty, "Custom::DatabricksGrants");
        assert_eq!(
            props["Grants"],
            json!([
                {"SecurableType": "CATALOG", "FullName": "acme_raw", "Privileges": ["USE_CATALOG", "SELECT"]},
                {"SecurableType": "EXTERNAL_LOCATION", "FullName": "acme-raw", "Privileges": ["READ_FILES"]}
            ])
        );
        let rt: Grants<Runtime> = serde_json::from_value(as_delivered(&props)).unwrap();
        assert_eq!(rt.principal, "Read only");
        assert_eq!(rt.grants[1].privileges, ["READ_FILES"]);
        assert_eq!(rt.grants[0].securable_type, "CATALOG");
    }

    #[test]
    fn metastore_assignment_and_catalog_round_trip() {
        let (ty, props) = properties_of(MetastoreAssignment::<Template> {
            account_id: "a".into(),
            workspace_id: "123".into(),
            region: "eu-west-1".into(),
            metastore_name: "acme-eu-west-1".into(),
        });
        assert_eq!(ty, "Custom::DatabricksMetastoreAssignment");
        let rt: MetastoreAssignment<Runtime> =
            serde_json::from_value(as_delivered(&props)).unwrap();
        assert_eq!(rt.metastore_name, "acme-eu-west-1");

        let (ty, props) = properties_of(Catalog::<Template> {
            workspace_url: URL.into(),
            name: "acme_raw".into(),
            storage_root: "s3://acme-raw/catalog".into(),
            comment: None,
        });
        assert_eq!(ty, "Custom::DatabricksCatalog");
        assert!(props.get("Comment").is_none());
        let rt: Catalog<Runtime> = serde_json::from_value(as_delivered(&props)).unwrap();
        assert_eq!(rt.storage_root, "s3://acme-raw/catalog");
    }
}
