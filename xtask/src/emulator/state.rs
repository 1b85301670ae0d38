//! The state file of a detached emulator: `<root>/target/emulator.json`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::EmulatorError;

/// What `cargo xtask emulator start` records about the detached emulator it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorState {
    pub pid: u32,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The emulator's log file.
    pub log: PathBuf,
}

impl EmulatorState {
    /// `<root>/target/emulator.json`
    pub fn path(root: &Path) -> PathBuf {
        super::target_dir(root).join("emulator.json")
    }

    /// The state as a JSON object, e.g.
    /// `{"pid": 4242, "port": 40123, "endpoint": "http://127.0.0.1:40123", "log": "/x/target/emulator-40123.log"}`.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"pid\": {}, \"port\": {}, \"endpoint\": {}, \"log\": {}}}\n",
            self.pid,
            self.port,
            crate::json::quote(&self.endpoint),
            crate::json::quote(&self.log.to_string_lossy()),
        )
    }

    /// Parses what [`Self::to_json`] writes (any flat JSON object with those members; others are ignored).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let members = parse_flat_object(text)?;
        let number = |name: &str| match members.get(name) {
            Some(Value::Number(n)) => Ok(*n),
            Some(_) => Err(format!("`{name}` is not a non-negative integer")),
            None => Err(format!("`{name}` is missing")),
        };
        let string = |name: &str| match members.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("`{name}` is not a string")),
            None => Err(format!("`{name}` is missing")),
        };
        Ok(Self {
            pid: u32::try_from(number("pid")?).map_err(|_| "`pid` is out of range".to_string())?,
            port: u16::try_from(number("port")?)
                .map_err(|_| "`port` is out of range".to_string())?,
            endpoint: string("endpoint")?,
            log: PathBuf::from(string("log")?),
        })
    }

    /// The recorded state, or `None` when there is no state file.
    pub fn read(root: &Path) -> Result<Option<Self>, EmulatorError> {
        let path = Self::path(root);
        match fs::read_to_string(&path) {
            Ok(text) => Self::from_json(&text)
                .map(Some)
                .map_err(|message| EmulatorError::State { path, message }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EmulatorError::io(
                format!("cannot read {}", path.display()),
                e,
            )),
        }
    }

    /// Writes the state file (atomically: a temporary file renamed over it).
    pub fn write(&self, root: &Path) -> Result<(), EmulatorError> {
        let path = Self::path(root);
        let dir = super::target_dir(root);
        fs::create_dir_all(&dir)
            .map_err(|e| EmulatorError::io(format!("cannot create {}", dir.display()), e))?;
        let temporary = dir.join(format!("emulator.json.{}.tmp", std::process::id()));
        fs::write(&temporary, self.to_json())
            .map_err(|e| EmulatorError::io(format!("cannot write {}", temporary.display()), e))?;
        fs::rename(&temporary, &path)
            .map_err(|e| EmulatorError::io(format!("cannot write {}", path.display()), e))
    }

    /// Removes the state file (no error when there is none).
    pub fn remove(root: &Path) -> Result<(), EmulatorError> {
        let path = Self::path(root);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(EmulatorError::io(
                format!("cannot remove {}", path.display()),
                e,
            )),
        }
    }

    /// Whether the recorded process is still a running `moto_server`.
    pub fn is_alive(&self) -> bool {
        super::pid_is_emulator(self.pid)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    String(String),
    Number(u64),
    /// Any other scalar (`true`, `false`, `null`, a negative or fractional number).
    Other,
}

