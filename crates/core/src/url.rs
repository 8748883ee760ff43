//! The URLs `rget get` deals in, parsed once at the edge and then passed as types, so no layer
//! re-derives a name, a directory or a canonical spelling from a string on its own (and none can
//! hand a raw string where the record's identity is expected):
//!
//! - [`FileUrl`]: the URL a file is downloaded from, as given (http only by flag), with its file
//!   name, the last path segment percent-decoded: the name looked up in `SHA256SUMS`, and without
//!   `-o` the name it is saved under;
//! - [`CanonicalUrl`]: an https URL in the one spelling records use ([`record::canonical_url`]):
//!   the identity a log vouches for, with the URLs of the files published next to it.

use crate::output_name::{self, OutputNameError};
use crate::record::{self, RecordError};
use crate::sums::{self, NameError};
use std::fmt;

/// The file name of the `SHA256SUMS` that lists the files of its directory.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// An https URL in the canonical spelling of [`record::canonical_url`]: what a record names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalUrl(String);

impl CanonicalUrl {
    /// Puts `url` into the canonical spelling, or says why it has none (not https, a query, a dot
    /// segment...: see [`record::canonical_url`]).
    pub fn parse(url: &str) -> Result<CanonicalUrl, RecordError> {
        record::canonical_url(url).map(CanonicalUrl)
    }

    /// The canonical spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory: everything up to and including the last `/` (a canonical URL always has a
    /// path, so there is one).
    pub fn dir(&self) -> &str {
        &self.0[..self.0.rfind('/').map_or(self.0.len(), |i| i + 1)]
    }

    /// The `SHA256SUMS` in the same directory (canonical too: a plain segment appended to a
    /// canonical directory).
    pub fn sums_url(&self) -> CanonicalUrl {
        CanonicalUrl(format!("{}{SUMS_FILE}", self.dir()))
    }

    /// A file published next to this one under its name plus `suffix` (`.minisig`, `.tlog-proof`).
    pub fn with_suffix(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.0)
    }
}

impl fmt::Display for CanonicalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CanonicalUrl {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The URL of a file to download, as given, with its file name decoded once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileUrl {
    url: String,
    name: String,
}

impl FileUrl {
    /// Takes the last path segment of `url`, percent-decoded ([`output_name::last_segment`]); the
    /// query and fragment are not part of it. Nothing else is judged here: the name must still be
    /// [`listable`](FileUrl::listable_name) to be looked up, and fit the current directory to be
    /// saved without `-o` ([`FileUrl::output_name`]).
    pub fn parse(url: &str) -> Result<FileUrl, OutputNameError> {
        let name = output_name::last_segment(url)?;
        Ok(FileUrl {
            url: url.to_owned(),
            name,
        })
    }

    /// The URL as given (what is fetched).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The file name, if a `SHA256SUMS` can list it (a plain relative name by the `SHA256SUMS`
    /// rules, so `..` or an empty name can never be looked up).
    pub fn listable_name(&self) -> Result<&str, NameError> {
        sums::check_name(&self.name)?;
        Ok(&self.name)
    }

    /// The file name, if it is fit to be created in the current directory
    /// ([`output_name::check_output_name`]): what `rget get` saves to without `-o`.
    pub fn output_name(&self) -> Result<&str, OutputNameError> {
        output_name::check_output_name(&self.name)?;
        Ok(&self.name)
    }

    /// The URL of the `SHA256SUMS` in the file's directory, as spelled in this URL (the query and
    /// fragment dropped); `None` if the URL has no `/` to cut at.
    pub fn sums_url(&self) -> Option<String> {
        let path = self.url.split(['?', '#']).next().unwrap_or(&self.url);
        let (dir, _) = path.rsplit_once('/')?;
        Some(format!("{dir}/{SUMS_FILE}"))
    }

    /// Whether it is fetched over plain http (only ever by flag).
    pub fn is_plain_http(&self) -> bool {
        self.url.starts_with("http://")
    }
}

impl fmt::Display for FileUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canonical_url_knows_its_directory_and_neighbours() {
        let u = CanonicalUrl::parse("HTTPS://A.example:443/rel/v1/%7Etool").unwrap();
        assert_eq!(u.as_str(), "https://a.example/rel/v1/~tool");
        assert_eq!(u.dir(), "https://a.example/rel/v1/");
        assert_eq!(u.sums_url().as_str(), "https://a.example/rel/v1/SHA256SUMS");
        assert_eq!(
            u.sums_url().with_suffix(".tlog-proof"),
            "https://a.example/rel/v1/SHA256SUMS.tlog-proof"
        );
        let root = CanonicalUrl::parse("https://a.example").unwrap();
        assert_eq!(root.dir(), "https://a.example/");
        assert!(CanonicalUrl::parse("http://a.example/x").is_err());
        assert!(CanonicalUrl::parse("https://a.example/x?q").is_err());
    }

    #[test]
    fn a_file_url_names_its_file_once() {
        let u = FileUrl::parse("https://a.example/r/my%20tool.sh?x#y").unwrap();
        assert_eq!(u.listable_name(), Ok("my tool.sh"));
        assert_eq!(u.output_name(), Ok("my tool.sh"));
        assert_eq!(u.sums_url().unwrap(), "https://a.example/r/SHA256SUMS");
        assert!(!u.is_plain_http());
        // Listable but not fit for the current directory: only with -o.
        let hidden = FileUrl::parse("http://a.example/r/.profile").unwrap();
        assert_eq!(hidden.listable_name(), Ok(".profile"));
        assert!(hidden.output_name().is_err());
        assert!(hidden.is_plain_http());
        // Neither.
        let up = FileUrl::parse("https://a.example/r/%2e%2e").unwrap();
        assert!(up.listable_name().is_err() && up.output_name().is_err());
        assert_eq!(
            FileUrl::parse("a.example/r/x"),
            Err(OutputNameError::NotAbsolute)
        );
    }
}
