//! Label and field selectors, as accepted in `labelSelector` and `fieldSelector` query
//! parameters.

use serde_json::Value;

/// One label requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelOp {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
    Gt(i64),
    Lt(i64),
}

/// A parsed label selector: all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<(String, LabelOp)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    Comma,
    Not,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
}

fn lex(input: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            '>' => Token::Gt,
            '<' => Token::Lt,
            '=' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::DoubleEq
            }
            '=' => Token::Eq,
            '!' if chars.peek() == Some(&'=') => {
                chars.next();
                Token::NotEq
            }
            '!' => Token::Not,
            _ => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || "()!,=<>".contains(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                Token::Word(word)
            }
        };
        tokens.push(token);
    }
    tokens
}

fn valid_key(key: &str) -> bool {
    let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let prefix_ok = prefix.len() <= 253
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c));
    name_ok && prefix_ok && !(key.contains('/') && prefix.is_empty())
}

fn valid_value(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn key(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(key)) if valid_key(&key) => Ok(key),
            Some(Token::Word(key)) => Err(format!("invalid label key {key:?}")),
            other => Err(format!("expected a label key, found {other:?}")),
        }
    }

    /// A value after `=`, `==` or `!=`; may be empty.
    fn value(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Token::Word(_)) => match self.next() {
                Some(Token::Word(v)) if valid_value(&v) => Ok(v),
                other => Err(format!("invalid label value {other:?}")),
            },
            None | Some(Token::Comma) => Ok(String::new()),
            Some(other) => Err(format!("expected a label value, found {other:?}")),
        }
    }

    fn integer(&mut self) -> Result<i64, String> {
        match self.next() {
            Some(Token::Word(v)) => v.parse().map_err(|_| format!("{v:?} is not an integer")),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }

    fn value_set(&mut self) -> Result<Vec<String>, String> {
        if self.next() != Some(Token::Open) {
            return Err("expected '(' after in/notin".to_owned());
        }
        let mut values = Vec::new();
        loop {
            match self.next() {
                Some(Token::Close) => return Ok(values),
                Some(Token::Comma) => {}
                Some(Token::Word(v)) if valid_value(&v) => values.push(v),
                other => return Err(format!("unexpected {other:?} in value set")),
            }
        }
    }

    fn requirement(&mut self) -> Result<(String, LabelOp), String> {
        if self.peek() == Some(&Token::Not) {
            self.next();
            return Ok((self.key()?, LabelOp::NotExists));
        }
        let key = self.key()?;
        let op = match self.peek() {
            None | Some(Token::Comma) => LabelOp::Exists,
            Some(Token::Eq | Token::DoubleEq) => {
                self.next();
                LabelOp::Eq(self.value()?)
            }
            Some(Token::NotEq) => {
                self.next();
                LabelOp::NotEq(self.value()?)
            }
            Some(Token::Gt) => {
                self.next();
                LabelOp::Gt(self.integer()?)
            }
            Some(Token::Lt) => {
                self.next();
                LabelOp::Lt(self.integer()?)
            }
            Some(Token::Word(w)) if w == "in" => {
                self.next();
                LabelOp::In(self.value_set()?)
            }
            Some(Token::Word(w)) if w == "notin" => {
                self.next();
                LabelOp::NotIn(self.value_set()?)
            }
            Some(other) => return Err(format!("unexpected {other:?} after key {key:?}")),
        };
        Ok((key, op))
    }
}

