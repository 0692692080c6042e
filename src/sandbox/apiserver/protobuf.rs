//! Just enough Kubernetes protobuf to read what kubectl's typed commands send.
//!
//! `kubectl create namespace|secret|configmap` post their object as
//! `application/vnd.kubernetes.protobuf` (and accept JSON answers). This decodes that wire
//! format for those three kinds into the JSON the rest of the server works on; anything else
//! in protobuf is answered 415, and clients should send JSON.
//!
//! Envelope: the bytes `k8s\0`, then a `runtime.Unknown` message whose `raw` field holds the
//! object message. Field numbers are those of the Kubernetes `generated.proto` files.

use k8s_openapi::ByteString;
use serde_json::{Map, Value, json};

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

/// How a field is turned into JSON.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    /// Bytes shown base64-encoded (as JSON shows `[]byte`).
    Bytes,
    StrList,
    StrMap,
    BytesMap,
    Time,
    Message(&'static [(u32, &'static str, Kind)]),
    MessageList(&'static [(u32, &'static str, Kind)]),
}

const OWNER_REFERENCE: &[(u32, &str, Kind)] = &[
    (1, "kind", Kind::Str),
    (3, "name", Kind::Str),
    (4, "uid", Kind::Str),
    (5, "apiVersion", Kind::Str),
    (6, "controller", Kind::Bool),
    (7, "blockOwnerDeletion", Kind::Bool),
];

const OBJECT_META: &[(u32, &str, Kind)] = &[
    (1, "name", Kind::Str),
    (2, "generateName", Kind::Str),
    (3, "namespace", Kind::Str),
    (5, "uid", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "generation", Kind::Int),
    (8, "creationTimestamp", Kind::Time),
    (9, "deletionTimestamp", Kind::Time),
    (10, "deletionGracePeriodSeconds", Kind::Int),
    (11, "labels", Kind::StrMap),
    (12, "annotations", Kind::StrMap),
    (13, "ownerReferences", Kind::MessageList(OWNER_REFERENCE)),
    (14, "finalizers", Kind::StrList),
];

const NAMESPACE: &[(u32, &str, Kind)] = &[
    (1, "metadata", Kind::Message(OBJECT_META)),
    (
        2,
        "spec",
        Kind::Message(&[(1, "finalizers", Kind::StrList)]),
    ),
    (3, "status", Kind::Message(&[(1, "phase", Kind::Str)])),
];

const SECRET: &[(u32, &str, Kind)] = &[
    (1, "metadata", Kind::Message(OBJECT_META)),
    (2, "data", Kind::BytesMap),
    (3, "type", Kind::Str),
    (4, "stringData", Kind::StrMap),
    (5, "immutable", Kind::Bool),
];

const CONFIG_MAP: &[(u32, &str, Kind)] = &[
    (1, "metadata", Kind::Message(OBJECT_META)),
    (2, "data", Kind::StrMap),
    (3, "binaryData", Kind::BytesMap),
    (4, "immutable", Kind::Bool),
];

const UNKNOWN: &[(u32, &str, Kind)] = &[
    (
        1,
        "typeMeta",
        Kind::Message(&[(1, "apiVersion", Kind::Str), (2, "kind", Kind::Str)]),
    ),
    (2, "raw", Kind::Bytes),
];

/// Decodes a protobuf body into JSON, or says why it cannot.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("protobuf body without the k8s envelope")?;
    let mut raw = Vec::new();
    let mut type_meta = Value::Null;
    for (number, wire) in fields(envelope)? {
        match (number, wire) {
            (1, Wire::Bytes(bytes)) => type_meta = message(bytes, UNKNOWN[0].2)?,
            (2, Wire::Bytes(bytes)) => raw = bytes.to_vec(),
            _ => {}
        }
    }
    let api_version = type_meta["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let kind = type_meta["kind"].as_str().unwrap_or_default().to_owned();
    let layout = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "Secret") => SECRET,
        ("v1", "ConfigMap") => CONFIG_MAP,
        _ => {
            return Err(format!(
                "protobuf is decoded only for v1 Namespace, Secret and ConfigMap, not {api_version} {kind}; send JSON"
            ));
        }
    };
    let mut object = message(&raw, Kind::Message(layout))?;
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), json!(api_version));
        map.insert("kind".into(), json!(kind));
    }
    Ok(object)
}

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or("truncated varint")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

/// The fields of one message, in order.
fn fields(bytes: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let number = u32::try_from(key >> 3).map_err(|_| "field number too large")?;
        let wire = match key & 7 {
            0 => Wire::Varint(varint(bytes, &mut at)?),
            1 => {
                at += 8;
                Wire::Fixed
            }
            2 => {
                let len =
                    usize::try_from(varint(bytes, &mut at)?).map_err(|_| "length too large")?;
                let end = at.checked_add(len).filter(|end| *end <= bytes.len());
                let end = end.ok_or("truncated field")?;
                let slice = &bytes[at..end];
                at = end;
                Wire::Bytes(slice)
            }
            5 => {
                at += 4;
                Wire::Fixed
            }
            other => return Err(format!("unsupported protobuf wire type {other}")),
        };
        if at > bytes.len() {
            return Err("truncated message".into());
        }
        out.push((number, wire));
    }
    Ok(out)
}

