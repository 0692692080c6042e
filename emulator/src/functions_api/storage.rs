//! The object storage behind function upload and download URLs, served on the emulator's own
//! address so that no test leaves loopback.
//!
//! Real upload URLs are S3 presigned URLs (`X-Amz-*` query parameters, no `X-Auth-Token`).
//! These imitate them: the signature is a salted SHA-256 over the method, the object, the
//! declared `Content-Length` (for uploads), the signing date and the lifetime, so a URL works
//! only for what it was issued for and only until it expires. Errors are S3-style XML.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use super::records::Archive;
use crate::emulator::Emulator;
use crate::limits;
use crate::secret::{HASH_PREFIX, hex};
use crate::store::lifecycle::Now;
use crate::wire::enums::Status;

/// Route of a function's archive object.
pub(crate) const OBJECT_ROUTE: &str = "/__storage/functions/{region}/{function_id}/archive.zip";

const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// How far in the future a signing date may be (S3 allows 15 minutes of clock skew).
const MAX_CLOCK_SKEW_SECONDS: i64 = 15 * 60;

/// What a presigned URL allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    /// PUT of exactly this many bytes.
    Upload(u64),
    /// GET.
    Download,
}

impl Grant {
    fn method(self) -> &'static str {
        match self {
            Self::Upload(_) => "PUT",
            Self::Download => "GET",
        }
    }

    fn length(self) -> String {
        match self {
            Self::Upload(length) => length.to_string(),
            Self::Download => "-".to_owned(),
        }
    }
}

fn signature(emulator: &Emulator, grant: Grant, object: &str, date: &str, expires: i64) -> String {
    let canonical = format!(
        "{}\n{object}\n{}\n{date}\n{expires}",
        grant.method(),
        grant.length()
    );
    let hashed = emulator.url_signer().hash(&canonical);
    hashed.trim_start_matches(HASH_PREFIX).to_owned()
}

fn object_path(region: &str, function_id: &str) -> String {
    format!("/__storage/functions/{region}/{function_id}/archive.zip")
}

/// The base URL of this emulator as the client reached it (`Host` header).
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| !host.is_empty())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// A presigned URL for a function's archive.
pub(crate) fn presign(
    emulator: &Emulator,
    base: &str,
    region: &str,
    function_id: &str,
    grant: Grant,
    now: Timestamp,
) -> String {
    let object = object_path(region, function_id);
    let date = now.strftime(DATE_FORMAT).to_string();
    let day = &date[..8];
    let expires = limits::PRESIGNED_URL_TTL_SECONDS;
    let signed_headers = match grant {
        Grant::Upload(_) => "content-length%3Bhost",
        Grant::Download => "host",
    };
    let signature = signature(emulator, grant, &object, &date, expires);
    format!(
        "{base}{object}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=SCWEMULATOR%2F{day}%2F{region}%2Fs3%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders={signed_headers}\
         &X-Amz-Signature={signature}"
    )
}

/// An S3-style XML error.
#[derive(Clone, Copy, Debug)]
struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

impl IntoResponse for S3Error {
    fn into_response(self) -> Response {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message></Error>",
            self.code, self.message
        );
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        response
    }
}

fn s3_error(status: StatusCode, code: &'static str, message: &'static str) -> Response {
    S3Error {
        status,
        code,
        message,
    }
    .into_response()
}

/// Checks the presigned query for `grant` on `object`.
fn verify(
    emulator: &Emulator,
    query: &BTreeMap<String, String>,
    grant: Grant,
    object: &str,
) -> Result<(), S3Error> {
    let denied = |message: &'static str| S3Error {
        status: StatusCode::FORBIDDEN,
        code: "AccessDenied",
        message,
    };
    let (Some(date), Some(expires), Some(given)) = (
        query.get("X-Amz-Date"),
        query.get("X-Amz-Expires"),
        query.get("X-Amz-Signature"),
    ) else {
        return Err(denied(
            "Query-string authentication requires X-Amz-Date, X-Amz-Expires and X-Amz-Signature",
        ));
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return Err(denied("X-Amz-Expires must be a number of seconds"));
    };
    let Ok(signed_at) = DateTime::strptime(DATE_FORMAT, date)
        .and_then(|dt| dt.to_zoned(TimeZone::UTC))
        .map(|zoned| zoned.timestamp())
    else {
        return Err(denied("X-Amz-Date is not a valid date"));
    };
    if *given != signature(emulator, grant, object, date, expires) {
        return Err(S3Error {
            status: StatusCode::FORBIDDEN,
            code: "SignatureDoesNotMatch",
            message: "The request signature we calculated does not match the signature you provided",
        });
    }
    let age = Timestamp::now().as_second() - signed_at.as_second();
    if age > expires {
        return Err(denied("Request has expired"));
    }
    if age < -MAX_CLOCK_SKEW_SECONDS {
        return Err(denied("X-Amz-Date is in the future"));
    }
    Ok(())
}

/// `PUT` of a function archive through an upload URL.
pub(crate) async fn put(
    State(emulator): State<Emulator>,
    Path((region, function_id)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let object = object_path(&region, &function_id);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let Some(declared) = declared else {
        return s3_error(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header",
        );
    };
    // The signature covers the Content-Length declared to GetFunctionUploadURL: another
    // length does not match, exactly as with a real presigned PUT.
    if let Err(error) = verify(&emulator, &query, Grant::Upload(declared), &object) {
        return error.into_response();
    }
    if u64::try_from(body.len()).ok() != Some(declared) {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        );
    }
    let sha256 = hex(&Sha256::digest(&body));
    let mut store = emulator.store(Now::capture());
    let Some(function) = store
        .functions
        .functions
        .get_mut(&function_id)
        .filter(|f| f.meta.region == region && f.meta.life.status() != Status::Deleting)
    else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The function of this upload URL does not exist",
        );
    };
    let etag = format!("\"{}\"", &sha256[..32]);
    function.uploaded = Some(Archive {
        bytes: body,
        sha256,
    });
    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// `GET` of a function archive through a download URL.
pub(crate) async fn get(
    State(emulator): State<Emulator>,
    Path((region, function_id)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let object = object_path(&region, &function_id);
    if let Err(error) = verify(&emulator, &query, Grant::Download, &object) {
        return error.into_response();
    }
    let store = emulator.store(Now::capture());
    let archive = store
        .functions
        .functions
        .get(&function_id)
        .filter(|f| f.meta.region == region)
        .and_then(|f| f.uploaded.clone());
    match archive {
        Some(archive) => {
            let mut response = (StatusCode::OK, archive.bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            );
            response
        }
        None => s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist",
        ),
    }
}
