//! Workspace-level objects (`https://<deployment>.cloud.databricks.com/api/…`): instance
//! profiles, groups and workspace files. Each carries the `WorkspaceUrl`.

use super::repr::{Repr, Template};
use super::resource_type;

property_struct! {
    /// An instance profile registered in a workspace.
    pub struct InstanceProfile {
        /// The workspace URL (`https://…`, the workspace's `WorkspaceUrl` attribute).
        pub workspace_url: R::Str,
        /// The instance profile ARN (`arn:aws:iam::…:instance-profile/…`).
        pub instance_profile_arn: R::Str,
        /// The role behind the profile, when its name differs from the profile's. Absent: not sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub iam_role_arn: Option<R::Str>,
        /// Whether the role may assume other roles (IAM credential passthrough).
        pub is_meta_instance_profile: R::Bool,
        /// Skip Databricks' dry-run validation. Absent: validated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub skip_validation: Option<R::Bool>,
    }
}

attributes! {
    /// The attributes of [`InstanceProfile`].
    InstanceProfileAttr {
        /// The registered instance profile ARN.
        InstanceProfileArn,
    }
}

// The ARN is the physical id: a new ARN is a new registration (CloudFormation removes the old
// one). The role and the meta flag change in place; another workspace keeps the id (the
// registration is made there, the old workspace's is left to that workspace).
template_properties!(
    InstanceProfile,
    resource_type::INSTANCE_PROFILE,
    InstanceProfileAttr,
    create_only: ["/properties/InstanceProfileArn"]
);

property_struct! {
    /// A workspace (SCIM) group with its roles and entitlements.
    pub struct Group {
        /// The workspace URL (`https://…`, the workspace's `WorkspaceUrl` attribute).
        pub workspace_url: R::Str,
        /// `displayName`, unique in the workspace (not `users` or `admins`).
        pub display_name: R::Str,
        /// IAM role ARNs for the SCIM `roles` attribute (data roles for credential passthrough).
        pub roles: R::StrList,
        /// Instance profile ARNs the group may launch clusters with (also SCIM `roles`). Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub instance_profile_arns: Option<R::StrList>,
        /// The `allow-cluster-create` entitlement.
        pub allow_cluster_create: R::Bool,
        /// The `allow-instance-pool-create` entitlement.
        pub allow_instance_pool_create: R::Bool,
    }
}

attributes! {
    /// The attributes of [`Group`].
    GroupAttr {
        /// The SCIM group id (a numeric string).
        GroupId,
    }
}

// A rename or another workspace is a new group (SCIM renames are unreliable, reference §3.1);
// roles and entitlements are PATCHed in place.
template_properties!(
    Group,
    resource_type::GROUP,
    GroupAttr,
    create_only: ["/properties/WorkspaceUrl", "/properties/DisplayName"]
);

property_struct! {
    /// A file in the workspace tree (an init script, for example).
    pub struct WorkspaceFile {
        /// The workspace URL (`https://…`, the workspace's `WorkspaceUrl` attribute).
        pub workspace_url: R::Str,
        /// The absolute path, in a folder only admins can write (`/cdkrs/init/sse-kms.sh`; not
        /// `/Shared` or a home folder, which the provider refuses). The provider sets the
        /// file's permissions after each write (`admins` manage it, `users` read it) and fails
        /// if anybody else can change it.
        pub path: R::Str,
        /// The content, base64-encoded (at most 10 MB decoded).
        pub content_base64: R::Str,
        /// Replace a file already at the path.
        pub overwrite: R::Bool,
    }
}

attributes! {
    /// The attributes of [`WorkspaceFile`].
    WorkspaceFileAttr {
        /// The file's absolute path (for a cluster's init script destination).
        Path,
    }
}

