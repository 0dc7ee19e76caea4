//! The ngrok tunnel's settings, from the environment (read here, the composition root):
//! `OPENKIT_NGROK_BIN` names the program (else `ngrok` on `PATH`), and
//! `NGROK_AUTHTOKEN` is handed to it (else ngrok uses its own configuration file).

use openkit_core::HostEnv;
use openkit_core::tunnel::{AUTHTOKEN_VAR, TunnelSettings};

/// The variable naming the ngrok program.
pub const NGROK_BIN_VAR: &str = "OPENKIT_NGROK_BIN";

/// The tunnel settings `host` asks for.
pub fn tunnel_settings(host: &HostEnv) -> TunnelSettings {
    TunnelSettings {
        program: host
            .var(NGROK_BIN_VAR)
            .filter(|p| !p.is_empty())
            .map(Into::into),
        authtoken: host
            .var_str(AUTHTOKEN_VAR)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        start_timeout: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_two_variables() {
        let none = tunnel_settings(&HostEnv::from_vars([("PATH", "/bin")]));
        assert_eq!(none.program, None);
        assert_eq!(none.authtoken, None);
        let both = tunnel_settings(&HostEnv::from_vars([
            (NGROK_BIN_VAR, "/opt/ngrok"),
            (AUTHTOKEN_VAR, "tok"),
        ]));
        assert_eq!(
            both.program.as_deref(),
            Some(std::path::Path::new("/opt/ngrok"))
        );
        assert_eq!(both.authtoken.as_deref(), Some("tok"));
    }
}
