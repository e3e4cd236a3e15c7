//! The file `concord login` writes: the gateway's address and a token, so
//! later commands need neither flag. It lives in the user's configuration
//! directory (`$XDG_CONFIG_HOME/concord/client.toml`, or wherever
//! `CONCORD_CLIENT_CONFIG` points) and is readable by its owner only.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde::{Deserialize, Serialize};

use super::connect::{Conn, ConnArgs};
use super::error::CliError;
use super::output::say;

/// What `concord login` remembers.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The gateway, e.g. `http://127.0.0.1:50050`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// A bearer token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A CA bundle (PEM) to verify an `https://` gateway with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
}

impl ClientConfig {
    /// The saved configuration; empty when there is none.
    pub fn load() -> Result<Self, CliError> {
        let Some(path) = config_path() else {
            return Ok(Self::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .with_context(|| format!("reading {}", path.display()))
                .map_err(CliError::Other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(CliError::Other(
                anyhow::Error::new(e).context(format!("reading {}", path.display())),
            )),
        }
    }

    fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = toml::to_string(self)?;
        let tmp = path.with_extension("toml.new");
        write_private(&tmp, &text)?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// Where the configuration is kept: `CONCORD_CLIENT_CONFIG`, else the
/// user's configuration directory.
pub fn config_path() -> Option<PathBuf> {
    match std::env::var_os("CONCORD_CLIENT_CONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::config_dir().map(|d| d.join("concord").join("client.toml")),
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

#[derive(Args)]
pub struct LoginArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Save without first checking that the gateway accepts the token.
    #[arg(long)]
    no_check: bool,
}

/// Checks the address and token with a harmless call, then saves them.
pub async fn login(args: LoginArgs) -> Result<(), CliError> {
    let path = config_path()
        .ok_or_else(|| CliError::usage("no configuration directory: set CONCORD_CLIENT_CONFIG"))?;
    let mut saved = ClientConfig::load()?;
    let conn = Conn::open(&args.conn, Default::default())?;
    if conn.token().is_none() {
        return Err(CliError::usage(
            "a token is required: --token TOKEN (or CONCORD_TOKEN)",
        ));
    }
    if !args.no_check {
        use concord_proto::directory::v1::ListDepartmentsRequest;
        conn.directory()
            .list_departments(ListDepartmentsRequest {
                page_size: 1,
                ..Default::default()
            })
            .await?;
    }
    saved.addr = Some(conn.addr().to_string());
    saved.token = conn.token().map(str::to_string);
    if let Some(ca) = &args.conn.ca_cert {
        saved.ca_cert = Some(std::fs::canonicalize(ca).unwrap_or_else(|_| ca.clone()));
    }
    saved.save(&path)?;
    say!("Signed in to {}; saved in {}", conn.addr(), path.display());
    Ok(())
}
