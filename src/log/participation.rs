//! What a log operator sends the witness network (witness-network.org) to have a log witnessed by
//! its witnesses: a participation request naming the log's origin, its verifier key, how often it
//! will send add-checkpoint requests, which list it should go on and how to reach its operator; and
//! the log-list entry the maintainers will add for it (`rget_core::log_list`).
//!
//! The rate is a promise: witnesses that take the log from a list hold it to `qpd` requests a day
//! and answer 429 past that. `rget log serve` keeps it when each network witness has a
//! `qpd <name> <n>` line in the witnesses file (`witnessing`).

use rget_core::log_list::{self, Entry, LogList};
use rget_core::note::VerifierKey;
use rget_core::qpd::DAY_SECONDS;

/// Where the network takes participation requests (its site writes the address this way).
pub const ADDRESS: &str = "participate (at) lists.witness-network.org";

/// The lists a log can ask to be on (the network's production list is not open yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum List {
    /// For development and shorter-lived testing.
    Testing,
    /// For longer-lived prototyping and dogfooding.
    Staging,
}

impl List {
    /// The list's name, as the request spells it (`testing`, `staging`).
    pub fn name(self) -> &'static str {
        match self {
            List::Testing => "testing",
            List::Staging => "staging",
        }
    }
}

/// A participation request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The log's key; its name is the log's origin (an rget log's origin is its key name).
    pub vkey: VerifierKey,
    /// add-checkpoint requests a day, at most.
    pub qpd: u32,
    /// How to reach the log's operator (`--contact`: an email address or a URL).
    pub contact: String,
    /// The list the log asks to be on.
    pub list: List,
}

impl Request {
    /// The log-list entry for the log. It parses back to the same log (checked here, so that what
    /// is printed is what a witness will read).
    pub fn entry(&self) -> Result<Entry, String> {
        let entry = Entry {
            vkey: self.vkey.clone(),
            origin: self.vkey.name.clone(),
            qpd: self.qpd,
            contact: self.contact.clone(),
            line: 0,
        };
        let text = LogList {
            logs: vec![entry.clone()],
        }
        .to_string();
        let parsed = log_list::parse(text.as_bytes()).map_err(|e| e.to_string())?;
        match parsed.logs.as_slice() {
            [e] if e.vkey == entry.vkey && e.qpd == entry.qpd && e.contact == entry.contact => {
                Ok(entry)
            }
            _ => Err("the contact does not survive a log list's line rules".into()),
        }
    }

    /// The rate in words: "at most N add-checkpoint requests a day (one every S s on average)".
    pub fn rate(&self) -> String {
        let every = DAY_SECONDS as f64 / f64::from(self.qpd.max(1));
        let every = if every >= 10.0 {
            format!("{every:.0} s")
        } else {
            format!("{every:.3} s")
        };
        format!(
            "at most {} add-checkpoint requests a day to each witness (one every {every} on average)",
            self.qpd
        )
    }

    /// The request, as the network's participation page asks for it.
    pub fn text(&self) -> Result<String, String> {
        let entry = self.entry()?;
        Ok(format!(
            "To: {ADDRESS}\n\
             Subject: log participation request: {origin}\n\
             \n\
             Please add this log to the {list} log list.\n\
             \n\
             Origin line:   {origin}\n\
             Public key:    {vkey}\n\
             Rate:          {rate}\n\
             Log list:      {list}\n\
             Contact:       {contact}\n\
             \n\
             The log is an rget transparency log (C2SP tlog-tiles, checkpoints signed with the \
             Ed25519 key above). It keeps to the rate with a budget per witness and sends a \
             checkpoint covering several batches when a budget is spent.\n\
             \n\
             Log-list entry:\n\
             \n\
             {lines}",
            origin = self.vkey.name,
            vkey = self.vkey,
            rate = self.rate(),
            list = self.list.name(),
            contact = self.contact,
            lines = entry.to_lines(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::ed25519::Seed;
    use rget_core::note::SignerKey;

    fn request(contact: &str, qpd: u32) -> Request {
        Request {
            vkey: SignerKey::from_seed("log.example.org/rget", Seed([3; 32]))
                .unwrap()
                .verifier_key(),
            qpd,
            contact: contact.into(),
            list: List::Testing,
        }
    }

    #[test]
    fn the_entry_is_what_a_witness_reads() {
        let r = request("ops@example.org", 1440);
        let text = r.text().unwrap();
        let entry_text = text.split("Log-list entry:\n\n").nth(1).unwrap();
        let list = log_list::parse(format!("logs/v0\n{entry_text}").as_bytes()).unwrap();
        assert_eq!(list.logs[0].origin, "log.example.org/rget");
        assert_eq!(list.logs[0].vkey, r.vkey);
        assert_eq!(list.logs[0].qpd, 1440);
        assert!(text.contains("one every 60 s on average"), "{text}");
        assert!(request("x", 172_800).rate().contains("one every 0.500 s"));
        // A contact a list cannot carry is refused, not printed.
        assert!(request("", 1).text().is_err());
        assert!(request("a\u{7}b", 1).text().is_err());
    }
}
