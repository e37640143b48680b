//! Unity Catalog and account groups (issue 12): metastores and their assignment, the automatic
//! metastore, account SCIM groups, permission assignments on an identity-federated account,
//! storage credentials (and their role race), external locations, catalogs, schemas, grants and
//! cluster permissions, each behaviour with its own test.

use super::*;
use testkit::databricks::AutomaticMetastore;

/// The default test config without the Unity Catalog role race, with identity federation
/// checks on.
fn uc_config() -> FakeConfig {
    FakeConfig {
        storage_credential_propagation: Propagation::NONE,
        identity_federation_checks: true,
        ..config()
    }
}

/// A fake with a workspace in eu-west-1 assigned a metastore of that region.
struct Uc {
    fake: FakeDatabricks,
    account: Client,
    ws: Client,
    workspace_id: i64,
    metastore_id: String,
}

async fn uc_start_with(config: FakeConfig) -> Uc {
    let fake = FakeDatabricks::start(config).await;
    let account = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.account_token_url()).await),
    };
    let ws = Client {
        base: fake.workspace_url("ignored"),
        token: Some(token(&fake, &fake.workspace_token_url()).await),
    };
    let created = workspace_on_prerequisites(&fake, &account, "uc", false, json!({})).await;
    assert_eq!(created.status, 200, "{}", created.text());
    let workspace_id = created.json()["workspace_id"].as_i64().unwrap();
    let metastore = account
        .post(
            &acct(&fake, "metastores"),
            json!({"metastore_info": {"name": "primary", "region": "eu-west-1",
                                      "storage_root": "s3://acme-metastore/root"}}),
        )
        .await;
    assert_eq!(metastore.status, 200, "{}", metastore.text());
    let metastore_id = metastore.json()["metastore_info"]["metastore_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assigned = account
        .post(
            &acct(
                &fake,
                &format!("workspaces/{workspace_id}/metastores/{metastore_id}"),
            ),
            json!({"metastore_assignment": {"metastore_id": metastore_id,
                   "default_catalog_name": "main"}}),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text());
    Uc {
        fake,
        account,
        ws,
        workspace_id,
        metastore_id,
    }
}

async fn uc_start() -> Uc {
    uc_start_with(uc_config()).await
}

const UC: &str = "/api/2.1/unity-catalog";
const ROLE: &str = "arn:aws:iam::123456789012:role/acme-uc";

impl Uc {
    fn acct(&self, rest: &str) -> String {
        acct(&self.fake, rest)
    }

    /// Creates an account group; returns its id.
    async fn account_group(&self, name: &str) -> String {
        let resp = self
            .account
            .post(
                &self.acct("scim/v2/Groups"),
                json!({"displayName": name, "externalId": format!("ext-{name}")}),
            )
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()["id"].as_str().unwrap().to_owned()
    }

    async fn credential(&self, name: &str, role: &str) -> Resp {
        self.ws
            .post(
                &format!("{UC}/storage-credentials"),
                json!({"name": name, "aws_iam_role": {"role_arn": role}, "comment": "uc"}),
            )
            .await
    }

    async fn location(&self, name: &str, url: &str, credential: &str) -> Resp {
        self.ws
            .post(
                &format!("{UC}/external-locations"),
                json!({"name": name, "url": url, "credential_name": credential}),
            )
            .await
    }

    async fn catalog(&self, name: &str, root: &str) -> Resp {
        self.ws
            .post(
                &format!("{UC}/catalogs"),
                json!({"name": name, "storage_root": root, "comment": "layer",
                       "properties": {"layer": name}}),
            )
            .await
    }

    /// A credential, a location on `s3://acme-raw` and a catalog inside it.
    async fn raw_layer(&self) {
        let c = self.credential("acme-cred", ROLE).await;
        assert_eq!(c.status, 200, "{}", c.text());
        let l = self
            .location("acme-raw", "s3://acme-raw", "acme-cred")
            .await;
        assert_eq!(l.status, 200, "{}", l.text());
        let k = self.catalog("acme_raw", "s3://acme-raw/catalog").await;
        assert_eq!(k.status, 200, "{}", k.text());
    }
}

// ---------------------------------------------------------------------------------------------
// Metastores and assignments

