//! The provider reads every real failure body the fake replays (`testkit/fixtures/databricks_errors.json`)
//! into the kind its handlers act on: a body whose shape or classification changes (JSON to plain
//! text, a new code) fails here before it fails a handler test.

use databricks_provider::client::{ApiError, Endpoint, ErrorKind};
use testkit::databricks::real_errors;

/// The kind each recorded body must classify as, and the call it answers.
const EXPECTED: &[(&str, &str, &str, ErrorKind)] = &[
    (
        "cluster_invalid_spark_version",
        "POST",
        "/api/2.1/clusters/create",
        ErrorKind::InvalidParameter,
    ),
    (
        "cluster_missing_node_type_id",
        "POST",
        "/api/2.1/clusters/create",
        ErrorKind::InvalidParameter,
    ),
    (
        "cluster_unsupported_node_type",
        "POST",
        "/api/2.1/clusters/create",
        ErrorKind::InvalidParameter,
    ),
    (
        "credentials_validation_race",
        "POST",
        "/api/2.0/accounts/a/credentials",
        ErrorKind::EventuallyConsistent,
    ),
    (
        // Another location's path: a caller error, never retried as a race.
        "external_location_overlap",
        "POST",
        "/api/2.1/unity-catalog/external-locations",
        ErrorKind::InvalidParameter,
    ),
    (
        "log_delivery_put_object_race",
        "POST",
        "/api/2.0/accounts/a/log-delivery",
        ErrorKind::EventuallyConsistent,
    ),
    (
        "storage_credential_non_self_assuming",
        "POST",
        "/api/2.1/unity-catalog/storage-credentials",
        ErrorKind::EventuallyConsistent,
    ),
    (
        "workspace_credentials_validation_race",
        "POST",
        "/api/2.0/accounts/a/workspaces",
        ErrorKind::EventuallyConsistent,
    ),
    (
        "workspace_token_not_a_member",
        "POST",
        "/oidc/v1/token",
        ErrorKind::Unauthenticated,
    ),
    (
        "workspace_update_compute_running",
        "PATCH",
        "/api/2.0/accounts/a/workspaces/1",
        ErrorKind::InvalidState,
    ),
];

#[test]
fn every_recorded_real_failure_body_is_classified_as_the_handlers_expect() {
    let recorded: Vec<&String> = real_errors::all().keys().collect();
    let listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(
        recorded, listed,
        "a recorded body without an expected kind (or the reverse): add it to EXPECTED"
    );
    for (name, method, path, kind) in EXPECTED {
        let real = real_errors::get(name);
        let err = ApiError::from_response_at(
            Some(Endpoint { method, path }),
            real.status,
            &real.content_type,
            &real.body,
        );
        assert_eq!(err.kind, *kind, "{name}: {err:?}");
        assert!(
            !err.message.is_empty() && !err.message.contains('\n'),
            "{name}: message {:?}",
            err.message
        );
    }
}

#[test]
fn the_plain_text_workspace_update_refusal_keeps_its_code_and_message() {
    let real = real_errors::get("workspace_update_compute_running");
    let err = ApiError::from_response(real.status, &real.content_type, &real.body);
    assert_eq!(err.error_code.as_deref(), Some("INVALID_STATE"));
    assert!(
        err.message
            .starts_with("Please terminate all pool & cluster EC2 instances"),
        "{:?}",
        err.message
    );
}
