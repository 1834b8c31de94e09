//! A scenario file being written by an importer: sections of `key = value` lines, each with an optional comment,
//! rendered as commented TOML. Values are TOML literals made by the helpers here (strings escaped by `toml`).

use std::fmt::Write as _;

/// One `key = value` line.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub comment: Option<String>,
}

/// A `[table]` or `[[array-table]]` with its lines.
#[derive(Debug, Clone)]
pub struct Section {
    pub header: String,
    /// Comment lines above the header.
    pub notes: Vec<String>,
    pub entries: Vec<Entry>,
}

impl Section {
    pub fn new(header: &str) -> Self {
        Section {
            header: header.to_string(),
            notes: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Sets `key` (replacing an earlier line of the same key).
    pub fn set(&mut self, key: &str, value: String, comment: Option<String>) {
        let entry = Entry {
            key: key.to_string(),
            value,
            comment,
        };
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }
}

/// A whole scenario file.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Comment lines at the top.
    pub preamble: Vec<String>,
    pub sections: Vec<Section>,
}

impl Draft {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.preamble {
            comment_lines(&mut out, line);
        }
        for s in &self.sections {
            out.push('\n');
            for n in &s.notes {
                comment_lines(&mut out, n);
            }
            let _ = writeln!(out, "{}", s.header);
            for e in &s.entries {
                let _ = write!(out, "{} = {}", e.key, e.value);
                if let Some(c) = &e.comment {
                    let _ = write!(out, "  # {}", c.replace('\n', " "));
                }
                out.push('\n');
            }
        }
        out
    }
}

fn comment_lines(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push_str("#\n");
    }
    for line in text.lines() {
        let _ = writeln!(out, "# {line}");
    }
}

/// `text` as a name lambda-sim accepts for a function, queue or destination: `A-Za-z0-9-_` (anything else becomes
/// `-`), at most `max` characters; `fallback` when nothing is left.
pub fn name(text: &str, max: usize, fallback: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect();
    if clean.is_empty() {
        fallback.to_string()
    } else {
        clean
    }
}

/// Whether `text` is already such a name.
pub fn is_name(text: &str, max: usize) -> bool {
    !text.is_empty() && name(text, max, "") == text
}

/// A TOML string literal.
pub fn string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML number: an integer when whole, otherwise the shortest decimal that round-trips.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A duration as lambda-sim writes it: whole seconds as `"90s"`, otherwise milliseconds.
pub fn seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        string(&format!("{}s", s as i64))
    } else {
        string(&format!("{}ms", (s * 1000.0).round() as i64))
    }
}

/// An inline table from already-rendered values.
pub fn inline(pairs: &[(&str, String)]) -> String {
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!("{{ {} }}", body.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_commented_toml_that_parses() {
        let mut d = Draft {
            preamble: vec!["Imported".into(), String::new()],
            ..Draft::default()
        };
        let mut s = Section::new("[[function]]");
        s.note("from Api (AWS::Serverless::Function)");
        s.set("name", string("api \"x\""), None);
        s.set("memory_mb", number(512.0), Some("MemorySize".into()));
        s.set("memory_mb", number(1024.0), Some("Globals".into()));
        s.set(
            "keep",
            inline(&[("a", number(0.5)), ("b", seconds(1.5))]),
            None,
        );
        d.sections.push(s);
        let text = d.render();
        assert!(text.contains("memory_mb = 1024  # Globals\n"), "{text}");
        let v: toml::Table = toml::from_str(&text).unwrap();
        let f = &v["function"][0];
        assert_eq!(f["name"].as_str(), Some("api \"x\""));
        assert_eq!(f["keep"]["b"].as_str(), Some("1500ms"));
    }
}
