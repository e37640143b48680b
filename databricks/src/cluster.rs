//! An all-purpose cluster (`/api/2.1/clusters/*`) and its nested property types.

use super::repr::{Repr, Template};
use super::resource_type;

property_struct! {
    /// An all-purpose cluster with autoscaling, AWS attributes, S3 logs and workspace-file init scripts.
    pub struct Cluster {
        /// The workspace URL (`https://…`, the workspace's `WorkspaceUrl` attribute).
        pub workspace_url: R::Str,
        /// `cluster_name` (not unique in Databricks; the provider adopts by id only).
        pub cluster_name: R::Str,
        /// The runtime version key (`15.4.x-scala2.12`).
        pub spark_version: R::Str,
        /// The worker instance type (`r5.xlarge`).
        pub node_type_id: R::Str,
        /// The driver instance type. Absent: same as the workers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub driver_node_type_id: Option<R::Str>,
        /// Worker count bounds.
        pub autoscale: Autoscale<R>,
        /// Idle minutes before termination (10 to 10000, or 0 to disable).
        pub autotermination_minutes: R::Int,
        /// EC2 settings of the cluster's instances.
        pub aws_attributes: AwsAttributes<R>,
        /// Spark configuration. Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub spark_conf: Option<R::StrMap>,
        /// Tags on the cluster's AWS resources (at most 45). Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub custom_tags: Option<R::StrMap>,
        /// Where driver and worker logs go. Absent: not delivered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cluster_log_conf: Option<ClusterLogConf<R>>,
        /// Init scripts, run in order (at most 10). Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub init_scripts: Option<Vec<InitScript<R>>>,
        /// A [`DataSecurityMode`](super::DataSecurityMode) value. Absent: Databricks' default.
        /// A dedicated mode (`SINGLE_USER`, `DATA_SECURITY_MODE_DEDICATED`) needs
        /// `single_user_name`; the provider refuses one without it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data_security_mode: Option<R::Str>,
        /// The user (e-mail) or service principal (application id) a dedicated cluster is for
        /// (`single_user_name`). Absent: none (not allowed with a dedicated access mode).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub single_user_name: Option<R::Str>,
        /// Whether the provider leaves a cluster it creates starting (`clusters/create` always
        /// starts one). `false` (the environment while its network is asleep): the provider
        /// terminates the new or adopted cluster right away (`clusters/delete`) and succeeds
        /// once it is `TERMINATED`; a spec change terminates a cluster that is not `TERMINATED`
        /// before the `clusters/edit`, so the edit never restarts it. Not part of the spec sent
        /// to Databricks: an Update that changes only this calls nothing (a sleep or wake never
        /// starts, stops or restarts the cluster). Absent: true.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub start_on_create: Option<R::Bool>,
        /// Groups (by display name) that may use the cluster: the provider grants each
        /// [`ClusterPermissionLevel::CanRestart`](super::ClusterPermissionLevel) on it, revokes
        /// it from a group removed from the list, and leaves every other entry of the cluster's
        /// permissions alone. Absent: the cluster's permissions are not managed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub user_groups: Option<R::StrList>,
    }
}

property_struct! {
    /// `autoscale`: the cluster's worker count range.
    pub struct Autoscale {
        /// The fewest workers.
        pub min_workers: R::Int,
        /// The most workers.
        pub max_workers: R::Int,
    }
}

property_struct! {
    /// `aws_attributes`: how the cluster's EC2 instances are bought, placed and equipped.
    pub struct AwsAttributes {
        /// An [`Availability`](super::Availability) value (`SPOT`, `ON_DEMAND`, `SPOT_WITH_FALLBACK`).
        pub availability: R::Str,
        /// How many of the first nodes (driver first) are on-demand. Create-only: Databricks
        /// cannot change it on an existing cluster, so a change replaces the cluster.
        pub first_on_demand: R::Int,
        /// The spot bid as a percentage of the on-demand price.
        pub spot_bid_price_percent: R::Int,
        /// A registered instance profile ARN. Absent: instances have no profile.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub instance_profile_arn: Option<R::Str>,
        /// The availability zone (`eu-west-1a` or `auto`). Absent: Databricks' default (`auto`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub zone_id: Option<R::Str>,
        /// An [`EbsVolumeType`](super::EbsVolumeType) value. Absent: no extra EBS volumes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ebs_volume_type: Option<R::Str>,
        /// EBS volumes per instance (at most 10). Absent: Databricks' default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ebs_volume_count: Option<R::Int>,
        /// Size of each EBS volume in GiB. Absent: Databricks' default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ebs_volume_size: Option<R::Int>,
    }
}