#[tokio::test]
async fn metastores_create_list_get_update_and_assign_to_a_workspace_of_their_region() {
    let uc = uc_start().await;
    let info = uc
        .account
        .get(&uc.acct(&format!("metastores/{}", uc.metastore_id)))
        .await
        .json();
    let m = &info["metastore_info"];
    assert_eq!(m["name"], "primary");
    assert_eq!(m["region"], "eu-west-1");
    // The root is stored with the metastore id appended (databricks-cli PR 547).
    assert_eq!(
        m["storage_root"],
        json!(format!("s3://acme-metastore/root/{}", uc.metastore_id))
    );
    let list = uc.account.get(&uc.acct("metastores")).await.json();
    assert_eq!(list["metastores"].as_array().map(Vec::len), Some(1));
    let updated = uc
        .account
        .call(
            "PUT",
            &uc.acct(&format!("metastores/{}", uc.metastore_id)),
            json!({"metastore_info": {"owner": "uc-admins"}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.json()["metastore_info"]["owner"], "uc-admins");

    let assignment = uc
        .account
        .get(&uc.acct(&format!("workspaces/{}/metastore", uc.workspace_id)))
        .await;
    assert_eq!(assignment.status, 200, "{}", assignment.text());
    assert_eq!(
        assignment.json()["metastore_assignment"],
        json!({"workspace_id": uc.workspace_id, "metastore_id": uc.metastore_id,
               "default_catalog_name": "main"})
    );
    // The workspace host sees it too.
    let current = uc
        .ws
        .get(&format!("{UC}/current-metastore-assignment"))
        .await;
    assert_eq!(current.json()["metastore_id"], json!(uc.metastore_id));
    let state = uc.fake.state();
    assert_eq!(
        state.metastore_assignment(uc.workspace_id).unwrap()["metastore_id"],
        json!(uc.metastore_id)
    );
    let workspaces = uc
        .account
        .get(&uc.acct(&format!("metastores/{}/workspaces", uc.metastore_id)))
        .await
        .json();
    assert_eq!(workspaces["workspace_ids"], json!([uc.workspace_id]));
}

#[tokio::test]
async fn a_second_metastore_in_a_region_is_refused_with_the_real_limit_message() {
    let uc = uc_start().await;
    let second = uc
        .account
        .post(
            &uc.acct("metastores"),
            json!({"metastore_info": {"name": "another", "region": "eu-west-1"}}),
        )
        .await;
    assert_error(
        &second,
        400,
        "INVALID_STATE",
        &format!(
            "This account with id {} has reached the limit for metastores in region eu-west-1",
            uc.fake.config().account_id
        ),
    );
    // Another region is fine.
    let other = uc
        .account
        .post(
            &uc.acct("metastores"),
            json!({"metastore_info": {"name": "us", "region": "us-east-1"}}),
        )
        .await;
    assert_eq!(other.status, 200, "{}", other.text());
    assert_eq!(uc.fake.state().metastores.len(), 2);
}

#[tokio::test]
async fn a_metastore_is_only_assigned_to_an_existing_workspace_of_its_region() {
    let uc = uc_start().await;
    let other = uc
        .account
        .post(
            &uc.acct("metastores"),
            json!({"metastore_info": {"name": "us", "region": "us-east-1"}}),
        )
        .await
        .json();
    let us = other["metastore_info"]["metastore_id"].as_str().unwrap();
    let wrong_region = uc
        .account
        .call(
            "PUT",
            &uc.acct(&format!("workspaces/{}/metastores/{us}", uc.workspace_id)),
            json!({"metastore_assignment": {"metastore_id": us}}),
        )
        .await;
    assert_eq!(wrong_region.status, 400, "{}", wrong_region.text());
    let wrong_region = uc
        .account
        .post(
            &uc.acct(&format!("workspaces/{}/metastores/{us}", uc.workspace_id)),
            json!({"metastore_assignment": {"metastore_id": us, "default_catalog_name": "main"}}),
        )
        .await;
    assert_error(
        &wrong_region,
        400,
        "INVALID_PARAMETER_VALUE",
        "is in region us-east-1",
    );
    let no_workspace = uc
        .account
        .post(
            &uc.acct(&format!("workspaces/1234567890123456/metastores/{us}")),
            json!({"metastore_assignment": {"metastore_id": us, "default_catalog_name": "main"}}),
        )
        .await;
    assert_error(&no_workspace, 404, "RESOURCE_DOES_NOT_EXIST", "Workspace");
    let no_metastore = uc
        .account
        .post(
            &uc.acct(&format!(
                "workspaces/{}/metastores/00000000-0000-4000-8000-000000000000",
                uc.workspace_id
            )),
            json!({"metastore_assignment": {"default_catalog_name": "main"}}),
        )
        .await;
    assert_error(
        &no_metastore,
        404,
        "METASTORE_DOES_NOT_EXIST",
        "does not exist",
    );
    // The assignment is unchanged by the refusals.
    assert_eq!(
        uc.fake
            .state()
            .metastore_assignment(uc.workspace_id)
            .unwrap()["metastore_id"],
        json!(uc.metastore_id)
    );
}

#[tokio::test]
async fn a_workspace_without_a_metastore_answers_404_on_both_hosts_and_after_an_unassign() {
    let uc = uc_start().await;
    let path = uc.acct(&format!(
        "workspaces/{}/metastores/{}",
        uc.workspace_id, uc.metastore_id
    ));
    assert_eq!(uc.account.delete(&path).await.status, 200);
    let account_side = uc
        .account
        .get(&uc.acct(&format!("workspaces/{}/metastore", uc.workspace_id)))
        .await;
    assert_error(
        &account_side,
        404,
        "METASTORE_DOES_NOT_EXIST",
        "No metastore assigned",
    );
    let workspace_side = uc
        .ws
        .get(&format!("{UC}/current-metastore-assignment"))
        .await;
    assert_error(
        &workspace_side,
        404,
        "METASTORE_DOES_NOT_EXIST",
        "No metastore assigned for the current workspace.",
    );
    // Every Unity Catalog endpoint of the workspace answers the same.
    let catalogs = uc.ws.get(&format!("{UC}/catalogs")).await;
    assert_error(
        &catalogs,
        404,
        "METASTORE_DOES_NOT_EXIST",
        "No metastore assigned",
    );
    let again = uc.account.delete(&path).await;
    assert_error(&again, 404, "METASTORE_DOES_NOT_EXIST", "is not assigned");
}

#[tokio::test]
async fn the_automatic_metastore_is_assigned_to_new_workspaces_of_its_region_after_a_delay() {
    let fake = FakeDatabricks::start(FakeConfig {
        automatic_metastore: Some(AutomaticMetastore {
            region: "eu-west-1".to_owned(),
            assignment_delay: Duration::from_millis(100),
        }),
        ..uc_config()
    })
    .await;
    let c = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.account_token_url()).await),
    };
    let state = fake.state();
    let auto = state
        .metastore("metastore_aws_eu_west_1")
        .expect("the automatic metastore");
    // No root storage: catalogs need their own managed location.
    assert!(auto.get("storage_root").is_none(), "{auto}");
    let metastore_id = auto["metastore_id"].clone();
    let ws = workspace_on_prerequisites(&fake, &c, "auto", false, json!({}))
        .await
        .json();
    let id = ws["workspace_id"].as_i64().unwrap();
    let path = acct(&fake, &format!("workspaces/{id}/metastore"));
    // Not at once …
    assert_eq!(c.get(&path).await.status, 404);
    // … but within the delay.
    let started = Instant::now();
    loop {
        let resp = c.get(&path).await;
        if resp.status == 200 {
            assert_eq!(
                resp.json()["metastore_assignment"]["metastore_id"],
                metastore_id
            );
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "never assigned");
        sleep(Duration::from_millis(10)).await;
    }
    // A second metastore in that region is refused: the account already has one.
    let second = c
        .post(
            &acct(&fake, "metastores"),
            json!({"metastore_info": {"name": "mine", "region": "eu-west-1"}}),
        )
        .await;
    assert_error(
        &second,
        400,
        "INVALID_STATE",
        "has reached the limit for metastores",
    );
    // A workspace in another region is not assigned.
    let us = workspace_on_prerequisites(&fake, &c, "us", false, json!({"aws_region": "us-east-1"}))
        .await
        .json();
    sleep(Duration::from_millis(200)).await;
    let us_id = us["workspace_id"].as_i64().unwrap();
    assert!(fake.state().metastore_assignment(us_id).is_none());
}

