//! The state file of a detached emulator: `<root>/target/emulator.json`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

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
    /// `{"pid":4242,"port":40123,"endpoint":"http://127.0.0.1:40123","log":"/x/target/emulator-40123.log"}`.
    pub fn to_json(&self) -> String {
        let json = json!({
            "pid": self.pid,
            "port": self.port,
            "endpoint": self.endpoint,
            "log": self.log.to_string_lossy(),
        });
        format!("{json}\n")
    }

    /// Parses what [`Self::to_json`] writes (any JSON object with those members; others are ignored).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let json: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if !json.is_object() {
            return Err("not a JSON object".into());
        }
        let member = |name: &str| json.get(name).ok_or_else(|| format!("`{name}` is missing"));
        let number = |name: &str| {
            member(name)?
                .as_u64()
                .ok_or_else(|| format!("`{name}` is not a non-negative integer"))
        };
        let string = |name: &str| {
            member(name)?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("`{name}` is not a string"))
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
            "{\"pid\":4242,\"port\":40123,\"endpoint\":\"http://127.0.0.1:40123\",\
             \"log\":\"/work/main/target/emulator-40123.log\"}\n"
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
            { "port" : 1 , "extra": [1, {"a": null}], "ok": true, "f": -1.5e3, "pid":2,
              "endpoint":"http:\/\/x","log":"\u00e9\ud83d\ude00" }
        "#;
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
            ("[]", "not a JSON object"),
            ("{}", "`pid` is missing"),
            (r#"{"pid": "1"}"#, "`pid` is not a non-negative integer"),
            (r#"{"pid": -1}"#, "`pid` is not a non-negative integer"),
            (r#"{"pid": 1.5}"#, "`pid` is not a non-negative integer"),
            (r#"{"pid": 1}"#, "`port` is missing"),
            (r#"{"pid": 1, "port": 70000}"#, "`port` is out of range"),
            (
                r#"{"pid": 1, "port": 2, "endpoint": 3}"#,
                "`endpoint` is not a string",
            ),
        ] {
            assert_eq!(
                EmulatorState::from_json(text),
                Err(error.to_string()),
                "{text}"
            );
        }
        for text in [
            "",
            r#"{"pid": 1"#,
            r#"{"pid": 1} x"#,
            r#"{"pid": "a"#,
            r#"{"pid": nope}"#,
        ] {
            assert!(EmulatorState::from_json(text).is_err(), "{text}");
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
                .contains("emulator.json: EOF while parsing"),
            "{error}"
        );
        let _ = fs::remove_dir_all(&root);
    }
}
