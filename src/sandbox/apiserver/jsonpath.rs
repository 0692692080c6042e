//! The JSONPath subset of CRD printer columns: `.a.b`, `['key']`, `[n]`, `[*]`, and filters
//! `[?(@.field == "value")]` (also `!=`, numbers, `true`/`false`, and `[?(@.field)]`).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter {
        path: Vec<String>,
        test: Option<(bool, Value)>,
    },
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

impl JsonPath {
    /// Parses a path such as `.status.conditions[?(@.type=="Ready")].status`. A leading `$`
    /// and surrounding `{...}` are accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let text = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text);
        let text = text.strip_prefix('$').unwrap_or(text);
        let chars: Vec<char> = text.chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    let name: String = chars[start..i.min(chars.len())]
                        .iter()
                        .collect::<String>()
                        .replace("\\.", ".");
                    if name == "*" {
                        steps.push(Step::All);
                    } else if !name.is_empty() {
                        steps.push(Step::Field(name));
                    }
                }
                '[' => {
                    let close =
                        find_close(&chars, i).ok_or_else(|| format!("unclosed [ in {text:?}"))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    steps.push(bracket(inner.trim())?);
                    i = close + 1;
                }
                c => return Err(format!("unexpected {c:?} in {text:?}")),
            }
        }
        Ok(Self { steps })
    }

    /// Every value the path selects, in document order.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for value in current {
                match step {
                    Step::Field(name) => next.extend(value.get(name)),
                    Step::Index(i) => next.extend(value.get(*i)),
                    Step::All => match value {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Object(map) => next.extend(map.values()),
                        _ => {}
                    },
                    Step::Filter { path, test } => {
                        for item in value.as_array().into_iter().flatten() {
                            let field = path.iter().try_fold(item, |v, key| v.get(key));
                            let keep = match (field, test) {
                                (Some(_), None) => true,
                                (Some(actual), Some((equal, expected))) => {
                                    (actual == expected) == *equal
                                }
                                (None, _) => false,
                            };
                            if keep {
                                next.push(item);
                            }
                        }
                    }
                }
            }
            current = next;
        }
        current
    }
}

/// Index of the `]` closing the `[` at `open`, skipping quoted text.
fn find_close(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut depth = 0;
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn unquote(text: &str) -> Option<&str> {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
}

fn bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::All);
    }
    if let Some(name) = unquote(inner) {
        return Ok(Step::Field(name.to_owned()));
    }
    if let Ok(index) = inner.parse::<usize>() {
        return Ok(Step::Index(index));
    }
    let Some(expr) = inner
        .strip_prefix("?(")
        .and_then(|t| t.strip_suffix(')'))
        .map(str::trim)
    else {
        return Err(format!("unsupported JSONPath expression [{inner}]"));
    };
    let (left, test) = if let Some((l, r)) = expr.split_once("==") {
        (l.trim(), Some((true, literal(r.trim())?)))
    } else if let Some((l, r)) = expr.split_once("!=") {
        (l.trim(), Some((false, literal(r.trim())?)))
    } else {
        (expr, None)
    };
    let path = left
        .strip_prefix('@')
        .ok_or_else(|| format!("filter must start with @: {expr}"))?
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Step::Filter { path, test })
}

fn literal(text: &str) -> Result<Value, String> {
    if let Some(s) = unquote(text) {
        return Ok(Value::String(s.to_owned()));
    }
    serde_json::from_str(text).map_err(|_| format!("unsupported literal {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, doc: &Value) -> Vec<Value> {
        JsonPath::parse(path)
            .unwrap_or_else(|e| panic!("{e}"))
            .find(doc)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn printer_column_paths() {
        let doc = json!({"status": {"id": "x", "conditions": [
            {"type": "Synced", "status": "True"}, {"type": "Ready", "status": "False"}]},
            "metadata": {"labels": {"app.kubernetes.io/name": "web"}}});
        assert_eq!(find(".status.id", &doc), [json!("x")]);
        assert_eq!(
            find(".status.conditions[?(@.type==\"Ready\")].status", &doc),
            [json!("False")]
        );
        assert_eq!(
            find("{.status.conditions[?(@.type != 'Ready')].type}", &doc),
            [json!("Synced")]
        );
        assert_eq!(find(".status.conditions[1].type", &doc), [json!("Ready")]);
        assert_eq!(find(".status.conditions[*].type", &doc).len(), 2);
        assert_eq!(
            find(".metadata.labels['app.kubernetes.io/name']", &doc),
            [json!("web")]
        );
        assert_eq!(
            find(".metadata.labels.app\\.kubernetes\\.io/name", &doc),
            [json!("web")]
        );
        assert!(find(".status.missing", &doc).is_empty());
        assert!(JsonPath::parse(".a[?(x)]").is_err());
    }
}