#[tokio::test]
async fn without_the_automatic_metastore_the_account_has_none() {
    let (fake, c) = start_with(config()).await;
    let list = c.get(&acct(&fake, "metastores")).await.json();
    assert_eq!(list["metastores"], json!([]));
    assert!(fake.state().metastores.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Account groups and permission assignments

#[tokio::test]
async fn account_groups_create_filter_get_patch_replace_delete_and_keep_external_ids() {
    let uc = uc_start().await;
    let id = uc.account_group("acme-readers").await;
    uc.account_group("acme-writers").await;
    let got = uc
        .account
        .get(&uc.acct(&format!("scim/v2/Groups/{id}")))
        .await
        .json();
    assert_eq!(got["displayName"], "acme-readers");
    assert_eq!(got["externalId"], "ext-acme-readers");
    let found = uc
        .account
        .get(&format!(
            "{}?filter=displayName%20eq%20%22acme-writers%22&startIndex=1&count=10",
            uc.acct("scim/v2/Groups")
        ))
        .await
        .json();
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["displayName"], "acme-writers");
    // Duplicate names: 409 with the SCIM body.
    let dup = uc
        .account
        .post(
            &uc.acct("scim/v2/Groups"),
            json!({"displayName": "acme-readers"}),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(
        dup.json()["detail"],
        "Group with name acme-readers already exists."
    );
    // Account groups are not workspace groups, and the other way round.
    assert!(uc.fake.state().group("acme-readers").is_none());
    assert!(uc.fake.state().account_group("acme-readers").is_some());
    let patched = uc
        .account
        .patch(
            &uc.acct(&format!("scim/v2/Groups/{id}")),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "add", "path": "members", "value": [{"value": "1"}]}]}),
        )
        .await;
    assert_eq!(patched.status, 204, "{}", patched.text());
    let replaced = uc
        .account
        .call(
            "PUT",
            &uc.acct(&format!("scim/v2/Groups/{id}")),
            json!({"displayName": "acme-readers", "externalId": "ext-2"}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    assert_eq!(
        uc.fake.state().account_group("acme-readers").unwrap()["externalId"],
        "ext-2"
    );
    assert_eq!(
        uc.account
            .delete(&uc.acct(&format!("scim/v2/Groups/{id}")))
            .await
            .status,
        204
    );
    assert_eq!(
        uc.account
            .get(&uc.acct(&format!("scim/v2/Groups/{id}")))
            .await
            .status,
        404
    );
    // Another account id is refused.
    let other = uc
        .account
        .get("/api/2.0/accounts/00000000-0000-4000-8000-000000000000/scim/v2/Groups")
        .await;
    assert_eq!(other.status, 404);
}

#[tokio::test]
async fn permission_assignments_need_an_identity_federated_workspace_and_an_account_principal() {
    let uc = uc_start().await;
    let group = uc.account_group("acme-readers").await;
    let path = |principal: &str| {
        uc.acct(&format!(
            "workspaces/{}/permissionassignments/principals/{principal}",
            uc.workspace_id
        ))
    };
    let ok = uc
        .account
        .call("PUT", &path(&group), json!({"permissions": ["USER"]}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    // A workspace-local group is not an account principal.
    let local = uc
        .ws
        .post(
            "/api/2.0/preview/scim/v2/Groups",
            json!({"displayName": "local-only"}),
        )
        .await
        .json();
    let refused = uc
        .account
        .call(
            "PUT",
            &path(local["id"].as_str().unwrap()),
            json!({"permissions": ["USER"]}),
        )
        .await;
    assert_error(
        &refused,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "does not exist in account",
    );
    // A workspace without a metastore is not identity-federated.
    let plain = workspace_on_prerequisites(&uc.fake, &uc.account, "plain", false, json!({}))
        .await
        .json();
    let unfederated = uc
        .account
        .call(
            "PUT",
            &uc.acct(&format!(
                "workspaces/{}/permissionassignments/principals/{group}",
                plain["workspace_id"]
            )),
            json!({"permissions": ["USER"]}),
        )
        .await;
    assert_error(
        &unfederated,
        400,
        "INVALID_PARAMETER_VALUE",
        "Permission assignment APIs are not available for this workspace.",
    );
    let state = uc.fake.state();
    assert_eq!(state.permission_assignments.len(), 1);
    assert_eq!(
        state.permission_assignments[0].principal_id.to_string(),
        group
    );
}

// ---------------------------------------------------------------------------------------------
// Storage credentials

#[tokio::test]
async fn storage_credentials_create_get_list_update_and_answer_the_role_databricks_assumes() {
    let uc = uc_start().await;
    let created = uc.credential("acme-cred", ROLE).await;
    assert_eq!(created.status, 200, "{}", created.text());
    let c = created.json();
    assert_eq!(c["name"], "acme-cred");
    assert_eq!(c["full_name"], "acme-cred");
    assert_eq!(c["comment"], "uc");
    assert_eq!(c["metastore_id"], json!(uc.metastore_id));
    assert_eq!(c["aws_iam_role"]["role_arn"], ROLE);
    assert_eq!(
        c["aws_iam_role"]["external_id"],
        json!(uc.fake.config().account_id)
    );
    assert_eq!(
        c["aws_iam_role"]["unity_catalog_iam_arn"],
        "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL"
    );
    assert!(c["id"].as_str().is_some_and(|id| id.len() == 36));
    let got = uc
        .ws
        .get(&format!("{UC}/storage-credentials/acme-cred"))
        .await;
    assert_eq!(got.json(), c);
    uc.credential("acme-cred-2", ROLE).await;
    // Paginated list.
    let first = uc
        .ws
        .get(&format!("{UC}/storage-credentials?max_results=1"))
        .await
        .json();
    assert_eq!(
        first["storage_credentials"].as_array().map(Vec::len),
        Some(1)
    );
    let token = first["next_page_token"].as_str().expect("a next page");
    let second = uc
        .ws
        .get(&format!(
            "{UC}/storage-credentials?max_results=1&page_token={token}"
        ))
        .await
        .json();
    assert_eq!(second["storage_credentials"][0]["name"], "acme-cred-2");
    assert!(second.get("next_page_token").is_none(), "{second}");
    let updated = uc
        .ws
        .patch(
            &format!("{UC}/storage-credentials/acme-cred"),
            json!({"comment": "new", "read_only": true}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(
        uc.fake.state().storage_credential("acme-cred").unwrap()["comment"],
        "new"
    );
    let dup = uc.credential("acme-cred", ROLE).await;
    assert_error(&dup, 409, "STORAGE_CREDENTIAL_ALREADY_EXISTS", "acme-cred");
    let missing = uc.ws.get(&format!("{UC}/storage-credentials/nope")).await;
    assert_error(&missing, 404, "STORAGE_CREDENTIAL_DOES_NOT_EXIST", "nope");
}

#[tokio::test]
async fn a_storage_credential_made_by_a_non_account_admin_gets_a_random_external_id() {
    let uc = uc_start_with(FakeConfig {
        non_admin_principals: vec![testkit::databricks::FakePrincipal {
            client_id: "dev-sp".into(),
            client_secret: "dev-secret".into(),
            groups: Vec::new(),
        }],
        ..uc_config()
    })
    .await;
    let dev = non_admin(&uc.fake, "dev-sp", "dev-secret").await;
    let made = dev
        .post(
            &format!("{UC}/storage-credentials"),
            json!({"name": "dev-cred", "aws_iam_role": {"role_arn": ROLE}}),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text());
    let external_id = made.json()["aws_iam_role"]["external_id"].clone();
    assert_ne!(external_id, json!(uc.fake.config().account_id));
    assert!(
        external_id.as_str().is_some_and(|id| id.len() == 36),
        "{external_id}"
    );
    // A later role change keeps it.
    let changed = uc
        .ws
        .patch(
            &format!("{UC}/storage-credentials/dev-cred"),
            json!({"aws_iam_role": {"role_arn": "arn:aws:iam::123456789012:role/other"}}),
        )
        .await;
    assert_eq!(changed.json()["aws_iam_role"]["external_id"], external_id);
}

#[tokio::test]
async fn a_storage_credential_role_that_is_not_an_iam_role_arn_is_refused() {
    let uc = uc_start().await;
    for bad in [
        "not-an-arn",
        "arn:aws:iam::123456789012:instance-profile/x",
        "arn:aws:iam::1234:role/x",
    ] {
        let resp = uc.credential("bad", bad).await;
        assert_error(&resp, 400, "INVALID_PARAMETER_VALUE", bad);
    }
    assert!(uc.fake.state().storage_credentials.is_empty());
}

#[tokio::test]
async fn a_new_role_races_storage_credential_creation_with_the_real_non_self_assuming_body() {
    let uc = uc_start_with(FakeConfig {
        storage_credential_propagation: Propagation {
            failures: 2,
            window: Duration::from_millis(50),
        },
        ..uc_config()
    })
    .await;
    let body = json!({"name": "acme-cred", "aws_iam_role": {"role_arn": ROLE}});
    let (refused, ok) = post_through_race(&uc.ws, &format!("{UC}/storage-credentials"), body).await;
    assert!(refused.len() >= 2, "{} refusals", refused.len());
    for r in &refused {
        assert_error(
            r,
            400,
            "INVALID_PARAMETER_VALUE",
            "The IAM role for this storage credential was found to be non self-assuming.",
        );
    }
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(uc.fake.state().storage_credentials.len(), 1);
    // skip_validation skips the check, even for a brand-new role.
    let skipped = uc
        .ws
        .post(
            &format!("{UC}/storage-credentials"),
            json!({"name": "other", "aws_iam_role": {"role_arn": "arn:aws:iam::123456789012:role/fresh"},
                   "skip_validation": true}),
        )
        .await;
    assert_eq!(skipped.status, 200, "{}", skipped.text());
}

#[tokio::test]
async fn a_storage_credential_used_by_an_external_location_is_deleted_only_with_force() {
    let uc = uc_start().await;
    uc.credential("acme-cred", ROLE).await;
    uc.location("acme-raw", "s3://acme-raw", "acme-cred").await;
    let refused = uc
        .ws
        .delete(&format!("{UC}/storage-credentials/acme-cred"))
        .await;
    assert_error(
        &refused,
        400,
        "INVALID_STATE",
        "1 dependent external locations",
    );
    assert!(uc.fake.state().storage_credential("acme-cred").is_some());
    let forced = uc
        .ws
        .delete(&format!("{UC}/storage-credentials/acme-cred?force=true"))
        .await;
    assert_eq!(forced.status, 200, "{}", forced.text());
    assert!(uc.fake.state().storage_credential("acme-cred").is_none());
}

// ---------------------------------------------------------------------------------------------
// External locations

#[tokio::test]
async fn external_locations_create_get_list_update_delete() {
    let uc = uc_start().await;
    uc.credential("acme-cred", ROLE).await;
    let created = uc.location("acme-raw", "s3://acme-raw/", "acme-cred").await;
    assert_eq!(created.status, 200, "{}", created.text());
    let l = created.json();
    assert_eq!(l["url"], "s3://acme-raw");
    assert_eq!(l["credential_name"], "acme-cred");
    assert_eq!(l["read_only"], false);
    assert_eq!(l["metastore_id"], json!(uc.metastore_id));
    let list = uc.ws.get(&format!("{UC}/external-locations")).await.json();
    assert_eq!(list["external_locations"][0]["name"], "acme-raw");
    let patched = uc
        .ws
        .patch(
            &format!("{UC}/external-locations/acme-raw"),
            json!({"comment": "raw layer", "read_only": true}),
        )
        .await;
    assert_eq!(patched.json()["comment"], "raw layer");
    let dup = uc
        .location("acme-raw", "s3://acme-other", "acme-cred")
        .await;
    assert_error(&dup, 409, "EXTERNAL_LOCATION_ALREADY_EXISTS", "acme-raw");
    let deleted = uc
        .ws
        .delete(&format!("{UC}/external-locations/acme-raw"))
        .await;
    assert_eq!(deleted.status, 200);
    assert!(uc.fake.state().external_locations.is_empty());
}

#[tokio::test]
async fn an_external_location_needs_an_existing_credential_and_an_s3_url() {
    let uc = uc_start().await;
    let no_credential = uc.location("acme-raw", "s3://acme-raw", "nope").await;
    assert_error(
        &no_credential,
        404,
        "STORAGE_CREDENTIAL_DOES_NOT_EXIST",
        "nope",
    );
    uc.credential("acme-cred", ROLE).await;
    for bad in ["https://acme-raw", "acme-raw", "s3://", "s3://UPPER"] {
        let resp = uc.location("acme-raw", bad, "acme-cred").await;
        assert_error(&resp, 400, "INVALID_PARAMETER_VALUE", "s3://");
    }
    assert!(uc.fake.state().external_locations.is_empty());
}

#[tokio::test]
async fn an_external_location_overlapping_another_is_refused_with_the_real_message() {
    let uc = uc_start().await;
    uc.credential("acme-cred", ROLE).await;
    assert_eq!(
        uc.location("data", "s3://acme-data/raw", "acme-cred")
            .await
            .status,
        200
    );
    for (url, call) in [
        ("s3://acme-data/raw", "same path"),
        ("s3://acme-data", "a parent"),
        ("s3://acme-data/raw/2024", "a child"),
    ] {
        let resp = uc.location("other", url, "acme-cred").await;
        assert_error(
            &resp,
            400,
            "INVALID_PARAMETER_VALUE",
            &format!(
                "Input path url '{}' overlaps with an existing external location within 'CreateExternalLocation' call. Conflicting location: data.",
                url.trim_end_matches('/')
            ),
        );
        let _ = call;
    }
    // A sibling whose name shares a prefix does not overlap.
    assert_eq!(
        uc.location("sib", "s3://acme-data/raw2", "acme-cred")
            .await
            .status,
        200
    );
    // Moving a location onto another's path is refused too.
    let moved = uc
        .ws
        .patch(
            &format!("{UC}/external-locations/sib"),
            json!({"url": "s3://acme-data/raw/x"}),
        )
        .await;
    assert_error(
        &moved,
        400,
        "INVALID_PARAMETER_VALUE",
        "'UpdateExternalLocation' call",
    );
    assert_eq!(uc.fake.state().external_locations.len(), 2);
}

#[tokio::test]
async fn an_external_location_under_a_catalog_is_deleted_only_with_force() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    let refused = uc
        .ws
        .delete(&format!("{UC}/external-locations/acme-raw"))
        .await;
    assert_error(&refused, 400, "INVALID_STATE", "has 1 dependent catalogs");
    let forced = uc
        .ws
        .delete(&format!("{UC}/external-locations/acme-raw?force=true"))
        .await;
    assert_eq!(forced.status, 200, "{}", forced.text());
}

#[tokio::test]
async fn a_new_role_races_external_location_creation_too() {
    let uc = uc_start_with(FakeConfig {
        storage_credential_propagation: Propagation {
            failures: 0,
            window: Duration::from_millis(300),
        },
        ..uc_config()
    })
    .await;
    // The credential skips validation, so the first check of the role is the location's.
    let c = uc
        .ws
        .post(
            &format!("{UC}/storage-credentials"),
            json!({"name": "acme-cred", "aws_iam_role": {"role_arn": ROLE}, "skip_validation": true}),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.text());
    let (refused, ok) = post_through_race(
        &uc.ws,
        &format!("{UC}/external-locations"),
        json!({"name": "acme-raw", "url": "s3://acme-raw", "credential_name": "acme-cred"}),
    )
    .await;
    assert!(!refused.is_empty());
    assert_error(
        &refused[0],
        400,
        "INVALID_PARAMETER_VALUE",
        "non self-assuming",
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
}

// ---------------------------------------------------------------------------------------------
// Catalogs and schemas

#[tokio::test]
async fn a_catalog_gets_default_and_information_schema_and_its_managed_location() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    let got = uc.ws.get(&format!("{UC}/catalogs/acme_raw")).await.json();
    assert_eq!(got["storage_root"], "s3://acme-raw/catalog");
    assert!(got["storage_location"]
        .as_str()
        .unwrap()
        .starts_with("s3://acme-raw/catalog/__unitystorage/catalogs/"));
    assert_eq!(got["properties"], json!({"layer": "acme_raw"}));
    let state = uc.fake.state();
    let mut schemas: Vec<&str> = state
        .schemas
        .iter()
        .filter(|s| s["catalog_name"] == "acme_raw")
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    schemas.sort_unstable();
    assert_eq!(schemas, ["default", "information_schema"]);
    let list = uc.ws.get(&format!("{UC}/catalogs")).await.json();
    assert_eq!(list["catalogs"][0]["name"], "acme_raw");
    let patched = uc
        .ws
        .patch(
            &format!("{UC}/catalogs/acme_raw"),
            json!({"comment": "raw"}),
        )
        .await;
    assert_eq!(patched.json()["comment"], "raw");
    let dup = uc.catalog("acme_raw", "s3://acme-raw/catalog").await;
    assert_error(&dup, 409, "CATALOG_ALREADY_EXISTS", "acme_raw");
    let missing = uc.ws.get(&format!("{UC}/catalogs/nope")).await;
    assert_error(&missing, 404, "CATALOG_DOES_NOT_EXIST", "nope");
}

#[tokio::test]
async fn a_catalog_storage_root_must_lie_inside_an_external_location() {
    let uc = uc_start().await;
    uc.credential("acme-cred", ROLE).await;
    uc.location("acme-raw", "s3://acme-raw/data", "acme-cred")
        .await;
    for outside in ["s3://acme-prepared", "s3://acme-raw", "s3://acme-raw/data2"] {
        let resp = uc.catalog("c", outside).await;
        assert_error(
            &resp,
            400,
            "INVALID_PARAMETER_VALUE",
            "is not covered by any external location",
        );
    }
    assert_eq!(uc.catalog("c", "s3://acme-raw/data/c").await.status, 200);
}

#[tokio::test]
async fn a_catalog_without_a_root_needs_a_metastore_root() {
    // The automatic metastore has no root storage.
    let fake = FakeDatabricks::start(FakeConfig {
        automatic_metastore: Some(AutomaticMetastore {
            region: "eu-west-1".to_owned(),
            assignment_delay: Duration::ZERO,
        }),
        ..uc_config()
    })
    .await;
    let c = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.account_token_url()).await),
    };
    let ws = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.workspace_token_url()).await),
    };
    workspace_on_prerequisites(&fake, &c, "auto", false, json!({})).await;
    let resp = ws
        .post(&format!("{UC}/catalogs"), json!({"name": "rootless"}))
        .await;
    assert_error(
        &resp,
        400,
        "INVALID_STATE",
        "Metastore storage root URL does not exist.",
    );
    // With a metastore root, a catalog without one lives under it.
    let uc = uc_start().await;
    let ok = uc
        .ws
        .post(&format!("{UC}/catalogs"), json!({"name": "main"}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(ok.json()["storage_location"]
        .as_str()
        .unwrap()
        .starts_with("s3://acme-metastore/root/"));
}

#[tokio::test]
async fn a_catalog_holding_a_schema_is_deleted_only_with_force() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    let schema = uc
        .ws
        .post(
            &format!("{UC}/schemas"),
            json!({"name": "sales", "catalog_name": "acme_raw"}),
        )
        .await;
    assert_eq!(schema.status, 200, "{}", schema.text());
    assert_eq!(schema.json()["full_name"], "acme_raw.sales");
    let dup = uc
        .ws
        .post(
            &format!("{UC}/schemas"),
            json!({"name": "sales", "catalog_name": "acme_raw"}),
        )
        .await;
    assert_error(&dup, 409, "SCHEMA_ALREADY_EXISTS", "acme_raw.sales");
    let no_catalog = uc
        .ws
        .post(
            &format!("{UC}/schemas"),
            json!({"name": "x", "catalog_name": "nope"}),
        )
        .await;
    assert_error(&no_catalog, 404, "CATALOG_DOES_NOT_EXIST", "nope");
    let refused = uc.ws.delete(&format!("{UC}/catalogs/acme_raw")).await;
    assert_error(
        &refused,
        400,
        "CATALOG_NOT_EMPTY",
        "Catalog 'acme_raw' is not empty. The catalog has 1 schemas(s)",
    );
    assert!(uc.fake.state().catalog("acme_raw").is_some());
    let forced = uc
        .ws
        .delete(&format!("{UC}/catalogs/acme_raw?force=true"))
        .await;
    assert_eq!(forced.status, 200, "{}", forced.text());
    let state = uc.fake.state();
    assert!(state.catalog("acme_raw").is_none());
    assert!(state.schemas.is_empty(), "{:?}", state.schemas);
}