property_struct! {
    /// `cluster_log_conf` with an S3 destination.
    pub struct ClusterLogConf {
        /// The S3 URL logs go to (`s3://bucket/prefix`).
        pub destination: R::Str,
        /// The bucket's region.
        pub region: R::Str,
        /// Whether logs are written with server-side encryption.
        pub enable_encryption: R::Bool,
        /// An [`S3EncryptionType`](super::S3EncryptionType) value (`sse-kms`). Absent: `sse-s3`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub encryption_type: Option<R::Str>,
        /// The KMS key ARN for `sse-kms`. Absent: not sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kms_key: Option<R::Str>,
    }
}

property_struct! {
    /// One entry of `init_scripts`: a workspace file.
    pub struct InitScript {
        /// The workspace file to run (`{"workspace": {"destination": …}}` in the API).
        pub workspace: WorkspaceDestination<R>,
    }
}

property_struct! {
    /// The absolute path of a workspace file.
    pub struct WorkspaceDestination {
        /// The file's absolute path (a [`WorkspaceFile`](super::WorkspaceFile)'s `Path` attribute).
        pub destination: R::Str,
    }
}

attributes! {
    /// The attributes of [`Cluster`].
    ClusterAttr {
        /// `cluster_id` (`0619-123456-abcd1234`).
        ClusterId,
    }
}

