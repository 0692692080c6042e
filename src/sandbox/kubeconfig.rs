//! The kubeconfig the sandbox writes so that `kubectl` (and any other client) finds it.

use std::io::Write;
use std::path::Path;

/// Name of the cluster, user and context in the written kubeconfig.
pub const CONTEXT: &str = "scaleway-sandbox";

/// Token in the kubeconfig. The sandbox does not check it: it only exists because some
/// clients insist on a user with credentials.
pub const TOKEN: &str = "sandbox";

/// A kubeconfig with one cluster (`server`), one user with a dummy token and one context,
/// set as the current context, with `namespace` as its default namespace.
pub fn render(server: &str, namespace: &str) -> String {
    format!(
        "# Written by `scaleway-serverless-operator sandbox`: a loopback test and demo API server,\n\
         # not a cluster. Rewritten at every start.\n\
         apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {CONTEXT}\n  \
           cluster:\n    \
             server: {server}\n\
         users:\n\
         - name: {CONTEXT}\n  \
           user:\n    \
             token: {TOKEN}\n\
         contexts:\n\
         - name: {CONTEXT}\n  \
           context:\n    \
             cluster: {CONTEXT}\n    \
             user: {CONTEXT}\n    \
             namespace: {namespace}\n\
         current-context: {CONTEXT}\n\
         preferences: {{}}\n"
    )
}

/// Writes `contents` to `path` (creating parent directories), readable by the owner only,
/// through a temporary file and a rename so that a reader never sees half a file.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(format!(".tmp{}", std::process::id()));
    let temp = Path::new(&temp_name);
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(temp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_and_points_at_the_server() {
        let text = render("http://127.0.0.1:4321", "default");
        let config: kube::config::Kubeconfig =
            kube::config::Kubeconfig::from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(config.current_context.as_deref(), Some(CONTEXT));
        assert_eq!(
            config.clusters[0]
                .cluster
                .as_ref()
                .and_then(|c| c.server.as_deref()),
            Some("http://127.0.0.1:4321")
        );
        assert_eq!(
            config.contexts[0]
                .context
                .as_ref()
                .and_then(|c| c.namespace.as_deref()),
            Some("default")
        );
    }

    #[test]
    fn written_file_is_private() {
        let dir = std::env::temp_dir().join(format!("sso-kubeconfig-{}", fastrand::u64(..)));
        let path = dir.join("nested").join("kubeconfig");
        assert!(write_private(&path, "x").is_ok());
        assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode.ok(), Some(0o600));
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