#[tokio::test]
async fn a_catalog_whose_extra_schema_was_deleted_is_deleted_without_force() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    uc.ws
        .post(
            &format!("{UC}/schemas"),
            json!({"name": "sales", "catalog_name": "acme_raw"}),
        )
        .await;
    // Terraform deletes a new catalog's `default` schema the same way.
    for schema in ["sales", "default"] {
        let gone = uc
            .ws
            .delete(&format!("{UC}/schemas/acme_raw.{schema}"))
            .await;
        assert_eq!(gone.status, 200, "{}", gone.text());
    }
    let again = uc.ws.delete(&format!("{UC}/schemas/acme_raw.sales")).await;
    assert_error(
        &again,
        404,
        "SCHEMA_DOES_NOT_EXIST",
        "Schema 'acme_raw.sales' does not exist.",
    );
    let deleted = uc.ws.delete(&format!("{UC}/catalogs/acme_raw")).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
}

#[tokio::test]
async fn a_catalog_with_only_its_automatic_schemas_is_deleted_without_force() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    let deleted = uc.ws.delete(&format!("{UC}/catalogs/acme_raw")).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert!(uc.fake.state().schemas.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Grants

#[tokio::test]
async fn grants_add_and_remove_privileges_of_account_groups_on_each_securable() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    uc.account_group("acme-readers").await;
    uc.account_group("acme-writers").await;
    let path = format!("{UC}/permissions/CATALOG/acme_raw");
    let updated = uc
        .ws
        .patch(
            &path,
            json!({"changes": [
                {"principal": "acme-readers", "add": ["USE_CATALOG", "USE_SCHEMA", "SELECT"]},
                {"principal": "acme-writers", "add": ["USE_CATALOG", "MODIFY"]}
            ]}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(
        updated.json()["privilege_assignments"][0],
        json!({"principal": "acme-readers", "privileges": ["USE_CATALOG", "USE_SCHEMA", "SELECT"]})
    );
    // Remove one, and a lower-case securable type as Terraform sends it.
    let removed = uc
        .ws
        .patch(
            &format!("{UC}/permissions/catalog/acme_raw"),
            json!({"changes": [{"principal": "acme-writers", "remove": ["USE_CATALOG", "MODIFY"]}]}),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text());
    let got = uc.ws.get(&path).await.json();
    assert_eq!(
        got["privilege_assignments"].as_array().map(Vec::len),
        Some(1)
    );
    let filtered = uc
        .ws
        .get(&format!("{path}?principal=acme-writers"))
        .await
        .json();
    assert_eq!(filtered["privilege_assignments"], json!([]));
    let location = uc
        .ws
        .patch(
            &format!("{UC}/permissions/EXTERNAL_LOCATION/acme-raw"),
            json!({"changes": [{"principal": "acme-readers", "add": ["READ_FILES"]}]}),
        )
        .await;
    assert_eq!(location.status, 200, "{}", location.text());
    let state = uc.fake.state();
    assert_eq!(
        state.privileges("EXTERNAL_LOCATION", "acme-raw", "acme-readers"),
        ["READ_FILES"]
    );
    assert!(state
        .privileges("CATALOG", "acme_raw", "acme-writers")
        .is_empty());
    // The metastore is a securable too, by id.
    let ms = uc
        .ws
        .patch(
            &format!("{UC}/permissions/METASTORE/{}", uc.metastore_id),
            json!({"changes": [{"principal": "acme-writers", "add": ["CREATE_CATALOG"]}]}),
        )
        .await;
    assert_eq!(ms.status, 200, "{}", ms.text());
}

#[tokio::test]
async fn a_grant_to_a_workspace_local_group_or_an_unknown_name_is_refused() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    uc.ws
        .post(
            "/api/2.0/preview/scim/v2/Groups",
            json!({"displayName": "local-readers"}),
        )
        .await;
    for name in ["local-readers", "nobody", "users", "admins"] {
        let resp = uc
            .ws
            .patch(
                &format!("{UC}/permissions/CATALOG/acme_raw"),
                json!({"changes": [{"principal": name, "add": ["USE_CATALOG"]}]}),
            )
            .await;
        assert_error(
            &resp,
            404,
            "PRINCIPAL_DOES_NOT_EXIST",
            &format!("Could not find principal with name {name}."),
        );
    }
    assert!(uc.fake.state().grants.is_empty());
}

#[tokio::test]
async fn a_privilege_the_securable_type_does_not_take_is_refused() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    uc.account_group("acme-readers").await;
    let resp = uc
        .ws
        .patch(
            &format!("{UC}/permissions/CATALOG/acme_raw"),
            json!({"changes": [{"principal": "acme-readers", "add": ["USE_CATALOG", "READ_FILES"]}]}),
        )
        .await;
    assert_error(
        &resp,
        400,
        "INVALID_PARAMETER_VALUE",
        "Privilege READ_FILES is not applicable",
    );
    let resp = uc
        .ws
        .patch(
            &format!("{UC}/permissions/EXTERNAL_LOCATION/acme-raw"),
            json!({"changes": [{"principal": "acme-readers", "add": ["SELECT"]}]}),
        )
        .await;
    assert_error(
        &resp,
        400,
        "INVALID_PARAMETER_VALUE",
        "Privilege SELECT is not applicable",
    );
    // Nothing of a refused change is applied.
    assert!(uc.fake.state().grants.is_empty());
}

