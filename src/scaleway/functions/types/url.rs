//! Presigned URLs to upload and download a function's code archive
//! (`scaleway.functions.v1beta1.UploadURL` and `DownloadURL`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::scaleway::REDACTED;
use crate::scaleway::types::null_as_default;

/// A presigned object-storage URL. Its query string carries the signature, which is a
/// bearer credential until it expires: `Debug` and `Display` print the URL without it.
/// The whole value is reachable only through [`PresignedUrl::expose`].
#[derive(Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct PresignedUrl(String);

impl PresignedUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The whole URL, signature included. Use it only to make the request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL without its query string and fragment (safe to show).
    pub fn without_query(&self) -> &str {
        let end = self.0.find(['?', '#']).unwrap_or(self.0.len());
        &self.0[..end]
    }
}

impl fmt::Display for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.without_query())?;
        if self.without_query().len() < self.0.len() {
            write!(f, "?{REDACTED}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Headers to send with a presigned request: name → values (`null` reads as no value).
pub type PresignedHeaders = BTreeMap<String, Option<Vec<String>>>;

/// Shows the header names only: presigned flows may carry credentials in headers too.
struct HeaderNames<'a>(&'a PresignedHeaders);

impl fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Where to PUT a function's zip archive (answer of GetFunctionUploadURL).
#[derive(Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct UploadUrl {
    /// Presigned object-storage URL.
    #[serde(default)]
    pub url: PresignedUrl,
    /// Headers to send with the PUT (`content-type`, `content-length`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub headers: PresignedHeaders,
}

impl fmt::Debug for UploadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadUrl")
            .field("url", &self.url)
            .field("headers", &HeaderNames(&self.headers))
            .finish()
    }
}

/// Where to GET a function's current zip archive (answer of GetFunctionDownloadURL).
#[derive(Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct DownloadUrl {
    /// Presigned object-storage URL.
    #[serde(default)]
    pub url: PresignedUrl,
    /// Headers to send with the GET.
    #[serde(default, deserialize_with = "null_as_default")]
    pub headers: PresignedHeaders,
}

impl fmt::Debug for DownloadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadUrl")
            .field("url", &self.url)
            .field("headers", &HeaderNames(&self.headers))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://s3.fr-par.scw.cloud/bucket/fn.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeefsignature";

    #[test]
    fn round_trip_with_null_header_values() {
        let upload: UploadUrl = serde_json::from_value(serde_json::json!({
            "url": URL,
            "headers": {"content-length": ["675"], "content-type": ["application/octet-stream"],
                        "x-empty": null}
        }))
        .unwrap_or_default();
        assert_eq!(upload.url.expose(), URL);
        assert_eq!(
            upload.headers["content-length"],
            Some(vec!["675".to_owned()])
        );
        assert_eq!(upload.headers["x-empty"], None);
        let again: UploadUrl =
            serde_json::from_value(serde_json::to_value(&upload).unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(again, upload);

        let download: DownloadUrl =
            serde_json::from_value(serde_json::json!({"url": URL, "headers": null}))
                .unwrap_or_default();
        assert!(download.headers.is_empty());
        assert_eq!(download.url.expose(), URL);
    }

    #[test]
    fn debug_and_display_never_show_the_signature() {
        let upload = UploadUrl {
            url: PresignedUrl::new(URL),
            headers: PresignedHeaders::from([(
                "x-amz-security-token".to_owned(),
                Some(vec!["session-secret".to_owned()]),
            )]),
        };
        let download = DownloadUrl {
            url: PresignedUrl::new(URL),
            headers: PresignedHeaders::new(),
        };
        let shown = format!("{upload:?} {download:?} {}", upload.url);
        for secret in ["deadbeefsignature", "X-Amz-Algorithm", "session-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("https://s3.fr-par.scw.cloud/bucket/fn.zip?<redacted>"));
        assert!(shown.contains("x-amz-security-token"));
        assert_eq!(
            PresignedUrl::new("http://127.0.0.1:1/x").to_string(),
            "http://127.0.0.1:1/x"
        );
    }
}
