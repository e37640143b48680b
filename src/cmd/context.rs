//! What the AWS commands share: the validated config, the region, and the counted clients.

use std::time::Instant;

use cdkrs::aws::{AwsArgs, Clients};
use cdkrs::engine::api::Counting;
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::Engine;
use cdkrs_stacks::Environment;

use super::{ConfigArg, Failure};

/// A command's AWS context, made once before any call.
pub struct Context {
    /// The validated environment.
    pub config: Environment,
    /// The clients, counting their calls.
    pub clients: Counting<Clients>,
    /// When the command started (for the closing "N calls in T s" line).
    pub started: Instant,
}

impl Context {
    /// Loads and validates the config, resolves the region and builds the clients.
    pub async fn new(config: &ConfigArg, aws: &AwsArgs) -> Result<Context, Failure> {
        let started = Instant::now();
        let config = config.load()?;
        let region = aws.resolve_region(config.region().name)?;
        let sdk = aws.sdk_config(&region).await;
        let clients = Clients {
            profile: aws.selected_profile(),
            ..Clients::new(&sdk)
        };
        Ok(Context {
            config,
            clients: Counting::new(clients),
            started,
        })
    }

    /// The engine over these clients and the terminal.
    pub fn engine<'a>(
        &'a self,
        ui: &'a mut TerminalUi,
    ) -> Engine<'a, Counting<Clients>, Counting<Clients>> {
        Engine {
            cfn: &self.clients,
            s3: &self.clients,
            ui,
        }
    }

    /// The closing line on stderr: how many AWS calls, how long.
    pub fn report_calls(&self) {
        eprintln!(
            "{}",
            cdkrs::engine::deploy::elapsed_note(self.started, self.clients.calls())
        );
    }
}