/// A JSON object whose member values are scalars.
fn parse_flat_object(text: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut p = Parser {
        chars: text.chars().peekable(),
    };
    let mut members = BTreeMap::new();
    p.skip_ws();
    p.expect('{')?;
    p.skip_ws();
    if p.eat('}') {
        return p.finish(members);
    }
    loop {
        p.skip_ws();
        let key = p.string()?;
        p.skip_ws();
        p.expect(':')?;
        p.skip_ws();
        let value = p.value()?;
        members.insert(key, value);
        p.skip_ws();
        if p.eat(',') {
            continue;
        }
        p.expect('}')?;
        return p.finish(members);
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
    }

    fn eat(&mut self, expected: char) -> bool {
        self.chars.next_if_eq(&expected).is_some()
    }

    fn expect(&mut self, expected: char) -> Result<(), String> {
        match self.chars.next() {
            Some(c) if c == expected => Ok(()),
            Some(c) => Err(format!("expected `{expected}`, found `{c}`")),
            None => Err(format!("expected `{expected}`, found the end")),
        }
    }

    fn finish<T>(&mut self, value: T) -> Result<T, String> {
        self.skip_ws();
        match self.chars.next() {
            None => Ok(value),
            Some(c) => Err(format!("unexpected `{c}` after the object")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.chars.next().ok_or("unterminated string")? {
                '"' => return Ok(out),
                '\\' => match self.chars.next().ok_or("unterminated escape")? {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let unit = self.hex4()?;
                        let c = if (0xD800..0xDC00).contains(&unit) {
                            // A surrogate pair: \uD83D\uDE00
                            self.expect('\\')?;
                            self.expect('u')?;
                            let low = self.hex4()?;
                            if !(0xDC00..0xE000).contains(&low) {
                                return Err("invalid surrogate pair".into());
                            }
                            char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        } else {
                            char::from_u32(unit)
                        };
                        out.push(c.ok_or("invalid \\u escape")?);
                    }
                    c => return Err(format!("invalid escape `\\{c}`")),
                },
                c if u32::from(c) < 0x20 => return Err("control character in a string".into()),
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = self
                .chars
                .next()
                .and_then(|c| c.to_digit(16))
                .ok_or("invalid \\u escape")?;
            unit = unit * 16 + digit;
        }
        Ok(unit)
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.chars.peek() {
            Some('"') => self.string().map(Value::String),
            Some(c) if c.is_ascii_digit() || *c == '-' || c.is_ascii_alphabetic() => {
                let mut token = String::new();
                while let Some(c) = self
                    .chars
                    .next_if(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.'))
                {
                    token.push(c);
                }
                match token.as_str() {
                    "true" | "false" | "null" => Ok(Value::Other),
                    _ if token.bytes().all(|b| b.is_ascii_digit()) => token
                        .parse()
                        .map(Value::Number)
                        .map_err(|_| format!("number `{token}` is out of range")),
                    _ if token.parse::<f64>().is_ok() => Ok(Value::Other),
                    _ => Err(format!("invalid value `{token}`")),
                }
            }
            Some(c) => Err(format!("unsupported value starting with `{c}`")),
            None => Err("expected a value, found the end".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> EmulatorState {
        EmulatorState {
            pid: 4242,
            port: 40123,
            endpoint: "http://127.0.0.1:40123".into(),
            log: PathBuf::from("/work/main/target/emulator-40123.log"),
        }
    }

    #[test]
    fn json_round_trip() {
        let state = state();
        let json = state.to_json();
        assert_eq!(
            json,
            "{\"pid\": 4242, \"port\": 40123, \"endpoint\": \"http://127.0.0.1:40123\", \
             \"log\": \"/work/main/target/emulator-40123.log\"}\n"
        );
        assert_eq!(EmulatorState::from_json(&json), Ok(state));
    }

    #[test]
    fn json_round_trip_with_odd_characters() {
        let state = EmulatorState {
            log: PathBuf::from("/tmp/a \"quoted\" \\ dir\twith\u{1}ctl/é😀.log"),
            ..state()
        };
        assert_eq!(EmulatorState::from_json(&state.to_json()), Ok(state));
    }

    #[test]
    fn json_from_other_writers() {
        let text = r#"
            { "port" : 1 , "extra": [1], "pid":2,"endpoint":"http:\/\/x","log":"\u00e9\ud83d\ude00" }
        "#;
        // Arrays are not supported: a state file is flat.
        assert!(EmulatorState::from_json(text).is_err());
        let text = r#"{ "port" : 1 , "extra": null, "ok": true, "f": -1.5e3, "pid":2,"endpoint":"http:\/\/x","log":"\u00e9\ud83d\ude00" }"#;
        assert_eq!(
            EmulatorState::from_json(text),
            Ok(EmulatorState {
                pid: 2,
                port: 1,
                endpoint: "http://x".into(),
                log: PathBuf::from("é😀"),
            })
        );
    }

    #[test]
    fn json_errors() {
        for (text, error) in [
            ("", "expected `{`, found the end"),
            ("{}", "`pid` is missing"),
            (r#"{"pid": "1"}"#, "`pid` is not a non-negative integer"),
            (r#"{"pid": 1, "port": 70000}"#, "`port` is out of range"),
            (r#"{"pid": 1"#, "expected `}`, found the end"),
            (r#"{"pid": 1} x"#, "unexpected `x` after the object"),
            (r#"{"pid": "a"#, "unterminated string"),
            (r#"{"pid": nope}"#, "invalid value `nope`"),
        ] {
            assert_eq!(
                EmulatorState::from_json(text),
                Err(error.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn file_round_trip() {
        let root = std::env::temp_dir().join(format!(
            "xtask-state-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&root);
        assert_eq!(EmulatorState::read(&root).ok(), Some(None));
        state().write(&root).expect("write");
        assert_eq!(EmulatorState::read(&root).ok(), Some(Some(state())));
        EmulatorState::remove(&root).expect("remove");
        EmulatorState::remove(&root).expect("remove is idempotent");
        assert_eq!(EmulatorState::read(&root).ok(), Some(None));
        fs::write(EmulatorState::path(&root), "{").expect("write garbage");
        let error = EmulatorState::read(&root).expect_err("garbage");
        assert!(
            error
                .to_string()
                .ends_with("emulator.json: expected `\"`, found the end"),
            "{error}"
        );
        let _ = fs::remove_dir_all(&root);
    }
}