// Create-only (a change replaces the cluster: a new id, the old one deleted):
// - `aws_attributes.first_on_demand` "cannot currently be mutated over the lifetime of a
//   cluster" (Clusters API reference; databricks-sdk-py 0.167 `service/compute.py`,
//   `AwsAttributes.first_on_demand`; Terraform provider `docs/resources/cluster.md`). No other
//   field of this spec is documented as immutable (`clusters/edit` takes the full spec; the
//   Terraform provider's `clusters/resource_cluster.go` forces a new cluster only for its own
//   `idempotency_token`).
// - the workspace: a cluster lives in one workspace.
template_properties!(
    Cluster,
    resource_type::CLUSTER,
    ClusterAttr,
    create_only: [
        "/properties/WorkspaceUrl",
        "/properties/AwsAttributes/FirstOnDemand",
    ]
);

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::test_support::{as_delivered, json_of, keys, stack_with_provider, synth_custom};
    use crate::{
        Availability, DataSecurityMode, EbsVolumeType, Lenient, Runtime, S3EncryptionType,
        WorkspaceFile, WorkspaceFileAttr,
    };
    use cdkrs_constructs::custom_resource::{CustomResource, CustomResourceProps};

    const URL: &str = "https://acme-prod.cloud.databricks.com";
    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/k";

    fn minimal() -> Cluster<Template> {
        Cluster {
            workspace_url: URL.into(),
            cluster_name: "acme-shared".into(),
            spark_version: "15.4.x-scala2.12".into(),
            node_type_id: "r5.xlarge".into(),
            driver_node_type_id: None,
            autoscale: Autoscale {
                min_workers: 1.into(),
                max_workers: 4.into(),
            },
            autotermination_minutes: 30.into(),
            aws_attributes: AwsAttributes {
                availability: Availability::SpotWithFallback.into(),
                first_on_demand: 1.into(),
                spot_bid_price_percent: 100.into(),
                instance_profile_arn: None,
                zone_id: None,
                ebs_volume_type: None,
                ebs_volume_count: None,
                ebs_volume_size: None,
            },
            spark_conf: None,
            custom_tags: None,
            cluster_log_conf: None,
            init_scripts: None,
            data_security_mode: None,
            single_user_name: None,
            start_on_create: None,
            user_groups: None,
        }
    }

    #[test]
    fn cluster_full_round_trip() {
        let (mut stack, f) = stack_with_provider();
        let script = CustomResource::new(
            &mut stack,
            "SseKmsScript",
            &f,
            WorkspaceFile::<Template> {
                workspace_url: URL.into(),
                path: "/cdkrs/init/sse-kms.sh".into(),
                content_base64: "IyEvYmluL2Jhc2gK".into(),
                overwrite: true.into(),
            },
            CustomResourceProps::default(),
        )
        .unwrap();
        let base = minimal();
        let cluster = Cluster {
            driver_node_type_id: Some("r5.2xlarge".into()),
            aws_attributes: AwsAttributes {
                instance_profile_arn: Some(
                    "arn:aws:iam::123456789012:instance-profile/acme-data".into(),
                ),
                zone_id: Some("auto".into()),
                ebs_volume_type: Some(EbsVolumeType::GeneralPurposeSsd.into()),
                ebs_volume_count: Some(1.into()),
                ebs_volume_size: Some(100.into()),
                ..base.aws_attributes.clone()
            },
            spark_conf: Some(BTreeMap::from([(
                "spark.hadoop.fs.s3a.server-side-encryption-algorithm".to_owned(),
                "SSE-KMS".into(),
            )])),
            custom_tags: Some(BTreeMap::from([("Owner".to_owned(), "platform".into())])),
            cluster_log_conf: Some(ClusterLogConf {
                destination: "s3://acme-logs/cluster-logs".into(),
                region: "eu-west-1".into(),
                enable_encryption: true.into(),
                encryption_type: Some(S3EncryptionType::SseKms.into()),
                kms_key: Some(KEY.into()),
            }),
            init_scripts: Some(vec![InitScript {
                workspace: WorkspaceDestination {
                    destination: script.attr(WorkspaceFileAttr::Path),
                },
            }]),
            data_security_mode: Some(DataSecurityMode::SingleUser.into()),
            single_user_name: Some("etl@acme.example".into()),
            start_on_create: Some(false.into()),
            user_groups: None,
            ..base
        };
        let (ty, props) = synth_custom(stack, &f, "Cluster", cluster);
        assert_eq!(ty, "Custom::DatabricksCluster");
        assert_eq!(
            props,
            json!({
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 3600,
                "WorkspaceUrl": URL,
                "ClusterName": "acme-shared",
                "SparkVersion": "15.4.x-scala2.12",
                "NodeTypeId": "r5.xlarge",
                "DriverNodeTypeId": "r5.2xlarge",
                "Autoscale": {"MinWorkers": 1, "MaxWorkers": 4},
                "AutoterminationMinutes": 30,
                "AwsAttributes": {
                    "Availability": "SPOT_WITH_FALLBACK",
                    "FirstOnDemand": 1,
                    "SpotBidPricePercent": 100,
                    "InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/acme-data",
                    "ZoneId": "auto",
                    "EbsVolumeType": "GENERAL_PURPOSE_SSD",
                    "EbsVolumeCount": 1,
                    "EbsVolumeSize": 100
                },
                "SparkConf": {"spark.hadoop.fs.s3a.server-side-encryption-algorithm": "SSE-KMS"},
                "CustomTags": {"Owner": "platform"},
                "ClusterLogConf": {
                    "Destination": "s3://acme-logs/cluster-logs",
                    "Region": "eu-west-1",
                    "EnableEncryption": true,
                    "EncryptionType": "sse-kms",
                    "KmsKey": KEY
                },
                "InitScripts": [
                    {"Workspace": {"Destination": {"Fn::GetAtt": ["SseKmsScript", "Path"]}}}
                ],
                "DataSecurityMode": "SINGLE_USER",
                "SingleUserName": "etl@acme.example",
                "StartOnCreate": false
            })
        );

        let mut event = as_delivered(&props);
        assert_eq!(event["Autoscale"]["MinWorkers"], "1");
        assert_eq!(event["ClusterLogConf"]["EnableEncryption"], "true");
        assert_eq!(event["StartOnCreate"], "false");
        event["InitScripts"][0]["Workspace"]["Destination"] = json!("/cdkrs/init/sse-kms.sh");
        let rt: Cluster<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(rt.workspace_url, URL);
        assert_eq!(rt.cluster_name, "acme-shared");
        assert_eq!(rt.spark_version, "15.4.x-scala2.12");
        assert_eq!(rt.node_type_id, "r5.xlarge");
        assert_eq!(rt.driver_node_type_id.as_deref(), Some("r5.2xlarge"));
        assert_eq!(
            rt.autoscale,
            Autoscale {
                min_workers: Lenient(1),
                max_workers: Lenient(4)
            }
        );
        assert_eq!(*rt.autotermination_minutes, 30);
        assert_eq!(
            rt.aws_attributes,
            AwsAttributes {
                availability: "SPOT_WITH_FALLBACK".into(),
                first_on_demand: Lenient(1),
                spot_bid_price_percent: Lenient(100),
                instance_profile_arn: Some(
                    "arn:aws:iam::123456789012:instance-profile/acme-data".into()
                ),
                zone_id: Some("auto".into()),
                ebs_volume_type: Some("GENERAL_PURPOSE_SSD".into()),
                ebs_volume_count: Some(Lenient(1)),
                ebs_volume_size: Some(Lenient(100)),
            }
        );
        assert_eq!(
            rt.spark_conf,
            Some(BTreeMap::from([(
                "spark.hadoop.fs.s3a.server-side-encryption-algorithm".into(),
                "SSE-KMS".into()
            )]))
        );
        assert_eq!(
            rt.custom_tags,
            Some(BTreeMap::from([("Owner".into(), "platform".into())]))
        );
        assert_eq!(
            rt.cluster_log_conf,
            Some(ClusterLogConf {
                destination: "s3://acme-logs/cluster-logs".into(),
                region: "eu-west-1".into(),
                enable_encryption: Lenient(true),
                encryption_type: Some("sse-kms".into()),
                kms_key: Some(KEY.into()),
            })
        );
        assert_eq!(
            rt.init_scripts,
            Some(vec![InitScript {
                workspace: WorkspaceDestination {
                    destination: "/cdkrs/init/sse-kms.sh".into()
                }
            }])
        );
        assert_eq!(rt.data_security_mode.as_deref(), Some("SINGLE_USER"));
        assert_eq!(rt.single_user_name.as_deref(), Some("etl@acme.example"));
        assert_eq!(rt.start_on_create, Some(Lenient(false)));
    }

    #[test]
    fn cluster_minimal_omits_and_reads_back_optional_fields_as_none() {
        let j = json_of(&minimal());
        assert_eq!(
            keys(&j),
            [
                "Autoscale",
                "AutoterminationMinutes",
                "AwsAttributes",
                "ClusterName",
                "NodeTypeId",
                "SparkVersion",
                "WorkspaceUrl"
            ]
        );
        assert_eq!(
            keys(&j["AwsAttributes"]),
            ["Availability", "FirstOnDemand", "SpotBidPricePercent"]
        );
        let rt: Cluster<Runtime> = serde_json::from_value(as_delivered(&j)).unwrap();
        assert_eq!(rt.driver_node_type_id, None);
        assert_eq!(rt.spark_conf, None);
        assert_eq!(rt.custom_tags, None);
        assert_eq!(rt.cluster_log_conf, None);
        assert_eq!(rt.init_scripts, None);
        assert_eq!(rt.data_security_mode, None);
        assert_eq!(rt.single_user_name, None);
        assert_eq!(rt.start_on_create, None);
        assert_eq!(rt.aws_attributes.instance_profile_arn, None);
        assert_eq!(rt.aws_attributes.zone_id, None);
        assert_eq!(rt.aws_attributes.ebs_volume_type, None);
        assert_eq!(rt.aws_attributes.ebs_volume_count, None);
        assert_eq!(rt.aws_attributes.ebs_volume_size, None);
    }

    #[test]
    fn cluster_accepts_plain_json_scalars_too() {
        let mut j = json_of(&minimal());
        j["ServiceToken"] = json!("arn:aws:lambda:eu-west-1:123456789012:function:p");
        j["ServiceTimeout"] = json!(3600);
        let rt: Cluster<Runtime> = serde_json::from_value(j).unwrap();
        assert_eq!(*rt.autoscale.max_workers, 4);
        assert_eq!(*rt.aws_attributes.first_on_demand, 1);
    }

    #[test]
    fn first_on_demand_and_the_workspace_are_create_only() {
        use cdkrs_constructs::custom_resource::CustomResourceProperties;
        let pointers = <Cluster<Template> as CustomResourceProperties>::CREATE_ONLY;
        assert_eq!(
            pointers,
            [
                "/properties/WorkspaceUrl",
                "/properties/AwsAttributes/FirstOnDemand"
            ]
        );
        // Every pointer names a property the template really has.
        let mut j = json_of(&minimal());
        j["SingleUserName"] = json!("x");
        for p in pointers {
            let inner = p.strip_prefix("/properties").unwrap();
            assert!(j.pointer(inner).is_some(), "{p}");
        }
    }

    #[test]
    fn a_bad_integer_names_the_value() {
        let mut j = as_delivered(&json_of(&minimal()));
        j["AutoterminationMinutes"] = json!("abc");
        let e = serde_json::from_value::<Cluster<Runtime>>(j).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value: string \"abc\", expected an integer or a string holding one, such as \"30\""
        );
    }
}
