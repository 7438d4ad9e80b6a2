//! The webhook URL: a secret. Its `Debug` and `Display` never show it, and the only way to
//! read it is [`Address::uri`], which the delivery step alone calls.

use std::fmt;

/// A webhook URL read from a Secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Address(http::Uri);

/// Why a Secret's value is not a usable webhook URL; never says the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("is not a URL")]
    NotAUrl,
    #[error("is not an http or https URL")]
    Scheme,
    #[error("names no host")]
    NoHost,
}

impl Address {
    /// Parses a Secret's value (surrounding whitespace, such as the newline `echo` adds, is
    /// ignored).
    pub fn parse(value: &str) -> Result<Self, AddressError> {
        let uri: http::Uri = value.trim().parse().map_err(|_| AddressError::NotAUrl)?;
        match uri.scheme_str() {
            Some("https" | "http") => {}
            _ => return Err(AddressError::Scheme),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(AddressError::NoHost);
        }
        Ok(Self(uri))
    }

    /// The URL itself, for the HTTP request and nothing else.
    pub(super) fn uri(&self) -> &http::Uri {
        &self.0
    }

    /// `https://hooks.slack.com/…`: enough to tell receivers apart in a log, nothing of the
    /// path or query, where webhook tokens live.
    pub fn redacted(&self) -> String {
        format!("{}://{}/…", self.0.scheme_str().unwrap_or("https"), self.0.host().unwrap_or_default())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.redacted())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX";

    #[test]
    fn debug_and_display_never_show_the_path_or_query() {
        let address = Address::parse(&format!("{URL}?token=abc\n")).expect("a URL");
        for shown in [format!("{address:?}"), format!("{address}"), format!("{:?}", Some(address.clone())), address.redacted()] {
            assert!(!shown.contains("secret") && !shown.contains("T000") && !shown.contains("token"), "{shown}");
            assert!(shown.contains("hooks.slack.com"), "{shown}");
        }
        assert_eq!(address.uri().to_string(), format!("{URL}?token=abc"), "the request gets the whole URL, trimmed");
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_addresses() {
        assert_eq!(Address::parse("not a url"), Err(AddressError::NotAUrl));
        assert_eq!(Address::parse("ftp://example.com/x"), Err(AddressError::Scheme));
        assert_eq!(Address::parse("/services/T000"), Err(AddressError::Scheme));
        assert!(Address::parse("http://receiver.monitoring.svc:8080/hook").is_ok());
        for error in [AddressError::NotAUrl, AddressError::Scheme, AddressError::NoHost] {
            assert!(!error.to_string().contains("http://"), "an error never repeats the value");
        }
    }
}