fn text(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string field is not UTF-8".to_owned())
}

/// A map entry message: key = 1, value = 2.
fn entry(bytes: &[u8]) -> Result<(String, &[u8]), String> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for (number, wire) in fields(bytes)? {
        match (number, wire) {
            (1, Wire::Bytes(b)) => key = text(b)?,
            (2, Wire::Bytes(b)) => value = b,
            _ => {}
        }
    }
    Ok((key, value))
}

fn message(bytes: &[u8], kind: Kind) -> Result<Value, String> {
    let Kind::Message(layout) = kind else {
        return Err("not a message".into());
    };
    let mut out = Map::new();
    for (number, wire) in fields(bytes)? {
        let Some((_, name, kind)) = layout.iter().find(|(n, _, _)| *n == number) else {
            continue;
        };
        let name = (*name).to_owned();
        match (*kind, wire) {
            (Kind::Str, Wire::Bytes(b)) => {
                out.insert(name, json!(text(b)?));
            }
            (Kind::Int, Wire::Varint(v)) => {
                out.insert(name, json!(v as i64));
            }
            (Kind::Bool, Wire::Varint(v)) => {
                out.insert(name, json!(v != 0));
            }
            (Kind::Bytes, Wire::Bytes(b)) => {
                out.insert(
                    name,
                    serde_json::to_value(ByteString(b.to_vec())).unwrap_or_default(),
                );
            }
            (Kind::StrList, Wire::Bytes(b)) => {
                let list = out.entry(name).or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.push(json!(text(b)?));
                }
            }
            (Kind::StrMap | Kind::BytesMap, Wire::Bytes(b)) => {
                let (key, value) = entry(b)?;
                let value = match kind {
                    Kind::StrMap => json!(text(value)?),
                    _ => serde_json::to_value(ByteString(value.to_vec())).unwrap_or_default(),
                };
                let map = out.entry(name).or_insert_with(|| json!({}));
                if let Some(map) = map.as_object_mut() {
                    map.insert(key, value);
                }
            }
            (Kind::Time, Wire::Bytes(b)) => {
                let mut seconds = 0i64;
                for (n, w) in fields(b)? {
                    if let (1, Wire::Varint(v)) = (n, w) {
                        seconds = v as i64;
                    }
                }
                let time = k8s_openapi::jiff::Timestamp::from_second(seconds)
                    .map_err(|e| e.to_string())?;
                out.insert(name, json!(time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()));
            }
            (Kind::Message(_), Wire::Bytes(b)) => {
                out.insert(name, message(b, *kind)?);
            }
            (Kind::MessageList(layout), Wire::Bytes(b)) => {
                let item = message(b, Kind::Message(layout))?;
                let list = out.entry(name).or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.push(item);
                }
            }
            _ => {}
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(number: u32, wire: u8) -> u8 {
        u8::try_from(number << 3).unwrap_or(0) | wire
    }

    fn bytes_field(number: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![key(number, 2), u8::try_from(payload.len()).unwrap_or(0)];
        out.extend_from_slice(payload);
        out
    }

    fn map_entry(number: u32, k: &str, v: &[u8]) -> Vec<u8> {
        let mut inner = bytes_field(1, k.as_bytes());
        inner.extend(bytes_field(2, v));
        bytes_field(number, &inner)
    }

    #[test]
    fn decodes_a_secret_as_kubectl_sends_it() {
        let mut meta = bytes_field(1, b"creds");
        meta.extend(bytes_field(3, b"default"));
        meta.extend(map_entry(11, "app", b"web"));
        let mut secret = bytes_field(1, &meta);
        secret.extend(map_entry(2, "key", b"value"));
        secret.extend(bytes_field(3, b"Opaque"));
        let mut type_meta = bytes_field(1, b"v1");
        type_meta.extend(bytes_field(2, b"Secret"));
        let mut body = MAGIC.to_vec();
        body.extend(bytes_field(1, &type_meta));
        body.extend(bytes_field(2, &secret));
        let decoded = decode(&body);
        assert_eq!(
            decoded,
            Ok(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "creds", "namespace": "default", "labels": {"app": "web"}},
                "data": {"key": "dmFsdWU="},
                "type": "Opaque",
            }))
        );
    }

    #[test]
    fn other_kinds_and_garbage_are_refused() {
        let mut type_meta = bytes_field(1, b"apps/v1");
        type_meta.extend(bytes_field(2, b"Deployment"));
        let mut body = MAGIC.to_vec();
        body.extend(bytes_field(1, &type_meta));
        assert!(decode(&body).is_err_and(|e| e.contains("send JSON")));
        assert!(decode(b"{}").is_err());
        assert!(decode(b"k8s\0\x0a\xff").is_err());
    }
}
