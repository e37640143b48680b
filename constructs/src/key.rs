//! `Key`: a customer-managed KMS key, rotated and retained, whose policy never names `*`.

use crate::error::ConstructError;
use crate::kms::{CfnAlias, CfnKey};
use crate::policy::{append_statement, Grant, PolicyDocument, Principal, Statement};
use crate::role::Role;
use crate::{Handle, ResourceOptions, Stack, Tag, Value};

/// Actions to decrypt with a key.
pub const KEY_READ_ACTIONS: &[&str] = &["kms:Decrypt", "kms:DescribeKey"];
/// Actions to encrypt and decrypt with a key (S3 SSE-KMS writes need the data-key actions).
pub const KEY_READ_WRITE_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
];

/// Key rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// Rotate the key material every `period_days` (90 to 2560; KMS's default is 365).
    Enabled {
        /// Days between rotations; `None` for KMS's default.
        period_days: Option<i64>,
    },
    /// No rotation (an explicit opt-out, visible in the snapshot diff).
    Disabled,
}

/// What happens to a data-bearing resource when it leaves the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Removal {
    /// `DeletionPolicy` and `UpdateReplacePolicy` `Retain`: data is never lost.
    #[default]
    Retain,
    /// Deleted with the stack (an explicit opt-out for throwaway data).
    Destroy,
}

impl Removal {
    pub(crate) fn options(self) -> ResourceOptions {
        match self {
            Removal::Retain => ResourceOptions::retained(),
            Removal::Destroy => ResourceOptions::default(),
        }
    }
}

/// Props of a [`Key`].
#[derive(Clone, Debug)]
pub struct KeyProps {
    /// `Description`. Default: none.
    pub description: Option<String>,
    /// An alias (`alias/<name>`) created with the key. Default: none.
    pub alias: Option<Value<String>>,
    /// Rotation. Default: enabled with KMS's yearly period.
    pub rotation: Rotation,
    /// `PendingWindowInDays` before a scheduled deletion, 7 to 30. Default: 30.
    pub pending_window_days: i64,
    /// Removal. Default: retained.
    pub removal: Removal,
    /// Tags. Default: none.
    pub tags: Vec<Tag>,
}

impl Default for KeyProps {
    fn default() -> Self {
        KeyProps {
            description: None,
            alias: None,
            rotation: Rotation::Enabled { period_days: None },
            pending_window_days: 30,
            removal: Removal::Retain,
            tags: Vec::new(),
        }
    }
}

/// A symmetric KMS key. Its policy starts with the account-root statement (so IAM policies
/// decide who uses it); callers add service and cross-account statements. A statement that
/// allows `*` principals is refused.
#[derive(Clone, Debug)]
pub struct Key {
    id: String,
    handle: Handle<CfnKey>,
    alias: Option<Handle<CfnAlias>>,
}