// The path is the physical id: a new path is a new file (the old one is deleted); the content
// is written again in place.
template_properties!(
    WorkspaceFile,
    resource_type::WORKSPACE_FILE,
    WorkspaceFileAttr,
    create_only: ["/properties/Path"]
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::{
        as_delivered, json_of, keys, properties_of, stack_with_provider, synth_custom,
    };
    use crate::{Lenient, Runtime, Workspace, WorkspaceAttr};
    use cdkrs_constructs::custom_resource::{CustomResource, CustomResourceProps};
    use cdkrs_constructs::Value;

    const URL: &str = "https://acme-prod.cloud.databricks.com";

    #[test]
    fn instance_profile_round_trip() {
        let (ty, props) = properties_of(InstanceProfile::<Template> {
            workspace_url: URL.into(),
            instance_profile_arn: "arn:aws:iam::123456789012:instance-profile/acme-data".into(),
            iam_role_arn: Some("arn:aws:iam::123456789012:role/acme-data-role".into()),
            is_meta_instance_profile: true.into(),
            skip_validation: Some(false.into()),
        });
        assert_eq!(ty, "Custom::DatabricksInstanceProfile");
        assert_eq!(
            props,
            json!({
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 3600,
                "WorkspaceUrl": URL,
                "InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/acme-data",
                "IamRoleArn": "arn:aws:iam::123456789012:role/acme-data-role",
                "IsMetaInstanceProfile": true,
                "SkipValidation": false
            })
        );
        let event = as_delivered(&props);
        assert_eq!(event["IsMetaInstanceProfile"], "true");
        let rt: InstanceProfile<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(rt.workspace_url, URL);
        assert_eq!(
            rt.instance_profile_arn,
            "arn:aws:iam::123456789012:instance-profile/acme-data"
        );
        assert_eq!(
            rt.iam_role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/acme-data-role")
        );
        assert!(*rt.is_meta_instance_profile);
        assert_eq!(rt.skip_validation, Some(Lenient(false)));
    }

    #[test]
    fn instance_profile_optional_fields_absent_are_none() {
        let rt: InstanceProfile<Runtime> = serde_json::from_value(json!({
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:p",
            "WorkspaceUrl": URL,
            "InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/p",
            "IsMetaInstanceProfile": "false"
        }))
        .unwrap();
        assert!(!*rt.is_meta_instance_profile);
        assert_eq!(rt.iam_role_arn, None);
        assert_eq!(rt.skip_validation, None);
    }

    #[test]
    fn group_takes_the_workspace_url_from_the_workspace() {
        let (mut stack, f) = stack_with_provider();
        let ws = CustomResource::new(
            &mut stack,
            "Workspace",
            &f,
            Workspace::<Template> {
                account_id: "a".into(),
                workspace_name: "w".into(),
                aws_region: "eu-west-1".into(),
                credentials_id: "c".into(),
                storage_configuration_id: "s".into(),
                network_id: "n".into(),
                storage_customer_managed_key_id: None,
                managed_services_customer_managed_key_id: None,
                pricing_tier: None,
                deployment_name: None,
                custom_tags: None,
            },
            CustomResourceProps::default(),
        )
        .unwrap();
        let (ty, props) = synth_custom(
            stack,
            &f,
            "DataEngineers",
            Group::<Template> {
                workspace_url: ws.attr(WorkspaceAttr::WorkspaceUrl),
                display_name: "data-engineers".into(),
                roles: Value::from(vec!["arn:aws:iam::123456789012:role/data".to_owned()]),
                instance_profile_arns: Some(Value::from(vec![
                    "arn:aws:iam::123456789012:instance-profile/acme-data".to_owned(),
                ])),
                allow_cluster_create: true.into(),
                allow_instance_pool_create: false.into(),
            },
        );
        assert_eq!(ty, "Custom::DatabricksGroup");
        assert_eq!(
            props,
            json!({
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 3600,
                "WorkspaceUrl": {"Fn::GetAtt": ["Workspace", "WorkspaceUrl"]},
                "DisplayName": "data-engineers",
                "Roles": ["arn:aws:iam::123456789012:role/data"],
                "InstanceProfileArns": ["arn:aws:iam::123456789012:instance-profile/acme-data"],
                "AllowClusterCreate": true,
                "AllowInstancePoolCreate": false
            })
        );
        let mut event = as_delivered(&props);
        event["WorkspaceUrl"] = json!(URL);
        let rt: Group<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(rt.workspace_url, URL);
        assert_eq!(rt.display_name, "data-engineers");
        assert_eq!(rt.roles, ["arn:aws:iam::123456789012:role/data"]);
        assert_eq!(
            rt.instance_profile_arns,
            Some(vec![
                "arn:aws:iam::123456789012:instance-profile/acme-data".to_owned()
            ])
        );
        assert!(*rt.allow_cluster_create);
        assert!(!*rt.allow_instance_pool_create);
    }

    #[test]
    fn group_without_instance_profiles_omits_them() {
        let g = Group::<Template> {
            workspace_url: URL.into(),
            display_name: "analysts".into(),
            roles: Value::from(Vec::<String>::new()),
            instance_profile_arns: None,
            allow_cluster_create: false.into(),
            allow_instance_pool_create: false.into(),
        };
        let j = json_of(&g);
        assert_eq!(
            keys(&j),
            [
                "AllowClusterCreate",
                "AllowInstancePoolCreate",
                "DisplayName",
                "Roles",
                "WorkspaceUrl"
            ]
        );
        let rt: Group<Runtime> = serde_json::from_value(as_delivered(&j)).unwrap();
        assert_eq!(rt.instance_profile_arns, None);
        assert!(rt.roles.is_empty());
    }

    #[test]
    fn workspace_file_round_trip() {
        let (ty, props) = properties_of(WorkspaceFile::<Template> {
            workspace_url: URL.into(),
            path: "/cdkrs/init/sse-kms.sh".into(),
            content_base64: "IyEvYmluL2Jhc2gK".into(),
            overwrite: true.into(),
        });
        assert_eq!(ty, "Custom::DatabricksWorkspaceFile");
        assert_eq!(
            keys(&props),
            [
                "ContentBase64",
                "Overwrite",
                "Path",
                "ServiceTimeout",
                "ServiceToken",
                "WorkspaceUrl"
            ]
        );
        assert_eq!(props["Overwrite"], json!(true));
        let rt: WorkspaceFile<Runtime> = serde_json::from_value(as_delivered(&props)).unwrap();
        assert_eq!(rt.path, "/cdkrs/init/sse-kms.sh");
        assert_eq!(rt.content_base64, "IyEvYmluL2Jhc2gK");
        assert!(*rt.overwrite);
    }

    #[test]
    fn a_bad_boolean_names_the_value() {
        let e = serde_json::from_value::<WorkspaceFile<Runtime>>(json!({
            "WorkspaceUrl": URL, "Path": "/p", "ContentBase64": "", "Overwrite": "maybe"
        }))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value: string \"maybe\", expected a boolean or the string \"true\" or \"false\""
        );
    }
}
