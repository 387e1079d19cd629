//! Backquoted shell commands and helpers that recognise the FreeBSD suite's
//! idioms in them.

/// A backquoted shell command, e.g. `` `sysctl -w net.inet.tcp.sack.enable=1` ``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCmd {
    /// The text between the backquotes, verbatim (may span lines).
    pub raw: String,
}

/// One `name=value` assignment made by a `sysctl` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlSetting {
    /// The MIB name, e.g. `net.inet.tcp.sack.enable`.
    pub name: String,
    /// The value as written, e.g. `1`.
    pub value: String,
}

impl SysctlSetting {
    /// The value as an integer, if it is one.
    pub fn value_i64(&self) -> Option<i64> {
        self.value.parse().ok()
    }
}

/// A `sockstat ... | grep -c STATE | grep N` check from the FreeBSD suite:
/// "the number of TCP sockets in `state` is `count`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockstatCheck {
    /// The state word grepped for, as FreeBSD's `sockstat -s` prints it
    /// (`TIME_WAIT`, `SYN_RCVD`, `CLOSED`, ...).
    pub state: String,
    /// The expected number of matching sockets; `None` when the command only
    /// requires at least one match.
    pub count: Option<u32>,
    /// The local port filter (`-p PORT`), if any.
    pub port: Option<u16>,
}

impl ShellCmd {
    /// The `name=value` settings made by the `sysctl` commands in this line
    /// (`sysctl -w a=1`, `sysctl -q a=1 b=2`, several commands joined by
    /// `;` or `&&`). Reads such as `sysctl -n a` yield nothing; other
    /// commands are ignored.
    pub fn sysctl_settings(&self) -> Vec<SysctlSetting> {
        let mut out = Vec::new();
        for command in simple_commands(&self.raw) {
            let mut words = command.split_whitespace().map(unquote);
            let Some(program) = words.next() else { continue };
            if program.rsplit('/').next() != Some("sysctl") {
                continue;
            }
            for word in words.filter(|w| !w.starts_with('-')) {
                if let Some((name, value)) = word.split_once('=') {
                    if !name.is_empty() {
                        out.push(SysctlSetting { name: name.to_owned(), value: value.to_owned() });
                    }
                }
            }
        }
        out
    }

    /// Whether this line does nothing but run `sysctl`s (so a profile that
    /// understands every setting can replace it entirely).
    pub fn is_only_sysctl(&self) -> bool {
        let mut any = false;
        for command in self.raw.split([';', '\n']).map(str::trim).filter(|c| !c.is_empty()) {
            if command.contains(['|', '&', '`', '$']) {
                return false;
            }
            let program = command.split_whitespace().next().map(unquote);
            if program.and_then(|p| p.rsplit('/').next()) != Some("sysctl") {
                return false;
            }
            any = true;
        }
        any
    }

    /// Recognises a `sockstat` socket-state check (see [`SockstatCheck`]).
    pub fn sockstat_check(&self) -> Option<SockstatCheck> {
        let mut stages = self.raw.split('|').map(str::trim);
        let first: Vec<&str> = stages.next()?.split_whitespace().collect();
        if first.first().copied() != Some("sockstat") {
            return None;
        }
        let port =
            first.iter().position(|w| *w == "-p").and_then(|i| first.get(i + 1)).and_then(|p| p.parse().ok());
        let mut state = None;
        let mut count = None;
        let mut counting = false;
        for stage in stages {
            let words: Vec<&str> = stage.split_whitespace().map(unquote).collect();
            match words.as_slice() {
                ["grep", "-c", word] => {
                    state = Some((*word).to_owned());
                    counting = true;
                }
                ["grep", word] if counting => count = Some(word.parse().ok()?),
                ["grep", word] if is_state_word(word) => state = Some((*word).to_owned()),
                ["grep", _] | ["awk", ..] => {}
                _ => return None,
            }
        }
        Some(SockstatCheck { state: state?, count, port })
    }
}

/// Splits a command line into simple commands at `;`, `&&`, `||` and
/// newlines, keeping only the part before any pipe.
fn simple_commands(raw: &str) -> impl Iterator<Item = &str> {
    raw.split([';', '\n'])
        .flat_map(|c| c.split("&&"))
        .flat_map(|c| c.split("||"))
        .filter_map(|c| c.split('|').next())
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

fn unquote(word: &str) -> &str {
    let stripped = word
        .strip_prefix('\'')
        .and_then(|w| w.strip_suffix('\''))
        .or_else(|| word.strip_prefix('"').and_then(|w| w.strip_suffix('"')));
    stripped.unwrap_or(word)
}

fn is_state_word(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
}