impl Key {
    /// Adds a key (and its alias, when props name one).
    pub fn new(stack: &mut Stack, id: &str, props: KeyProps) -> Result<Key, ConstructError> {
        let err = |field: &str, msg: String| ConstructError::new("Key", id, field, msg);
        if !(7..=30).contains(&props.pending_window_days) {
            return Err(err(
                "pending_window_days",
                format!("{} is outside 7 to 30 days", props.pending_window_days),
            ));
        }
        if let Rotation::Enabled {
            period_days: Some(p),
        } = props.rotation
        {
            if !(90..=2560).contains(&p) {
                return Err(err(
                    "rotation.period_days",
                    format!("{p} is outside 90 to 2560 days"),
                ));
            }
        }
        if let Some(a) = props.alias.as_ref().and_then(Value::as_literal_json) {
            let name = a.as_str().unwrap_or_default();
            let valid = name.strip_prefix("alias/").is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.starts_with("aws/")
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
            }) && name.len() <= 256;
            if !valid {
                return Err(err(
                    "alias",
                    format!("`{name}` is not a valid alias: use `alias/` then letters, digits, `/`, `_` or `-` (not `alias/aws/`)"),
                ));
            }
        }
        let policy = PolicyDocument::of([Statement::allow()
            .sid("AccountRootAdministers")
            .principal(Principal::account_root())
            .actions(["kms:*"])
            .any_resource()]);
        let l1 = CfnKey {
            description: props.description.map(Value::from),
            enable_key_rotation: Some(matches!(props.rotation, Rotation::Enabled { .. }).into()),
            rotation_period_in_days: match props.rotation {
                Rotation::Enabled { period_days } => period_days.map(Value::from),
                Rotation::Disabled => None,
            },
            pending_window_in_days: Some(props.pending_window_days.into()),
            key_policy: Some(policy.to_value()),
            tags: (!props.tags.is_empty()).then_some(props.tags),
            ..Default::default()
        };
        let handle = stack.add_with(id, l1, props.removal.options());
        let alias = props.alias.map(|name| {
            stack.add(
                &format!("{id}Alias"),
                CfnAlias::new(name, handle.reference()),
            )
        });
        Ok(Key {
            id: id.to_owned(),
            handle,
            alias,
        })
    }

    /// `Fn::GetAtt Key.Arn`.
    pub fn arn(&self) -> Value<String> {
        self.handle.attr_arn()
    }

    /// `Ref` (the key id).
    pub fn key_id(&self) -> Value<String> {
        self.handle.reference()
    }

    /// The L1 handle.
    pub fn handle(&self) -> &Handle<CfnKey> {
        &self.handle
    }

    /// The alias handle, when one was made.
    pub fn alias(&self) -> Option<&Handle<CfnAlias>> {
        self.alias.as_ref()
    }

    /// Adds a statement to the key policy. Statements allowing `*` principals are refused.
    pub fn add_to_policy(
        &self,
        stack: &mut Stack,
        statement: Statement,
    ) -> Result<(), ConstructError> {
        if statement.allows_everyone() {
            return Err(ConstructError::new(
                "Key",
                &self.id,
                "policy",
                "a key policy statement may not allow `*` principals: name the account, role or service",
            ));
        }
        if statement.principals.is_empty() {
            return Err(ConstructError::new(
                "Key",
                &self.id,
                "policy",
                "a key policy statement needs a principal",
            ));
        }
        let stack_name = stack.name().to_owned();
        let key = stack
            .resource_mut(&self.handle)
            .ok_or_else(|| foreign("Key", &self.id, &stack_name))?;
        match &mut key.key_policy {
            Some(doc) => append_statement(doc, &statement, "Key", &self.id),
            None => {
                key.key_policy = Some(PolicyDocument::of([statement]).to_value());
                Ok(())
            }
        }
    }

    /// Lets `role` decrypt with this key.
    pub fn grant_decrypt(&self, stack: &mut Stack, role: &Role) -> Result<Grant, ConstructError> {
        self.grant(stack, role, KEY_READ_ACTIONS)
    }

    /// Lets `role` encrypt and decrypt with this key.
    pub fn grant_encrypt_decrypt(
        &self,
        stack: &mut Stack,
        role: &Role,
    ) -> Result<Grant, ConstructError> {
        self.grant(stack, role, KEY_READ_WRITE_ACTIONS)
    }

    fn grant(
        &self,
        stack: &mut Stack,
        role: &Role,
        actions: &[&str],
    ) -> Result<Grant, ConstructError> {
        let s = Statement::allow()
            .actions(actions.iter().copied())
            .resource(self.arn());
        role.add_to_policy(stack, s.clone())?;
        Ok(Grant {
            statements: vec![s],
        })
    }
}

