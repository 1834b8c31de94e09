//! Request payloads: a fixed event shared by every request (one [`Bytes`], cloned by reference count), or a template
//! compiled once into literal JSON text interleaved with samples, rendered per request with one allocation.

use std::io::Write as _;

use bytes::Bytes;
use rand::Rng;

use crate::scenario::{Distribution, PayloadSpec, PayloadTemplate};

/// A phase's payload, ready to render.
#[derive(Debug, Clone)]
pub(super) enum PayloadSource {
    Fixed(Bytes),
    Template(CompiledTemplate),
}

#[derive(Debug, Clone)]
pub(super) struct CompiledTemplate {
    pieces: Vec<Piece>,
    /// Size of the last rendering, to allocate the next one at once.
    size_hint: usize,
}

#[derive(Debug, Clone)]
enum Piece {
    /// Serialized JSON text.
    Text(String),
    Sample {
        distribution: Distribution,
        integer: bool,
    },
}

impl PayloadSource {
    pub fn new(spec: &PayloadSpec) -> Self {
        match spec {
            PayloadSpec::Fixed(text) => PayloadSource::Fixed(Bytes::from(text.clone())),
            PayloadSpec::Template(template) => {
                let mut pieces = Vec::new();
                compile(template, &mut pieces);
                match pieces.as_slice() {
                    // No samples: the template is a fixed event.
                    [] => PayloadSource::Fixed(Bytes::new()),
                    [Piece::Text(text)] => PayloadSource::Fixed(Bytes::from(text.clone())),
                    _ => PayloadSource::Template(CompiledTemplate {
                        pieces,
                        size_hint: 64,
                    }),
                }
            }
        }
    }

    /// The payload of the next request. Draws from `rng` only for templates with samples.
    pub fn render<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Bytes {
        match self {
            PayloadSource::Fixed(bytes) => bytes.clone(),
            PayloadSource::Template(t) => t.render(rng),
        }
    }
}

impl CompiledTemplate {
    fn render<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Bytes {
        let mut out = Vec::with_capacity(self.size_hint);
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.extend_from_slice(text.as_bytes()),
                Piece::Sample {
                    distribution,
                    integer,
                } => write_number(&mut out, distribution.sample(rng), *integer),
            }
        }
        self.size_hint = out.len();
        Bytes::from(out)
    }
}

/// Writes a sampled number as JSON: rounded to an integer when asked; NaN or infinity (impossible from a checked
/// distribution, but never invalid JSON) as `null`.
fn write_number(out: &mut Vec<u8>, x: f64, integer: bool) {
    if !x.is_finite() {
        out.extend_from_slice(b"null");
    } else if integer {
        // `as` saturates at the i64 range.
        let _ = write!(out, "{}", x.round() as i64);
    } else {
        let _ = serde_json::to_writer(&mut *out, &x);
    }
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if let Some(Piece::Text(last)) = pieces.last_mut() {
        last.push_str(text);
    } else {
        pieces.push(Piece::Text(text.to_string()));
    }
}

fn compile(template: &PayloadTemplate, pieces: &mut Vec<Piece>) {
    match template {
        PayloadTemplate::Literal(value) => {
            push_text(
                pieces,
                &serde_json::to_string(value).unwrap_or_else(|_| "null".to_string()),
            );
        }
        PayloadTemplate::Object(fields) => {
            push_text(pieces, "{");
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    push_text(pieces, ",");
                }
                push_text(
                    pieces,
                    &serde_json::to_string(key).unwrap_or_else(|_| "\"\"".to_string()),
                );
                push_text(pieces, ":");
                compile(value, pieces);
            }
            push_text(pieces, "}");
        }
        PayloadTemplate::Sample {
            distribution,
            integer,
        } => {
            pieces.push(Piece::Sample {
                distribution: distribution.clone(),
                integer: *integer,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    #[test]
    fn renders_in_template_order() {
        let spec = PayloadSpec::Template(PayloadTemplate::Object(vec![
            ("z".into(), PayloadTemplate::Literal(json!("a\"b"))),
            (
                "n".into(),
                PayloadTemplate::Sample {
                    distribution: Distribution::Constant { value: 2.6 },
                    integer: true,
                },
            ),
            (
                "o".into(),
                PayloadTemplate::Object(vec![(
                    "f".into(),
                    PayloadTemplate::Sample {
                        distribution: Distribution::Constant { value: 0.5 },
                        integer: false,
                    },
                )]),
            ),
            (
                "a".into(),
                PayloadTemplate::Literal(json!([1, {"y": 1, "x": null}])),
            ),
        ]));
        let mut source = PayloadSource::new(&spec);
        let mut rng = StdRng::seed_from_u64(1);
        let out = source.render(&mut rng);
        assert_eq!(
            &out[..],
            br#"{"z":"a\"b","n":3,"o":{"f":0.5},"a":[1,{"x":null,"y":1}]}"#
        );
        let _: serde_json::Value = serde_json::from_slice(&out).unwrap();
    }

    #[test]
    fn templates_without_samples_are_fixed() {
        let spec = PayloadSpec::Template(PayloadTemplate::Object(vec![(
            "k".into(),
            PayloadTemplate::Literal(json!(1)),
        )]));
        let source = PayloadSource::new(&spec);
        assert!(matches!(&source, PayloadSource::Fixed(b) if &b[..] == br#"{"k":1}"#));
        let empty = PayloadSource::new(&PayloadSpec::Template(PayloadTemplate::Object(vec![])));
        assert!(matches!(&empty, PayloadSource::Fixed(b) if &b[..] == b"{}"));
    }

    #[test]
    fn fixed_payloads_share_one_buffer() {
        let mut source = PayloadSource::new(&PayloadSpec::Fixed("{\"a\":1}".into()));
        let mut rng = StdRng::seed_from_u64(1);
        let a = source.render(&mut rng);
        let b = source.render(&mut rng);
        assert_eq!(a.as_ptr(), b.as_ptr());
    }
}
