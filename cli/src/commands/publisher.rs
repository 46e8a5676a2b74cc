//! `hearth publisher`: a registry's administrator registers a publisher with its
//! signing key, and hands the publisher the upload token it answers.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PublisherCommand {
    /// Register a publisher and its public key on a registry (the registry's admin
    /// token, printed by `hearth-registry` at its first start); prints the
    /// publisher's upload token, once.
    Register {
        /// The publisher's name: what its manifests say in `publisher`.
        name: String,
        /// Its public key: hex, or the NAME.pub file `hearth keys generate` wrote.
        #[arg(long)]
        key: String,
        #[arg(long, env = "HEARTH_REGISTRY")]
        registry: String,
        #[arg(long, env = "HEARTH_REGISTRY_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
    },
}

pub fn run(command: PublisherCommand) -> anyhow::Result<()> {
    let PublisherCommand::Register { name, key, registry, admin_token } = command;
    let key = super::keys::key_text(&key)?;
    let registered = hearth_registry_client::Registry::new(&registry).register_publisher(&admin_token, &name, &key)?;
    eprintln!(
        "registered publisher {name} on {registry}; its upload token, shown only now \
         (publish with HEARTH_REGISTRY_TOKEN set to it):"
    );
    println!("{}", registered["token"].as_str().unwrap_or_default());
    Ok(())
}