pub(crate) fn foreign(construct: &'static str, id: &str, stack: &str) -> ConstructError {
    ConstructError::new(
        construct,
        id,
        "stack",
        format!("belongs to another stack than `{stack}`: use it in the stack that made it"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Condition;
    use crate::role::{service_trust, RoleProps};
    use serde_json::json;

    #[test]
    fn key_is_rotated_retained_and_administered_by_the_account_root() {
        let mut stack = Stack::new("t");
        Key::new(
            &mut stack,
            "DataKey",
            KeyProps {
                alias: Some("alias/data".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let t = stack.synth().unwrap();
        let k = t.resource("DataKey").unwrap();
        assert_eq!(k["DeletionPolicy"], "Retain");
        assert_eq!(k["UpdateReplacePolicy"], "Retain");
        assert_eq!(k["Properties"]["EnableKeyRotation"], true);
        assert_eq!(k["Properties"]["PendingWindowInDays"], 30);
        assert_eq!(
            k["Properties"]["KeyPolicy"]["Statement"],
            json!([{
                "Sid": "AccountRootAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                "Action": "kms:*",
                "Resource": "*"
            }])
        );
        let alias = t.resource("DataKeyAlias").unwrap();
        assert_eq!(
            alias["Properties"]["TargetKeyId"],
            json!({"Ref": "DataKey"})
        );
        assert_eq!(alias["Properties"]["AliasName"], "alias/data");
    }

    #[test]
    fn key_policy_refuses_everyone_and_accepts_services() {
        let mut stack = Stack::new("t");
        let key = Key::new(&mut stack, "K", KeyProps::default()).unwrap();
        let e = key
            .add_to_policy(
                &mut stack,
                Statement::allow()
                    .principal(Principal::Everyone)
                    .actions(["kms:Decrypt"])
                    .any_resource(),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Key `K`: policy: a key policy statement may not allow `*` principals: name the account, role or service"
        );
        key.add_to_policy(
            &mut stack,
            Statement::allow()
                .principal(Principal::service("logs.amazonaws.com"))
                .actions(["kms:Encrypt*"])
                .any_resource()
                .condition(Condition::source_account_self()),
        )
        .unwrap();
        let t = stack.synth().unwrap();
        assert_eq!(
            t.resource("K").unwrap()["Properties"]["KeyPolicy"]["Statement"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn key_props_are_validated() {
        let mut stack = Stack::new("t");
        let e = Key::new(
            &mut stack,
            "K",
            KeyProps {
                pending_window_days: 3,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Key `K`: pending_window_days: 3 is outside 7 to 30 days"
        );
        let e = Key::new(
            &mut stack,
            "K",
            KeyProps {
                alias: Some("data".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Key `K`: alias: `data` is not a valid alias"));
        let e = Key::new(
            &mut stack,
            "K",
            KeyProps {
                rotation: Rotation::Enabled {
                    period_days: Some(10),
                },
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Key `K`: rotation.period_days: 10 is outside 90 to 2560 days"
        );
    }

    #[test]
    fn rotation_opt_out_is_explicit() {
        let mut stack = Stack::new("t");
        Key::new(
            &mut stack,
            "K",
            KeyProps {
                rotation: Rotation::Disabled,
                removal: Removal::Destroy,
                ..Default::default()
            },
        )
        .unwrap();
        let t = stack.synth().unwrap();
        let k = t.resource("K").unwrap();
        assert_eq!(k["Properties"]["EnableKeyRotation"], false);
        assert!(k.get("DeletionPolicy").is_none());
    }

    #[test]
    fn grants_add_key_actions_to_the_role_policy() {
        let mut stack = Stack::new("t");
        let key = Key::new(&mut stack, "K", KeyProps::default()).unwrap();
        let role = Role::new(
            &mut stack,
            "R",
            service_trust("ec2.amazonaws.com"),
            RoleProps::default(),
        )
        .unwrap();
        let g = key.grant_decrypt(&mut stack, &role).unwrap();
        assert_eq!(g.actions(), KEY_READ_ACTIONS);
        let t = stack.synth().unwrap();
        assert_eq!(
            t.resource("RDefaultPolicy").unwrap()["Properties"]["PolicyDocument"]["Statement"][0]
                ["Resource"],
            json!({"Fn::GetAtt": ["K", "Arn"]})
        );
    }
}