#[tokio::test]
async fn grants_on_a_securable_that_does_not_exist_answer_its_404() {
    let uc = uc_start().await;
    uc.account_group("acme-readers").await;
    for (kind, code) in [
        ("CATALOG", "CATALOG_DOES_NOT_EXIST"),
        ("SCHEMA", "SCHEMA_DOES_NOT_EXIST"),
        ("EXTERNAL_LOCATION", "EXTERNAL_LOCATION_DOES_NOT_EXIST"),
        ("STORAGE_CREDENTIAL", "STORAGE_CREDENTIAL_DOES_NOT_EXIST"),
    ] {
        let resp = uc.ws.get(&format!("{UC}/permissions/{kind}/nope")).await;
        assert_error(&resp, 404, code, "nope");
    }
}

#[tokio::test]
async fn grants_go_with_their_securable_and_with_a_deleted_account_group() {
    let uc = uc_start().await;
    uc.raw_layer().await;
    let readers = uc.account_group("acme-readers").await;
    uc.ws
        .patch(
            &format!("{UC}/permissions/CATALOG/acme_raw"),
            json!({"changes": [{"principal": "acme-readers", "add": ["USE_CATALOG"]}]}),
        )
        .await;
    uc.ws
        .patch(
            &format!("{UC}/permissions/EXTERNAL_LOCATION/acme-raw"),
            json!({"changes": [{"principal": "acme-readers", "add": ["READ_FILES"]}]}),
        )
        .await;
    uc.ws.delete(&format!("{UC}/catalogs/acme_raw")).await;
    assert_eq!(uc.fake.state().grants.len(), 1);
    uc.account
        .delete(&uc.acct(&format!("scim/v2/Groups/{readers}")))
        .await;
    assert!(uc.fake.state().grants.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Cluster permissions

async fn cluster(uc: &Uc) -> String {
    let resp = uc
        .ws
        .post("/api/2.1/clusters/create", valid_cluster("uc"))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["cluster_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn cluster_permissions_put_replaces_patch_adds_and_admins_keep_manage() {
    let uc = uc_start().await;
    let id = cluster(&uc).await;
    let path = format!("/api/2.0/permissions/clusters/{id}");
    let got = uc.ws.get(&path).await.json();
    assert_eq!(got["object_id"], json!(format!("/clusters/{id}")));
    // The creator manages its cluster.
    let creator = &got["access_control_list"][1];
    assert_eq!(
        creator["service_principal_name"],
        json!(uc.fake.config().client_id)
    );
    // An account group assigned to the workspace is visible there.
    let readers = uc.account_group("acme-readers").await;
    uc.account
        .call(
            "PUT",
            &uc.acct(&format!(
                "workspaces/{}/permissionassignments/principals/{readers}",
                uc.workspace_id
            )),
            json!({"permissions": ["USER"]}),
        )
        .await;
    let put = uc
        .ws
        .call(
            "PUT",
            &path,
            json!({"access_control_list": [{"group_name": "acme-readers", "permission_level": "CAN_ATTACH_TO"}]}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let acl = put.json()["access_control_list"].clone();
    assert_eq!(acl[0]["group_name"], "admins");
    assert_eq!(
        acl[0]["all_permissions"][0]["permission_level"],
        "CAN_MANAGE"
    );
    assert_eq!(acl.as_array().map(Vec::len), Some(2), "{acl}");
    let patch = uc
        .ws
        .patch(
            &path,
            json!({"access_control_list": [{"group_name": "users", "permission_level": "CAN_RESTART"}]}),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.text());
    let state = uc.fake.state();
    assert_eq!(
        state.cluster_acls[&id],
        vec![
            json!({"group_name": "acme-readers", "permission_level": "CAN_ATTACH_TO"}),
            json!({"group_name": "users", "permission_level": "CAN_RESTART"}),
        ]
    );
    let levels = uc.ws.get(&format!("{path}/permissionLevels")).await.json();
    assert_eq!(
        levels["permission_levels"].as_array().map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn cluster_permissions_refuse_unknown_groups_unassigned_account_groups_and_levels() {
    let uc = uc_start().await;
    let id = cluster(&uc).await;
    let path = format!("/api/2.0/permissions/clusters/{id}");
    // An account group not assigned to the workspace is not visible there.
    uc.account_group("acme-writers").await;
    for group in ["acme-writers", "nobody"] {
        let resp = uc
            .ws
            .call(
                "PUT",
                &path,
                json!({"access_control_list": [{"group_name": group, "permission_level": "CAN_RESTART"}]}),
            )
            .await;
        assert_error(
            &resp,
            400,
            "INVALID_PARAMETER_VALUE",
            &format!("GroupName({group})"),
        );
    }
    let level = uc
        .ws
        .call(
            "PUT",
            &path,
            json!({"access_control_list": [{"group_name": "users", "permission_level": "CAN_READ"}]}),
        )
        .await;
    assert_error(&level, 400, "INVALID_PARAMETER_VALUE", "CAN_READ");
    let missing = uc
        .ws
        .get("/api/2.0/permissions/clusters/0000-000000-nope")
        .await;
    assert_error(&missing, 404, "RESOURCE_DOES_NOT_EXIST", "0000-000000-nope");
}

#[tokio::test]
async fn catalog_schema_and_location_names_are_stored_lower_case_and_found_in_any_case() {
    let uc = uc_start().await;
    uc.credential("Acme-Cred", ROLE).await;
    let loc = uc.location("Acme-Raw", "s3://acme-raw", "Acme-Cred").await;
    assert_eq!(loc.json()["name"], "acme-raw");
    let cat = uc.catalog("Acme_Raw", "s3://acme-raw/catalog").await;
    assert_eq!(cat.json()["name"], "acme_raw");
    let schema = uc
        .ws
        .post(
            &format!("{UC}/schemas"),
            json!({"name": "Sales", "catalog_name": "ACME_RAW"}),
        )
        .await;
    assert_eq!(schema.json()["full_name"], "acme_raw.sales");
    assert_eq!(
        uc.ws.get(&format!("{UC}/catalogs/ACME_raw")).await.status,
        200
    );
    // A second catalog differing only in case is the same name.
    let dup = uc.catalog("ACME_RAW", "s3://acme-raw/catalog").await;
    assert_error(&dup, 409, "CATALOG_ALREADY_EXISTS", "acme_raw");
    // Storage credential names keep their case.
    assert!(uc.fake.state().storage_credential("Acme-Cred").is_some());
    assert_eq!(
        uc.ws
            .get(&format!("{UC}/storage-credentials/acme-cred"))
            .await
            .status,
        404
    );
    uc.account_group("acme-readers").await;
    let grant = uc
        .ws
        .patch(
            &format!("{UC}/permissions/catalog/Acme_Raw"),
            json!({"changes": [{"principal": "acme-readers", "add": ["USE_CATALOG"]}]}),
        )
        .await;
    assert_eq!(grant.status, 200, "{}", grant.text());
    assert_eq!(
        uc.fake
            .state()
            .privileges("CATALOG", "acme_raw", "acme-readers"),
        ["USE_CATALOG"]
    );
}

#[tokio::test]
async fn unity_catalog_names_with_periods_spaces_or_slashes_are_refused() {
    let uc = uc_start().await;
    uc.credential("acme-cred", ROLE).await;
    uc.location("acme-raw", "s3://acme-raw", "acme-cred").await;
    for bad in ["a.b", "a b", "a/b", ""] {
        let resp = uc.catalog(bad, "s3://acme-raw/c").await;
        assert_eq!(resp.status, 400, "{bad:?}: {}", resp.text());
        assert_eq!(resp.json()["error_code"], "INVALID_PARAMETER_VALUE");
    }
    let long = "c".repeat(256);
    assert_eq!(uc.catalog(&long, "s3://acme-raw/c").await.status, 400);
    assert!(uc.fake.state().catalogs.is_empty());
}

#[tokio::test]
async fn an_account_group_assigned_to_the_workspace_is_listed_by_the_workspace_scim_api_read_only()
{
    let uc = uc_start().await;
    let readers = uc.account_group("acme-readers").await;
    uc.account_group("acme-writers").await;
    let filter = |name: &str| {
        format!("/api/2.0/preview/scim/v2/Groups?filter=displayName%20eq%20%22{name}%22")
    };
    // Not before it is assigned.
    let before = uc.ws.get(&filter("acme-readers")).await.json();
    assert_eq!(before["totalResults"], 0);
    uc.account
        .call(
            "PUT",
            &uc.acct(&format!(
                "workspaces/{}/permissionassignments/principals/{readers}",
                uc.workspace_id
            )),
            json!({"permissions": ["USER"]}),
        )
        .await;
    let after = uc.ws.get(&filter("acme-readers")).await.json();
    assert_eq!(after["Resources"][0]["id"], json!(readers));
    assert_eq!(after["Resources"][0]["meta"]["resourceType"], "Group");
    let got = uc
        .ws
        .get(&format!("/api/2.0/preview/scim/v2/Groups/{readers}"))
        .await;
    assert_eq!(got.status, 200, "{}", got.text());
    // The unassigned one stays invisible.
    assert_eq!(
        uc.ws.get(&filter("acme-writers")).await.json()["totalResults"],
        0
    );
    // It is changed at the account, not through the workspace.
    let deleted = uc
        .ws
        .delete(&format!("/api/2.0/preview/scim/v2/Groups/{readers}"))
        .await;
    assert_eq!(deleted.status, 400, "{}", deleted.text());
    assert!(uc.fake.state().account_group("acme-readers").is_some());
}

#[tokio::test]
async fn a_workspace_whose_metastore_was_deleted_can_be_assigned_the_regions_new_one() {
    let uc = uc_start().await;
    // Deleting the metastore frees the region and unassigns the workspace.
    let deleted = uc
        .account
        .delete(&uc.acct(&format!("metastores/{}?force=true", uc.metastore_id)))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert!(uc
        .fake
        .state()
        .metastore_assignment(uc.workspace_id)
        .is_none());
    let other = uc
        .account
        .post(
            &uc.acct("metastores"),
            json!({"metastore_info": {"name": "second", "region": "eu-west-1"}}),
        )
        .await
        .json();
    let second = other["metastore_info"]["metastore_id"].as_str().unwrap();
    let assigned = uc
        .account
        .post(
            &uc.acct(&format!("workspaces/{}/metastores/{second}", uc.workspace_id)),
            json!({"metastore_assignment": {"metastore_id": second, "default_catalog_name": "main"}}),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text());
    assert_eq!(
        uc.fake
            .state()
            .metastore_assignment(uc.workspace_id)
            .unwrap()["metastore_id"],
        json!(second)
    );
}

#[tokio::test]
async fn a_metastore_in_use_is_deleted_only_with_force() {
    let uc = uc_start().await;
    let path = uc.acct(&format!("metastores/{}", uc.metastore_id));
    let refused = uc.account.delete(&path).await;
    assert_error(&refused, 400, "METASTORE_NOT_EMPTY", "is not empty");
    assert_eq!(uc.fake.state().metastores.len(), 1);
    uc.raw_layer().await;
    let forced = uc.account.delete(&format!("{path}?force=true")).await;
    assert_eq!(forced.status, 200, "{}", forced.text());
    let state = uc.fake.state();
    assert!(state.metastores.is_empty());
    assert!(state.catalogs.is_empty() && state.storage_credentials.is_empty());
}