impl LabelSelector {
    /// Parses the Kubernetes selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
    /// `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, joined by commas.
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: lex(input),
            pos: 0,
        };
        let mut requirements = Vec::new();
        while parser.peek().is_some() {
            requirements.push(parser.requirement()?);
            match parser.next() {
                None | Some(Token::Comma) => {}
                Some(other) => return Err(format!("unexpected {other:?} in label selector")),
            }
        }
        Ok(Self { requirements })
    }

    /// Whether an object (with `metadata.labels`) satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        self.requirements.iter().all(|(key, op)| {
            let label = labels.and_then(|l| l.get(key)).and_then(Value::as_str);
            match op {
                LabelOp::Eq(v) => label == Some(v.as_str()),
                LabelOp::NotEq(v) => label != Some(v.as_str()),
                LabelOp::In(set) => label.is_some_and(|l| set.iter().any(|v| v == l)),
                LabelOp::NotIn(set) => !label.is_some_and(|l| set.iter().any(|v| v == l)),
                LabelOp::Exists => label.is_some(),
                LabelOp::NotExists => label.is_none(),
                LabelOp::Gt(n) => label
                    .and_then(|l| l.parse::<i64>().ok())
                    .is_some_and(|l| l > *n),
                LabelOp::Lt(n) => label
                    .and_then(|l| l.parse::<i64>().ok())
                    .is_some_and(|l| l < *n),
            }
        })
    }
}

/// A parsed field selector: `path=value`, `path==value` or `path!=value`, joined by commas.
///
/// Any dotted path into the object is accepted (the real server accepts only a per-resource
/// list, usually `metadata.name` and `metadata.namespace`). A missing field compares as "".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parses a field selector.
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (path, equal, value) = if let Some((p, v)) = part.split_once("!=") {
                (p, false, v)
            } else if let Some((p, v)) = part.split_once("==") {
                (p, true, v)
            } else if let Some((p, v)) = part.split_once('=') {
                (p, true, v)
            } else {
                return Err(format!("invalid field selector requirement {part:?}"));
            };
            let path = path.trim();
            if path.is_empty() {
                return Err(format!("invalid field selector requirement {part:?}"));
            }
            requirements.push((path.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self { requirements })
    }

    /// Whether the object satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|(path, equal, value)| {
            let pointer = format!("/{}", path.replace('.', "/"));
            let actual = match object.pointer(&pointer) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            (actual == *value) == *equal
        })
    }
}

/// The label and field selectors of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selectors {
    /// From `labelSelector`.
    pub labels: LabelSelector,
    /// From `fieldSelector`.
    pub fields: FieldSelector,
}

impl Selectors {
    /// Whether the object satisfies both selectors.
    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    /// Whether the stored object `stored` matches, field paths taken in the form a client
    /// sees (`present`, called only when there is a field selector: labels are the same in
    /// both forms). Watch and collection delete match the presented form; so must list.
    pub fn matches_stored(&self, stored: &Value, present: impl FnOnce(&Value) -> Value) -> bool {
        self.labels.matches(stored)
            && (self.fields.requirements.is_empty() || self.fields.matches(&present(stored)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "n1", "namespace": "ns1", "labels": labels}})
    }

    fn matches(selector: &str, labels: Value) -> bool {
        LabelSelector::parse(selector)
            .map(|s| s.matches(&obj(labels)))
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    #[test]
    fn label_operators() {
        let l = json!({"app": "web", "tier": "front", "n": "5"});
        let cases = [
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (db, web)", true),
            ("app in (db)", false),
            ("app notin (db)", true),
            ("missing notin (db)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("n>4", true),
            ("n<4", false),
            ("", true),
            ("example.com/role in (a,b),app", false),
        ];
        for (selector, expected) in cases {
            assert_eq!(matches(selector, l.clone()), expected, "{selector}");
        }
    }

    #[test]
    fn empty_value_and_prefixed_keys() {
        assert!(matches("a=", json!({"a": ""})));
        assert!(matches(
            "example.com/role=db",
            json!({"example.com/role": "db"})
        ));
        assert!(matches("app", json!({"app": ""})));
    }

    #[test]
    fn bad_label_selectors_are_rejected() {
        for bad in ["app in db", "=x", "app=(x)", "a b", "app in (x"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_selectors() {
        let o = obj(json!({}));
        let ok = |s: &str| {
            FieldSelector::parse(s)
                .map(|f| f.matches(&o))
                .unwrap_or(false)
        };
        assert!(ok("metadata.name=n1"));
        assert!(ok("metadata.name==n1,metadata.namespace=ns1"));
        assert!(!ok("metadata.name!=n1"));
        assert!(ok("metadata.namespace!=other"));
        assert!(ok("spec.missing="));
        assert!(FieldSelector::parse("metadata.name").is_err());
    }
}
